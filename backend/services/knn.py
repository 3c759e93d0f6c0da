"""The k-NN index of a library (``drumsamp_models.index.LibraryIndex`` over the MusiCNN embeddings).

Built from the embeddings stored by the analysis, keyed by sample id, and kept in memory per process
for the library's current ``content_version`` (any change of the analysed sounds builds a new one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from drumsamp_models.index import LibraryIndex
from drumsamp_models.vectors import MUSICNN, make_index

from ..extensions import db
from ..models import Sample, SampleLibrary
from .cache import MISSING, app_cache
from .tagger_model import model_id

CACHE_SIZE = 8


@dataclass(frozen=True)
class LibraryVectors:
    """A library's index and the names of its indexed samples (ids are ``str(sample id)``)."""

    index: LibraryIndex
    names: dict[str, str]

    def name_of(self, sound_id: str | None) -> str | None:
        """Sample name of an index id."""
        return None if sound_id is None else self.names.get(sound_id)


def build(library_id: int) -> LibraryVectors | None:
    """Index every analysed sample of the library (None when none has an embedding)."""
    rows = db.session.execute(
        select(Sample.id, Sample.name, Sample.embedding).where(
            Sample.library_id == library_id,
            Sample.analyzed_hash == Sample.content_hash,
            Sample.analyzed_model == model_id(),
            Sample.embedding.is_not(None),
        )
    ).all()
    if not rows:
        return None
    ids = [str(sid) for sid, _, _ in rows]
    vectors = np.stack([np.frombuffer(emb, dtype=np.float32) for _, _, emb in rows])
    index = make_index(MUSICNN).fit(vectors, ids)
    return LibraryVectors(index, {str(sid): name for sid, name, _ in rows})


def library_vectors(library: SampleLibrary) -> LibraryVectors | None:
    """The index of ``library`` as of its current content (cached per process)."""
    cache = app_cache("knn", CACHE_SIZE)
    key = (library.id, library.content_version)
    found = cache.get(key)
    if found is MISSING:
        found = build(library.id)
        cache.put(key, found, drop=lambda k: k[0] == library.id)
    return found

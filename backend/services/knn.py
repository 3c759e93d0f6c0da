"""The k-NN index of a library: ``drumsamp_models.index.LibraryIndex`` in the similarity space
``"musicnn+descriptors"`` (``drumsamp_models.vectors.DESCRIBED``).

Each analysed sample's vector (236 floats) joins its stored MusiCNN embedding and its stored envelope and
spectral-shape descriptors (``vectors.described_vectors``); only samples analysed by the current model
(``tagger_model.model_id()``) with both are indexed. The index is keyed by sample id and kept in memory
per process for the library's current ``content_version`` (any change of the analysed sounds builds a
new one). Similar sounds, recommendations and custom-tag propagation use the index; the timbre map
projects the same vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from drumsamp_models.index import LibraryIndex
from drumsamp_models.vectors import DESCRIBED, described_vectors, make_index

from ..extensions import db
from ..models import Sample, SampleLibrary
from .cache import per_library
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


def analysed_vectors(library_id: int) -> tuple[list[int], list[str], np.ndarray]:
    """``(sample ids, names, vectors)`` of the library's samples analysed by the current model, in the
    similarity space ``"musicnn+descriptors"`` (vectors (n, 236), rows in sample id order)."""
    rows = db.session.execute(
        select(Sample.id, Sample.name, Sample.embedding, Sample.descriptors)
        .where(
            Sample.library_id == library_id,
            Sample.analyzed_hash == Sample.content_hash,
            Sample.analyzed_model == model_id(),
            Sample.embedding.is_not(None),
            Sample.descriptors.is_not(None),
        )
        .order_by(Sample.id)
    ).all()
    embeddings = [np.frombuffer(row.embedding, dtype=np.float32) for row in rows]
    described = [np.frombuffer(row.descriptors, dtype=np.float32) for row in rows]
    return [row.id for row in rows], [row.name for row in rows], described_vectors(embeddings, described)


def build(library_id: int) -> LibraryVectors | None:
    """Index every analysed sample of the library (None when none has an embedding and descriptors)."""
    ids, names, vectors = analysed_vectors(library_id)
    if not ids:
        return None
    keys = [str(sid) for sid in ids]
    index = make_index(DESCRIBED).fit(vectors, keys)
    return LibraryVectors(index, dict(zip(keys, names, strict=True)))


def library_vectors(library: SampleLibrary) -> LibraryVectors | None:
    """The index of ``library`` as of its current content (cached per process)."""
    return per_library("knn", CACHE_SIZE, library.id, library.content_version, lambda: build(library.id))

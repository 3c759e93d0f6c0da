"""Recommendations from favourites (stored per library) and sounds similar to one sample.

Stored recommendations carry a key made of the library's ``content_version`` and its favourites;
they are recomputed when a favourite changes, when an analysis finishes, and otherwise on the first
read after the library's sounds changed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from drumsamp_models.recommender import Recommender

from ..errors import ApiError
from ..extensions import db
from ..models import Recommendation, Sample, SampleLibrary
from . import knn
from .access import touch


def favourite_ids(library_id: int) -> list[int]:
    """Ids of the library's favourite samples, sorted."""
    return list(
        db.session.scalars(
            select(Sample.id).where(Sample.library_id == library_id, Sample.is_favorite.is_(True)).order_by(Sample.id)
        )
    )


def _key(library: SampleLibrary, favourites: list[int]) -> str:
    digest = hashlib.sha1(",".join(map(str, favourites)).encode()).hexdigest()[:20]
    return f"{library.content_version}:{digest}"


def compute(library: SampleLibrary, favourites: list[int], n: int) -> list[tuple[str, float]]:
    """``[(sample name, distance)]``: the ``n`` sounds most similar to the favourites, favourites excluded.

    Favourites not analysed yet do not count; the model package merges several favourites by rank.
    """
    vectors = knn.library_vectors(library)
    if vectors is None or not favourites:
        return []
    query = [str(f) for f in favourites if str(f) in vectors.index]
    if not query:
        return []
    found = Recommender(n, exclude_favourites=True).fit(vectors.index).recommend(query)
    return [(vectors.names[r.sound], r.distance) for r in found]


def refresh(library: SampleLibrary) -> None:
    """Recompute and store the recommendations for the library's current favourites."""
    favourites = favourite_ids(library.id)
    found = compute(library, favourites, current_app.config["RECOMMENDATIONS"])
    ids = {
        name: sid
        for name, sid in db.session.execute(select(Sample.name, Sample.id).where(Sample.library_id == library.id))
    }
    db.session.execute(delete(Recommendation).where(Recommendation.library_id == library.id))
    for rank, (name, distance) in enumerate(found):
        db.session.add(Recommendation(library_id=library.id, rank=rank, sample_id=ids[name], distance=float(distance)))
    library.recs_key = _key(library, favourites)
    db.session.commit()


def stored(library: SampleLibrary, favourites: list[int] | None = None) -> list[dict[str, Any]]:
    """``[{name}]`` stored for the library's favourites, refreshed first if the library or favourites changed."""
    if library.recs_key != _key(library, favourite_ids(library.id) if favourites is None else favourites):
        refresh(library)
    rows = db.session.execute(
        select(Sample.name)
        .join(Recommendation, Recommendation.sample_id == Sample.id)
        .where(Recommendation.library_id == library.id)
        .order_by(Recommendation.rank)
    ).scalars()
    return [{"name": name} for name in rows]


def for_names(library: SampleLibrary, names: list[str]) -> list[dict[str, Any]]:
    """The design's call: recommendations for favourites given by name (empty: the stored favourites)."""
    if not names:
        return stored(library)
    wanted = set(names)
    found = {
        name: sid
        for name, sid in db.session.execute(
            select(Sample.name, Sample.id).where(Sample.library_id == library.id, Sample.name.in_(wanted))
        )
    }
    missing = sorted(wanted - found.keys())
    if missing:
        raise ApiError(400, f"no sample named {missing[0]!r} in library {library.name!r}")
    ids = sorted(found.values())
    favourites = favourite_ids(library.id)
    if ids == favourites:
        return stored(library, favourites)
    return [{"name": name} for name, _ in compute(library, ids, current_app.config["RECOMMENDATIONS"])]


def set_favourite(library: SampleLibrary, sample: Sample, flag: bool) -> None:
    """Set the favourite flag; the stored recommendations are refreshed at once."""
    if sample.is_favorite == flag:
        return
    sample.is_favorite = flag
    touch(library)
    db.session.commit()
    refresh(library)


def similar(library: SampleLibrary, sample: Sample, n: int) -> list[dict[str, Any]]:
    """``[{name, distance}]``: the ``n`` analysed sounds nearest to ``sample`` (cosine distance)."""
    if sample.analyzed_hash != sample.content_hash or sample.embedding is None:
        raise ApiError(409, f"'{sample.name}' has not been analysed yet: run /analyze first")
    vectors = knn.library_vectors(library)
    if vectors is None or str(sample.id) not in vectors.index:
        raise ApiError(409, f"'{sample.name}' has not been analysed yet: run /analyze first")
    found = Recommender(n).fit(vectors.index).similar_to(str(sample.id))
    return [{"name": vectors.names[r.sound], "distance": round(r.distance, 6)} for r in found]

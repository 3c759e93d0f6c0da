"""Recommendations from favourites (stored per library) and sounds similar to one sample.

Stored recommendations carry a key made of the library's ``content_version``, its favourites and the classes
of its sounds; they are recomputed when a favourite changes, when an analysis finishes, and otherwise on the
first read after the library's sounds or classes changed. Each stored recommendation keeps the favourite it
comes from (``source_id``). The model package re-ranks for variety: a favourite's own class first (the user's
class, else the tagger's shown one), no velocity layers or near-duplicates of a favourite or of each other
while anything else is left (``drumsamp_models.recommender``; docs/evaluation.md, "Recommendation variety").
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from drumsamp_models.recommender import Recommender

from ..errors import ApiError
from ..extensions import db
from ..models import Recommendation, Sample, SampleLibrary
from . import knn
from .access import touch
from .classes import shown_class


def favourite_ids(library_id: int) -> list[int]:
    """Ids of the library's favourite samples, sorted."""
    return list(
        db.session.scalars(
            select(Sample.id).where(Sample.library_id == library_id, Sample.is_favorite.is_(True)).order_by(Sample.id)
        )
    )


def shown_classes(library_id: int) -> dict[int, str]:
    """``{sample id: class}`` as the library shows it (``classes.shown_class``: the user's class, else the tagger's
    unless removed); samples without one are left out."""
    rows = db.session.execute(
        select(
            Sample.id,
            Sample.user_class,
            Sample.auto_tag,
            Sample.analyzed_hash,
            Sample.content_hash,
            Sample.auto_tag_rejected,
        ).where(Sample.library_id == library_id)
    )
    out = {}
    for sid, user_class, auto_tag, analysed, content, rejected in rows:
        shown = shown_class(user_class, auto_tag, analysed == content, bool(rejected))
        if shown:
            out[sid] = shown
    return out


def _key(library: SampleLibrary, favourites: list[int], shown: dict[int, str]) -> str:
    text = ",".join(map(str, favourites)) + "|" + ",".join(f"{sid}={shown[sid]}" for sid in sorted(shown))
    return f"{library.content_version}:{hashlib.sha1(text.encode()).hexdigest()[:20]}"


def compute(
    library: SampleLibrary, favourites: list[int], n: int, shown: dict[int, str] | None = None
) -> list[tuple[str, float, str]]:
    """``[(sample name, distance, favourite name)]``: the ``n`` sounds recommended for the favourites (excluded),
    each with its distance to the favourite it comes from.

    Favourites not analysed yet do not count; the model package merges several favourites by taking turns and
    re-ranks for variety (own class first, no velocity layers or near-duplicates while anything else is left).
    ``shown``: the library's :func:`shown_classes` when the caller has them.
    """
    vectors = knn.library_vectors(library)
    if vectors is None or not favourites:
        return []
    query = [str(f) for f in favourites if str(f) in vectors.index]
    if not query:
        return []
    by_id = {str(sid): name for sid, name in (shown_classes(library.id) if shown is None else shown).items()}
    recommender = Recommender(n, exclude_favourites=True).fit(vectors.index)
    found = recommender.recommend(query, classes=by_id, names=vectors.names)
    return [(vectors.names[r.sound], r.distance, vectors.names[r.because_of]) for r in found]


def refresh(library: SampleLibrary, shown: dict[int, str] | None = None) -> None:
    """Recompute and store the recommendations for the library's current favourites."""
    favourites = favourite_ids(library.id)
    shown = shown_classes(library.id) if shown is None else shown
    found = compute(library, favourites, current_app.config["RECOMMENDATIONS"], shown)
    ids = {
        name: sid
        for name, sid in db.session.execute(select(Sample.name, Sample.id).where(Sample.library_id == library.id))
    }
    db.session.execute(delete(Recommendation).where(Recommendation.library_id == library.id))
    for rank, (name, distance, source) in enumerate(found):
        db.session.add(
            Recommendation(
                library_id=library.id, rank=rank, sample_id=ids[name], distance=float(distance), source_id=ids[source]
            )
        )
    library.recs_key = _key(library, favourites, shown)
    db.session.commit()


def _fresh(library: SampleLibrary, favourites: list[int] | None = None) -> None:
    """Refresh the stored recommendations if the library's sounds, classes or favourites changed."""
    current = favourite_ids(library.id) if favourites is None else favourites
    shown = shown_classes(library.id)
    if library.recs_key != _key(library, current, shown):
        refresh(library, shown)


def stored(library: SampleLibrary, favourites: list[int] | None = None) -> list[dict[str, Any]]:
    """``[{name}]`` stored for the library's favourites, refreshed first if its sounds, classes or favourites
    changed."""
    _fresh(library, favourites)
    rows = db.session.execute(
        select(Sample.name)
        .join(Recommendation, Recommendation.sample_id == Sample.id)
        .where(Recommendation.library_id == library.id)
        .order_by(Recommendation.rank)
    ).scalars()
    return [{"name": name} for name in rows]


def explained(library: SampleLibrary) -> list[dict[str, Any]]:
    """The stored recommendations with their reasons: ``[{name, because, distance, sameClass}]`` in the order of
    ``stored`` — the favourite each comes from (its path; null only if it was deleted a moment ago), the cosine
    distance to it, and whether both show the same class."""
    _fresh(library)
    source = aliased(Sample)
    rows = db.session.execute(
        select(Sample.id, Sample.name, Recommendation.distance, source.id, source.name)
        .join(Recommendation, Recommendation.sample_id == Sample.id)
        .outerjoin(source, source.id == Recommendation.source_id)
        .where(Recommendation.library_id == library.id)
        .order_by(Recommendation.rank)
    ).all()
    shown = shown_classes(library.id)
    return [
        {
            "name": name,
            "because": because,
            "distance": round(float(distance), 6),
            "sameClass": shown.get(sid) is not None and shown.get(sid) == shown.get(source_id or 0),
        }
        for sid, name, distance, source_id, because in rows
    ]


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
    return [{"name": name} for name, _, _ in compute(library, ids, current_app.config["RECOMMENDATIONS"])]


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

"""Libraries: listing (the design's ``{libname, samples}`` body), rename and delete.

Tags are ``string[][]``: one inner list per tag, ``[name, source, confidence]`` where ``source`` is
``"auto"`` (the Drumsample Tagger's class, confidence = its likelihood), ``"user"`` (set by the user,
confidence ``"1.000"``) or ``"propagated"`` (given by the k-NN custom tagger, confidence = its vote
share); the confidence is a decimal string with three decimals. The auto tag comes first, then user
tags by name, then propagated tags by falling confidence. A sample whose class the user corrected shows
``[<class>, "user", "1.000"]`` in the auto tag's place (``services.classes``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, SampleLibrary, SampleTag, Tag
from . import storage
from .access import check_library_name, find_library, touch
from .cache import per_library
from .gc_pause import no_cycle_collection

AUTO, USER, PROPAGATED = "auto", "user", "propagated"
SOURCES = (AUTO, USER, PROPAGATED)

CACHE_SIZE = 16


_CONFIDENCES = tuple(f"{i / 1000:.3f}" for i in range(1001))


def confidence_text(value: float | None) -> str:
    """A confidence in [0, 1] as sent in tag lists: three decimals (looked up: listings format thousands)."""
    return _CONFIDENCES[min(1000, max(0, round(1000 * (1.0 if value is None else value))))]


def list_libraries(user_id: int) -> list[str]:
    """Names of the user's libraries, sorted."""
    return list(
        db.session.scalars(
            select(SampleLibrary.name).where(SampleLibrary.user_id == user_id).order_by(SampleLibrary.name)
        )
    )


def custom_tag_lists(items: list[tuple[str, str, float]]) -> list[list[str]]:
    """``[(name, source, confidence)]`` of custom tags in the listing's format and order."""
    ordered = sorted(items, key=lambda t: (t[1] != USER, 0.0 if t[1] == USER else -t[2], t[0]))
    return [[name, source, confidence_text(1.0 if source == USER else conf)] for name, source, conf in ordered]


def tag_lists(library_id: int) -> dict[int, list[list[str]]]:
    """Custom tags (user, then propagated) of every sample of a library, by sample id."""
    rows = (
        db.session.connection()  # Core rows: no ORM bookkeeping for thousands of tuples
        .execute(
            select(SampleTag.sample_id, Tag.name, SampleTag.source, SampleTag.confidence)
            .join(Tag, SampleTag.tag_id == Tag.id)
            .join(Sample, SampleTag.sample_id == Sample.id)
            .where(Sample.library_id == library_id)
        )
        .all()
    )
    by_sample: dict[int, list[tuple[str, str, float]]] = defaultdict(list)
    for sample_id, name, source, conf in rows:
        by_sample[sample_id].append((name, source, conf))
    return {sid: custom_tag_lists(items) for sid, items in by_sample.items()}


def sample_tags(sample: Sample) -> list[list[str]]:
    """The tags of one sample, in the listing's format."""
    tags: list[list[str]] = []
    if sample.user_class:  # the user's correction takes the class's place
        tags.append([sample.user_class, USER, confidence_text(1.0)])
    elif sample.auto_tag and not sample.auto_tag_rejected and sample.analyzed_hash == sample.content_hash:
        tags.append([sample.auto_tag, AUTO, confidence_text(sample.auto_likelihood)])
    tags.extend(custom_tag_lists([(link.tag.name, link.source, link.confidence) for link in sample.tag_links]))
    return tags


def library_body(library: SampleLibrary) -> dict[str, Any]:
    """The design's body: ``{libname, samples: [{name, isFavorite, tags}]}``, samples sorted by name."""
    rows = (
        db.session.connection()
        .execute(
            select(
                Sample.id,
                Sample.name,
                Sample.is_favorite,
                Sample.auto_tag,
                Sample.auto_likelihood,
                Sample.auto_tag_rejected,
                Sample.analyzed_hash == Sample.content_hash,
                Sample.user_class,
            )
            .where(Sample.library_id == library.id)
            .order_by(Sample.name)
        )
        .all()
    )
    custom = tag_lists(library.id)
    samples = []
    for sid, name, favourite, auto, likelihood, rejected, current, user_class in rows:
        if user_class:  # a correction: the user's class in the auto tag's place
            tags = [[user_class, USER, confidence_text(1.0)]]
        else:
            tags = [[auto, AUTO, confidence_text(likelihood)]] if auto and current and not rejected else []
        tags.extend(custom.get(sid, ()))
        samples.append({"name": name, "isFavorite": bool(favourite), "tags": tags})
    return {"libname": library.name, "samples": samples}


def library_json(library: SampleLibrary) -> bytes:
    """``library_body`` serialised, cached per library version (any change bumps the version)."""
    def serialise() -> bytes:
        with no_cycle_collection():
            return orjson.dumps(library_body(library))  # compact UTF-8, ~8x faster than json for 10 000 samples

    return per_library("listing", CACHE_SIZE, library.id, library.version, serialise)


def rename_library(user_id: int, library: SampleLibrary, new_name: str) -> None:
    """Rename ``library``; 409 when the user already has a library of that name."""
    check_library_name(new_name)
    if new_name == library.name:
        return
    if find_library(user_id, new_name) is not None:
        raise ApiError(409, f"a library named {new_name!r} already exists")
    library.name = new_name
    touch(library)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, f"a library named {new_name!r} already exists") from None


def delete_library(user_id: int, library: SampleLibrary) -> None:
    """Delete ``library`` with its samples, tags, jobs and recommendations, and the audio no sample uses any more.

    One ``DELETE``: the database's ``ON DELETE CASCADE`` removes the rows that belong to the library.
    """
    files = {
        (h, f)
        for h, f in db.session.execute(
            select(Sample.content_hash, Sample.format).where(Sample.library_id == library.id)
        )
    }
    db.session.execute(
        delete(SampleLibrary).where(SampleLibrary.id == library.id), execution_options={"synchronize_session": False}
    )
    db.session.commit()
    storage.release(user_id, files)


def delete_sample(user_id: int, library: SampleLibrary, sample: Sample) -> None:
    """Delete one sample and, when no other sample uses it, its stored audio."""
    files = {(sample.content_hash, sample.format)}
    db.session.delete(sample)
    touch(library, content=True)
    db.session.commit()
    storage.release(user_id, files)

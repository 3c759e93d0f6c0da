"""Class suggestions: the user's corrections spread to similar sounds that show the tagger's same mistake.

The library's pending suggestions are recomputed (``drumsamp_models.csuggest`` on the library's k-NN index) in the
transaction that changes a correction or a refusal, when an analysis finishes, and on the first read after the
library's analysed sounds changed otherwise (uploads, deletions). A refused suggestion stays as a ``rejected``
row: that sample is a counter-example from then on and is not suggested anything again until its content
changes. Accepting makes the suggestion a correction (``services.corrections``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select

from drumsamp_models import csuggest

from ..extensions import db
from ..models import ClassSuggestion, Sample, SampleLibrary, utcnow
from . import knn
from .access import lock_library
from .cache import per_library
from .classes import library_classes, shown_class

PENDING, REJECTED = "pending", "rejected"
CACHE_SIZE = 64


def _library_samples(library: SampleLibrary) -> Any:
    return select(Sample.id).where(Sample.library_id == library.id)


def refresh(library: SampleLibrary) -> int:
    """Recompute the library's pending suggestions (in the caller's transaction); how many there are."""
    # one recomputation per library at a time (the library row's lock; SQLite serialises writers anyway)
    lock_library(library.id)
    db.session.execute(
        delete(ClassSuggestion).where(
            ClassSuggestion.status == PENDING, ClassSuggestion.sample_id.in_(_library_samples(library))
        ),
        execution_options={"synchronize_session": False},
    )
    vectors = knn.library_vectors(library)
    if vectors is None:
        return 0
    shown: dict[str, str | None] = {}
    corrections: dict[str, tuple[str, str | None]] = {}
    for sid, current_class, user_class, model in library_classes(library.id):
        key = str(sid)
        if key not in vectors.index:
            continue
        shown[key] = current_class
        if user_class:
            corrections[key] = (user_class, model)
    if not corrections:
        return 0
    refused = {
        str(sid)
        for sid in db.session.scalars(
            select(ClassSuggestion.sample_id).where(
                ClassSuggestion.status == REJECTED, ClassSuggestion.sample_id.in_(_library_samples(library))
            )
        )
    }
    found = csuggest.suggest_classes(vectors.index, shown, corrections, refused)
    now = utcnow()
    values = [
        {
            "sample_id": int(sid),
            "suggested_class": s.suggested,
            "confidence": s.confidence,
            "status": PENDING,
            "created_at": now,
        }
        for sid, s in sorted(found.items(), key=lambda item: int(item[0]))
    ]
    if values:
        db.session.execute(insert(ClassSuggestion), values)
    return len(values)


def forget(sample: Sample) -> None:
    """Drop every suggestion and refusal of one sample (its content changed: the user said nothing about it yet)."""
    db.session.execute(
        delete(ClassSuggestion).where(ClassSuggestion.sample_id == sample.id),
        execution_options={"synchronize_session": False},
    )


def fresh(library: SampleLibrary) -> None:
    """Recompute (and commit) the pending suggestions once per process after the library's analysed sounds
    changed; corrections and refusals recompute them in their own transaction."""

    def build() -> bool:
        refresh(library)
        db.session.commit()
        return True

    per_library("suggestions", CACHE_SIZE, library.id, library.content_version, build)


def pending(library: SampleLibrary) -> list[dict[str, Any]]:
    """``[{name, suggestedClass, confidence, currentClass}]``, most confident first (then by name)."""
    fresh(library)
    rows = db.session.execute(
        select(
            Sample.name,
            ClassSuggestion.suggested_class,
            ClassSuggestion.confidence,
            Sample.user_class,
            Sample.auto_tag,
            Sample.auto_tag_rejected,
            Sample.analyzed_hash == Sample.content_hash,
        )
        .join(Sample, ClassSuggestion.sample_id == Sample.id)
        .where(Sample.library_id == library.id, ClassSuggestion.status == PENDING)
    ).all()
    out = [
        {
            "name": name,
            "suggestedClass": suggested,
            "confidence": round(float(confidence), 3),
            "currentClass": shown_class(user_class, auto, bool(current), bool(rejected)),
        }
        for name, suggested, confidence, user_class, auto, rejected, current in rows
    ]
    out.sort(key=lambda entry: (-entry["confidence"], entry["name"]))
    return out

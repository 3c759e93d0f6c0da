"""Class corrections: set or remove a sample's class, list and export a library's corrections, and accept or refuse
the class suggestions they give (``services.suggestions``).

A correction is the user's class for a sample (``user_class``, with ``corrected_at``) beside the tagger's guess,
which is kept (``auto_tag``, ``auto_likelihood``). Every change of a class or a refusal propagates the custom
tags again (a tag spreads within its examples' class, the user's class included) and recomputes the library's
suggestions, in the same transaction.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from ..errors import ApiError
from ..extensions import db
from ..models import ClassSuggestion, Sample, SampleLibrary
from . import suggestions, tagging
from .classes import assign, model_class, sample_class, shown_subclass

MAX_NAMES = 10_000
CSV_COLUMNS = ("path", "content_hash", "user_class", "model_class", "model_likelihood", "corrected_at")


def iso(value: datetime | None) -> str | None:
    """A time as ISO 8601 UTC with a ``Z``."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat().replace("+00:00", "Z")


def _after_change(library: SampleLibrary) -> None:
    """Within the locked transaction: custom tags propagated again (classes changed), suggestions recomputed."""
    db.session.flush()
    tagging.propagate(library)
    suggestions.refresh(library)


def set_class(library: SampleLibrary, sample: Sample, name: str | None) -> bool:
    """Make ``name`` the sample's class (None or the tagger's class: the tagger's class again); whether it changed."""
    tagging.lock_for_edit(library, sample)
    changed = assign(sample, name)
    if changed:
        _after_change(library)
    db.session.commit()
    return changed


def _rows(library: SampleLibrary) -> list[Any]:
    return list(
        db.session.execute(
            select(
                Sample.name,
                Sample.content_hash,
                Sample.user_class,
                Sample.auto_tag,
                Sample.auto_likelihood,
                Sample.analyzed_hash == Sample.content_hash,
                Sample.corrected_at,
            )
            .where(Sample.library_id == library.id, Sample.user_class.is_not(None))
            .order_by(Sample.name)
        )
    )


def listing(library: SampleLibrary) -> dict[str, Any]:
    """``{libname, corrections: [{name, userClass, modelClass, modelLikelihood, correctedAt}]}`` by name."""
    out = []
    for name, _, user_class, auto, likelihood, current, corrected_at in _rows(library):
        out.append(
            {
                "name": name,
                "userClass": user_class,
                "modelClass": auto if current else None,
                "modelLikelihood": round(float(likelihood), 6) if current and likelihood is not None else None,
                "correctedAt": iso(corrected_at),
            }
        )
    return {"libname": library.name, "corrections": out}


def csv_text(library: SampleLibrary) -> str:
    """The corrections as CSV for retraining: one row per corrected sample (``CSV_COLUMNS``), by path."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for name, content_hash, user_class, auto, likelihood, current, corrected_at in _rows(library):
        known = current and auto is not None
        writer.writerow(
            [
                name,
                content_hash,
                user_class,
                auto if known else "",
                f"{likelihood:.6f}" if known and likelihood is not None else "",
                iso(corrected_at) or "",
            ]
        )
    return buffer.getvalue()


def parse_selection(body: Any) -> list[str] | None:
    """``{names: [sample path, ...]}`` (1 to ``MAX_NAMES``) or ``{all: true}`` (None); 400 otherwise."""
    if not isinstance(body, dict) or set(body) - {"names", "all"} or len(body) != 1:
        raise ApiError(400, 'expected {"names": [sample path, ...]} or {"all": true}')
    if "all" in body:
        if body["all"] is not True:
            raise ApiError(400, "'all' must be true (or send 'names')")
        return None
    names = body["names"]
    if not isinstance(names, list) or not names or len(names) > MAX_NAMES:
        raise ApiError(400, f"'names' must be a list of 1 to {MAX_NAMES} sample paths")
    if not all(isinstance(n, str) for n in names):
        raise ApiError(400, "'names' must hold sample paths (strings)")
    return list(dict.fromkeys(unicodedata.normalize("NFC", n) for n in names))


def _pending(library: SampleLibrary, names: Sequence[str] | None) -> list[tuple[Sample, ClassSuggestion]]:
    """The chosen samples with their pending suggestion (every pending one for None); 400 for a name that is not a
    sample of the library, 409 for a sample without a pending suggestion."""
    query = (
        select(Sample, ClassSuggestion)
        .join(ClassSuggestion, ClassSuggestion.sample_id == Sample.id)
        .where(Sample.library_id == library.id, ClassSuggestion.status == suggestions.PENDING)
        .order_by(Sample.name)
    )
    if names is None:
        return [(s, c) for s, c in db.session.execute(query).all()]
    found = {s.name: (s, c) for s, c in db.session.execute(query.where(Sample.name.in_(names))).all()}
    missing = [n for n in names if n not in found]
    if missing:
        known = set(
            db.session.scalars(select(Sample.name).where(Sample.library_id == library.id, Sample.name.in_(missing)))
        )
        unknown = [n for n in missing if n not in known]
        if unknown:
            raise ApiError(400, f"no sample named {unknown[0][:200]!r} in library {library.name!r}")
        raise ApiError(409, f"'{missing[0][:200]}' has no pending class suggestion (reload the suggestions)")
    return [found[n] for n in names]


def accept(library: SampleLibrary, names: Sequence[str] | None) -> list[str]:
    """Make the chosen pending suggestions corrections; the accepted sample names."""
    tagging.lock_for_edit(library)
    chosen = _pending(library, names)
    for sample, suggestion in chosen:
        assign(sample, suggestion.suggested_class)
        db.session.delete(suggestion)
    if chosen:
        _after_change(library)
    db.session.commit()
    return [sample.name for sample, _ in chosen]


def reject(library: SampleLibrary, names: Sequence[str] | None) -> list[str]:
    """Refuse the chosen pending suggestions (never suggested again); the refused sample names."""
    tagging.lock_for_edit(library)
    chosen = _pending(library, names)
    if chosen:
        db.session.execute(
            update(ClassSuggestion)
            .where(
                ClassSuggestion.sample_id.in_([s.id for s, _ in chosen]),
                ClassSuggestion.status == suggestions.PENDING,
            )
            .values(status=suggestions.REJECTED),
            execution_options={"synchronize_session": False},
        )
        suggestions.refresh(library)  # a refusal is a counter-example for the neighbours
    db.session.commit()
    return [sample.name for sample, _ in chosen]


def has_correction(sample: Sample) -> bool:
    """Whether the sample's class is the user's."""
    return sample.user_class is not None


def details(sample: Sample) -> dict[str, Any]:
    """The class fields of ``GET /sample``: ``subclass``, ``userClass``, ``modelClass``, ``modelLikelihood``,
    ``correctedAt``."""
    auto = model_class(sample)
    return {
        "subclass": shown_subclass(sample.subclass if auto is not None else None, sample_class(sample)),
        "userClass": sample.user_class,
        "modelClass": auto,
        "modelLikelihood": sample.auto_likelihood if auto is not None else None,
        "correctedAt": iso(sample.corrected_at),
    }

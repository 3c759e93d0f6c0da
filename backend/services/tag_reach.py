"""The reach of custom-tag propagation: what another reach would add or remove, and applying it once.

A reach is a name of ``drumsamp_models.ctagger.REACH_LEVELS`` (``strict``, the default, ``balanced``, ``wide``) or a
number ``r`` from 0 to 1; propagated tags then need a confidence of at least ``1 - r/2`` (never below 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from drumsamp_models import ctagger

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, SampleLibrary, SampleTag, Tag
from . import tagging
from .libraries import PROPAGATED
from .search import bad_parameter, query_values

LEVELS = tuple(ctagger.REACH_LEVELS)


def _reach_problem() -> str:
    return f"a number from 0 to 1 or one of {', '.join(LEVELS)}"


def reach_value(raw: Any, parameter: str = "reach") -> float:
    """The reach ``raw`` (a level name, a number, or a number's text) as a number from 0 to 1; else 400."""
    if isinstance(raw, str):
        text = raw.strip()
        if text in ctagger.REACH_LEVELS:
            return ctagger.REACH_LEVELS[text]
        try:
            value = float(text)
        except ValueError:
            raise bad_parameter(parameter, _reach_problem()) from None
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    else:
        raise bad_parameter(parameter, _reach_problem())
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise bad_parameter(parameter, _reach_problem())
    return value


def preview_reach(args: Mapping[str, Sequence[str]]) -> float | None:
    """The reach of ``GET /usertags/<lib>/preview``'s query (``reach``; None when absent: the library's own);
    400 otherwise."""
    values = query_values(args, ("reach",))
    if "reach" not in values:
        return None
    return reach_value(values["reach"][0])


def apply_reach(body: Any) -> float:
    """The reach of ``POST /usertags/<lib>/reach``'s JSON body ``{reach}``; 400 otherwise."""
    if not isinstance(body, dict) or "reach" not in body:
        raise ApiError(400, f'expected a JSON object {{"reach": {_reach_problem()}}}')
    unknown = sorted(k for k in body if k != "reach")
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0][:40]!r} (only 'reach')")
    return reach_value(body["reach"])


def _stored(library: SampleLibrary) -> dict[tuple[int, str], float]:
    """``{(sample id, tag): confidence}`` of the library's stored propagated tags."""
    rows = db.session.execute(
        select(SampleTag.sample_id, Tag.name, SampleTag.confidence)
        .join(Tag, SampleTag.tag_id == Tag.id)
        .join(Sample, SampleTag.sample_id == Sample.id)
        .where(Sample.library_id == library.id, SampleTag.source == PROPAGATED)
    )
    return {(sid, tag): conf for sid, tag, conf in rows}


def changes(library: SampleLibrary, reach: float) -> dict[str, Any]:
    """``{reach, minConfidence, added, removed, kept}``: the propagated tags at ``reach`` against the stored ones
    (``added``: new confidences, ``removed``: stored ones, by sample path then tag; ``kept``: how many both hold)."""
    stored = _stored(library)
    new = {(sid, s.tag): s.confidence for sid, scores in tagging.propagation(library, reach).items() for s in scores}
    added = {key: conf for key, conf in new.items() if key not in stored}
    removed = {key: conf for key, conf in stored.items() if key not in new}
    query = select(Sample.id, Sample.name).where(Sample.library_id == library.id)  # no IN list of thousands of ids
    names: dict[int, str] = {sid: name for sid, name in db.session.execute(query)} if added or removed else {}

    def listed(items: dict[tuple[int, str], float]) -> list[dict[str, Any]]:
        entries = [{"name": names[sid], "tag": tag, "confidence": round(conf, 3)} for (sid, tag), conf in items.items()]
        return sorted(entries, key=lambda e: (e["name"], e["tag"]))

    return {
        "reach": reach,
        "current": tagging.library_reach(library),
        "minConfidence": round(ctagger.reach_confidence(reach), 6),
        "added": listed(added),
        "removed": listed(removed),
        "kept": len(new.keys() & stored.keys()),
    }


def preview(library: SampleLibrary, reach: float | None) -> dict[str, Any]:
    """What propagating at ``reach`` (None: the library's own) would change (:func:`changes`); nothing is stored."""
    return changes(library, tagging.library_reach(library) if reach is None else reach)


def apply(library: SampleLibrary, reach: float) -> dict[str, Any]:
    """Make ``reach`` the library's and store its custom tags propagated at it; what changed (:func:`changes`). Every
    later propagation (a tag edit, ``POST /usertags``, a finished analysis) uses it too."""
    tagging.lock_for_edit(library)
    body = changes(library, reach)
    # the default is stored as NULL: such a library follows the package's default, should it be recalibrated
    library.tag_reach = None if reach == ctagger.REACH_LEVELS[ctagger.DEFAULT_REACH] else reach
    tagging.propagate(library, reach)
    db.session.commit()
    return {**body, "current": reach}

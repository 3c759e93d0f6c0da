"""Loop tempo (issue 20): the estimated BPM of every drum loop, the user's correction, and how both are shown.

The estimate (``Sample.bpm``) comes from ``drumsamp_models.tempo`` during the library's analysis, for every sample
whose class is ``Drumloop`` (the user's class when set, else the tagger's): a new or changed loop gets it in the same
chunk as its auto tag; a sample that becomes a loop later (a class correction, or a library analysed before loop
tempo existed) is pending for the next analysis, which only decodes it and estimates its tempo (the tagger does not
run again). One-shots are never decoded for it. When no tempo is found, ``NO_TEMPO`` is stored (not retried).

The user's value (``Sample.bpm_user``) wins over the estimate and stays until the user clears it (new content
included); it is shown whatever the class. The estimate is shown only while the sample's class is ``Drumloop`` and
only for the content it was made from.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select

from drumsamp_models import audio, tempo
from drumsamp_models.errors import AudioError

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, SampleLibrary
from .access import touch
from .classes import sample_class
from .sql import fill_if_missing

DRUMLOOP = "Drumloop"
USER, AUTO = "user", "auto"
BPM_MIN, BPM_MAX = 20.0, 400.0
"""The values a user may set (``PUT /samplebpm/update``)."""
NO_TEMPO = 0.0
"""Stored as ``bpm`` when the estimator found no tempo (or the audio could not be decoded): not NULL, so the sample is
not pending again; shown as null."""

log = logging.getLogger("backend.tempo")


def is_loop(user_class: str | None, auto_tag: str | None) -> bool:
    """Whether a sample with this user class and auto tag is a drum loop (the user's class wins)."""
    return (user_class or auto_tag) == DRUMLOOP


def missing_filter() -> ColumnElement[bool]:
    """SQL: a drum loop (by the user's class, else the tagger's) without an estimate yet."""
    return and_(
        Sample.bpm.is_(None),
        or_(Sample.user_class == DRUMLOOP, and_(Sample.user_class.is_(None), Sample.auto_tag == DRUMLOOP)),
    )


def estimate_file(path: str) -> float:
    """The tempo of a stored audio file, or ``NO_TEMPO`` when none is found or it cannot be decoded."""
    try:
        y = audio.load(path, sr=tempo.SAMPLE_RATE, max_duration=None, max_samplerate=None, silence_db=None)
    except (AudioError, OSError) as exc:
        log.warning("no tempo for %s: %s", path, audio.describe_error(exc))
        return NO_TEMPO
    bpm = tempo.estimate_bpm(y, tempo.SAMPLE_RATE)
    return NO_TEMPO if bpm is None else float(bpm)


def store_missing(sample_id: int, content_hash: str, bpm: float) -> bool:
    """Store an estimate if the sample still has that content and still none; True when stored."""
    return fill_if_missing(Sample, sample_id, content_hash, "bpm", bpm)


def shown(estimate: float | None, user_value: float | None, shown_class: str | None) -> tuple[float | None, str | None]:
    """``(bpm, bpmSource)``: the user's value (``user``), else the estimate of a sample whose shown class is
    ``Drumloop`` (``auto``), else ``(None, None)``."""
    if user_value is not None:
        return user_value, USER
    if shown_class == DRUMLOOP and estimate is not None and estimate > NO_TEMPO:
        return round(estimate, 2), AUTO
    return None, None


def columns(library_id: int, ids: Sequence[int], classes: Sequence[str | None]) -> tuple[list[Any], list[Any]]:
    """The ``bpm`` and ``bpmSource`` of each sample ``ids[i]`` whose shown class is ``classes[i]`` (search index)."""
    current = case((Sample.analyzed_hash == Sample.content_hash, Sample.bpm), else_=None)  # not the old content's
    rows = db.session.execute(
        select(Sample.id, current, Sample.bpm_user).where(
            Sample.library_id == library_id, or_(Sample.bpm.is_not(None), Sample.bpm_user.is_not(None))
        )
    )
    stored = {sid: (estimate, user_value) for sid, estimate, user_value in rows}
    values: list[Any] = []
    sources: list[Any] = []
    for sid, shown_class in zip(ids, classes, strict=True):
        bpm, source = shown(*stored.get(sid, (None, None)), shown_class)
        values.append(bpm)
        sources.append(source)
    return values, sources


def parse_bpm(body: Any) -> float | None:
    """``{bpm: number 20..400 | null}`` → the value (None clears the user's value); 400 otherwise."""
    if not isinstance(body, dict) or "bpm" not in body:
        raise ApiError(400, 'expected a JSON object {"bpm": number or null}')
    extra = sorted(set(body) - {"bpm"})
    if extra:
        raise ApiError(400, f"unknown field {str(extra[0])[:40]!r}: expected only 'bpm'")
    value = body["bpm"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(400, f"'bpm' must be a number from {BPM_MIN:g} to {BPM_MAX:g} or null")
    if not BPM_MIN <= value <= BPM_MAX:
        raise ApiError(400, f"'bpm' must be from {BPM_MIN:g} to {BPM_MAX:g}, got {value:g}")
    return round(float(value), 2)


def set_user_bpm(library: SampleLibrary, sample: Sample, bpm: float | None) -> None:
    """Set (or, with None, clear) the user's tempo of a sample; the listing's version changes."""
    if sample.bpm_user != bpm:
        touch(library)
        db.session.flush()  # the library's row first, then the sample's: the analysis takes them in that order
        sample.bpm_user = bpm
    db.session.commit()


def details(sample: Sample) -> dict[str, Any]:
    """``{bpm, bpmSource}`` of one sample (``GET /sample``)."""
    estimate = sample.bpm if sample.analyzed_hash == sample.content_hash else None  # not the old content's
    bpm, source = shown(estimate, sample.bpm_user, sample_class(sample))
    return {"bpm": bpm, "bpmSource": source}


def wants_estimate(stale: bool, missing: bool, user_class: str | None, new_tag: str | None) -> bool:
    """Whether the analysis estimates a pending sample's tempo now: one analysed in this chunk that is a loop (by the
    user's class, else its new auto tag ``new_tag``), or an up-to-date loop still ``missing`` its estimate."""
    return is_loop(user_class, new_tag) if stale else missing

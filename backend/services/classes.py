"""A sample's class: the tagger's (``auto_tag``) or the user's correction (``user_class``), which wins when set.

A correction keeps the tagger's guess beside it (``auto_tag``, ``auto_likelihood``); removing it shows the tagger's
class again. A sample whose auto tag the user removed without naming a class shows none (``auto_tag_rejected``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from drumsamp_models.subclasses import SUBCLASS_CLASS, SUBCLASSES
from drumsamp_models.tagger import CLASSES, UNKNOWN

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, utcnow
from .libraries import PROPAGATED

CLASS_NAMES: tuple[str, ...] = (*CLASSES, UNKNOWN)
_BY_FOLDED = {name.casefold(): name for name in CLASS_NAMES}


def shown_class(user_class: str | None, auto_tag: str | None, current: bool, rejected: bool) -> str | None:
    """The class a sample shows: the user's, else the tagger's when its analysis is current and not removed."""
    if user_class:
        return user_class
    return auto_tag if auto_tag and current and not rejected else None


def shown_subclass(subclass: str | None, shown: str | None) -> str | None:
    """The tagger's sub-class where it belongs to the class shown (a correction to another class hides it)."""
    return subclass if subclass is not None and SUBCLASS_CLASS.get(subclass) == shown else None


def parse_subclasses(names: list[str]) -> frozenset[str]:
    """Sub-class names from a request (exact, lower case), else 400 naming them."""
    unknown = [name for name in names if name not in SUBCLASS_CLASS]
    if unknown:
        known = ", ".join(SUBCLASSES)
        raise ApiError(400, f"parameter 'subclass': unknown sub-class {unknown[0][:40]!r} (one of {known})")
    return frozenset(names)


def sample_class(sample: Sample) -> str | None:
    """:func:`shown_class` of a sample object."""
    current = sample.analyzed_hash == sample.content_hash
    return shown_class(sample.user_class, sample.auto_tag, current, bool(sample.auto_tag_rejected))


def model_class(sample: Sample) -> str | None:
    """The tagger's class for the sample's current content (None when not analysed since it changed)."""
    return sample.auto_tag if sample.analyzed_hash == sample.content_hash else None


def parse_class(raw: Any) -> str | None:
    """A class from a request (any case; ``null``: none), else 400 naming the classes."""
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip().casefold() in _BY_FOLDED:
        return _BY_FOLDED[raw.strip().casefold()]
    shown = repr(raw[:40]) if isinstance(raw, str) else type(raw).__name__
    raise ApiError(400, f"'class' must be one of {', '.join(CLASS_NAMES)} or null, got {shown}")


def assign(sample: Sample, name: str | None) -> bool:
    """Make ``name`` the sample's class: the tagger's own class (or None) removes the correction and shows the
    tagger's class again; another class is a correction (the tagger's guess is kept). Whether anything changed."""
    auto = model_class(sample)
    before = (sample.user_class, bool(sample.auto_tag_rejected))
    if name is None or name == auto:
        sample.user_class, sample.corrected_at = None, None
        sample.auto_tag_rejected = False
    else:
        if sample.user_class != name:
            sample.corrected_at = utcnow()
        sample.user_class = name
        sample.auto_tag_rejected = auto is not None
    return before != (sample.user_class, bool(sample.auto_tag_rejected))


def split_tag_list(sample: Sample, wanted: list[tuple[str, str | None]]) -> tuple[list[tuple[str, str | None]], bool]:
    """Apply the class a ``PUT /sampletag/update`` list names; return its other entries (custom tags) and whether
    the class changed.

    A class name (``Kick`` ... ``Unknown``, exact spelling; not one marked ``"propagated"``, which stays a custom
    tag) names the sample's class: the tagger's own class keeps it (and removes a correction), another one records
    a correction. Two different classes are refused (400). No class at all hides the tagger's class (a sample
    without a class), as before corrections existed.
    """
    auto = model_class(sample)
    named = [n for n, source in wanted if n in CLASS_NAMES and (source != PROPAGATED or n == auto)]
    distinct = list(dict.fromkeys(named))
    if len(distinct) > 1:
        raise ApiError(400, f"a sample has one class: the list names {distinct[0]!r} and {distinct[1]!r}")
    custom = [(n, s) for n, s in wanted if n not in distinct and n != auto]
    if distinct:
        return custom, assign(sample, distinct[0])
    before = (sample.user_class, bool(sample.auto_tag_rejected))
    sample.user_class, sample.corrected_at = None, None
    if auto is not None:
        sample.auto_tag_rejected = True
    return custom, before != (sample.user_class, bool(sample.auto_tag_rejected))


def library_classes(library_id: int) -> list[tuple[int, str | None, str | None, str | None]]:
    """``(sample id, class shown, the user's class, the tagger's class of the current content)`` of every sample of
    the library."""
    rows = db.session.execute(
        select(
            Sample.id,
            Sample.user_class,
            Sample.auto_tag,
            Sample.auto_tag_rejected,
            Sample.analyzed_hash == Sample.content_hash,
        ).where(Sample.library_id == library_id)
    )
    return [
        (sid, shown_class(user, auto, bool(current), bool(rejected)), user, auto if current else None)
        for sid, user, auto, rejected, current in rows
    ]


def user_classes(library_id: int) -> dict[int, str]:
    """``{sample id: the user's class}`` of the library's corrected samples."""
    rows = db.session.execute(
        select(Sample.id, Sample.user_class).where(Sample.library_id == library_id, Sample.user_class.is_not(None))
    )
    return {sid: name for sid, name in rows}

"""Data derived from a library's analysed sounds, refreshed when an analysis finishes."""

from __future__ import annotations

from ..extensions import db
from ..models import SampleLibrary
from . import recommend, suggestions, tagging, timbre_map
from .access import touch


def refresh(library: SampleLibrary) -> None:
    """Recompute the timbre map, the propagated custom tags, the class suggestions and the stored recommendations
    of ``library``."""
    timbre_map.compute(library)
    tagging.propagate(library)
    suggestions.refresh(library)  # the class suggestions of the user's corrections, for the new sounds too
    touch(library)
    db.session.commit()
    recommend.refresh(library)

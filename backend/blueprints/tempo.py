"""Loop tempo: the user's correction of a sample's BPM (``backend.services.tempo``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_jwt_extended import jwt_required

from ..services import access, tempo
from ._http import json_body, message, user_id

bp = Blueprint("tempo", __name__)


@bp.put("/samplebpm/update/<lib_name>/<path:sample_name>")
@jwt_required()
def update_bpm(lib_name: str, sample_name: str) -> tuple[dict[str, Any], int]:
    """Set the sample's tempo to ``{bpm: number}`` (20-400), or clear the user's value with ``{bpm: null}``."""
    bpm = tempo.parse_bpm(json_body())
    library = access.get_library(user_id(), lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    tempo.set_user_bpm(library, sample, bpm)
    if bpm is None:
        return message(f"the tempo of '{sample_name}' is the estimate again")
    return message(f"the tempo of '{sample_name}' set to {bpm:g} bpm")

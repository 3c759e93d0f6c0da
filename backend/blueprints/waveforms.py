"""Waveforms: the thumbnails of a whole library in one request, the detailed peaks of one sample."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_jwt_extended import jwt_required

from ..services import access, waveforms
from ._http import conditional_json, user_id

bp = Blueprint("waveforms", __name__)


@bp.get("/waveforms/<lib_name>")
@jwt_required()
def library_thumbnails(lib_name: str) -> Response:
    """``{libname, pairs, samples: [{name, thumb}]}``: every sample's thumbnail (base64 int8 min/max pairs)."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    etag, body = waveforms.library_thumbnails(library)
    return conditional_json(body, etag)


@bp.get("/waveform/<lib_name>/<path:sample_name>")
@jwt_required()
def sample_peaks(lib_name: str, sample_name: str) -> Response:
    """``{name, pairs, duration, peaks}``: the sample's detailed peaks (base64 int8 min/max pairs)."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    return conditional_json(waveforms.sample_peaks_json(sample))  # ETag: a digest of name, duration and peaks

"""Waveforms: the thumbnails of a whole library in one request, the detailed peaks of one sample."""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask_jwt_extended import jwt_required

from ..services import access, waveforms
from ._http import json_bytes, user_id

bp = Blueprint("waveforms", __name__)


def _conditional(response: Response) -> Response:
    """Revalidated on every use (``If-None-Match`` answers 304), kept by the browser only."""
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


@bp.get("/waveforms/<lib_name>")
@jwt_required()
def library_thumbnails(lib_name: str) -> Response:
    """``{libname, pairs, samples: [{name, thumb}]}``: every sample's thumbnail (base64 int8 min/max pairs)."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    etag, body = waveforms.library_thumbnails(library)
    response = json_bytes(body)
    response.set_etag(etag)
    return _conditional(response)


@bp.get("/waveform/<lib_name>/<path:sample_name>")
@jwt_required()
def sample_peaks(lib_name: str, sample_name: str) -> Response:
    """``{name, pairs, duration, peaks}``: the sample's detailed peaks (base64 int8 min/max pairs)."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    response = json_bytes(waveforms.sample_peaks_json(sample))
    response.add_etag()  # a digest of the body: it changes with the content, the name or the peaks
    return _conditional(response)

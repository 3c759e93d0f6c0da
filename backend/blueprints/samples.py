"""One sample: the design's tag and favourite updates, details, deletion, audio preview and similar sounds."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request, send_file, url_for
from flask_jwt_extended import get_jwt, jwt_required, verify_jwt_in_request

from ..errors import ApiError
from ..services import access, corrections, downloads, libraries, recommend, storage, streaming, tagging, tempo
from ._http import json_body, message, user_id

bp = Blueprint("samples", __name__)


@bp.put("/sampletag/update/<lib_name>/<path:sample_name>")
@jwt_required()
def update_tags(lib_name: str, sample_name: str) -> tuple[dict[str, Any], int]:
    """Replace the sample's tags with the list sent (see ``tagging.set_sample_tags``)."""
    body = json_body()
    library = access.get_library(user_id(), lib_name)
    sample = access.get_sample(library, sample_name)
    tagging.set_sample_tags(library, sample, body)
    return message(f"tags of '{sample_name}' updated")


def _favourite_flag(body: Any) -> bool:
    """``{isFavorite: bool}``, or the design's one-element list ``[{isFavorite: bool}]``."""
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if not isinstance(body, dict) or not isinstance(body.get("isFavorite"), bool):
        raise ApiError(400, 'expected a JSON object {"isFavorite": true|false}')
    return body["isFavorite"]


@bp.put("/samplefavorite/update/<lib_name>/<path:sample_name>")
@jwt_required()
def update_favourite(lib_name: str, sample_name: str) -> tuple[dict[str, Any], int]:
    """Mark or unmark the sample as a favourite (the stored recommendations follow)."""
    flag = _favourite_flag(json_body())
    library = access.get_library(user_id(), lib_name)
    sample = access.get_sample(library, sample_name)
    recommend.set_favourite(library, sample, flag)
    return message(f"'{sample_name}' {'marked' if flag else 'no longer marked'} as favourite")


@bp.get("/sample/<lib_name>/<path:sample_name>")
@jwt_required()
def sample_details(lib_name: str, sample_name: str) -> dict[str, Any]:
    """Everything known about one sample."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    analysed = sample.analyzed_hash == sample.content_hash
    return {
        "name": sample.name,
        "isFavorite": sample.is_favorite,
        "tags": libraries.sample_tags(sample),
        "rejectedTags": tagging.rejected_tag_names(sample),
        "analysed": analysed,
        "analysisError": sample.analysis_error if analysed else None,
        "likelihoods": sample.likelihoods if analysed else None,
        "nonDrum": sample.non_drum if analysed else None,
        "format": sample.format,
        "duration": sample.duration,
        "samplerate": sample.samplerate,
        "channels": sample.channels,
        "size": sample.size_bytes,
        "contentHash": sample.content_hash,
        **corrections.details(sample),  # userClass, modelClass, modelLikelihood, correctedAt
        **tempo.details(sample),  # bpm, bpmSource
    }


@bp.delete("/sample/<lib_name>/<path:sample_name>")
@jwt_required()
def delete_sample(lib_name: str, sample_name: str) -> tuple[dict[str, Any], int]:
    """Delete a sample (and its audio when no other sample uses it)."""
    uid = user_id()
    library = access.get_library(uid, lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    libraries.delete_sample(uid, library, sample)
    return message(f"'{sample_name}' deleted from library '{lib_name}'")


@bp.get("/audio/<lib_name>/<path:sample_name>")
def audio(lib_name: str, sample_name: str) -> Response:
    """The sample's audio (HTTP Range supported); authorised by a Bearer token or a ``?token=`` from /audio-url."""
    token = request.args.get("token")
    granted: int | None = None
    if token:
        uid, granted = streaming.check_stream_token(token)
    else:
        verify_jwt_in_request()
        uid = user_id()
    library = access.get_library(uid, lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    if granted is not None and granted != sample.id:
        raise ApiError(401, "this audio link was issued for another sample")
    path = storage.sample_path(uid, sample)
    if not path.is_file():
        raise ApiError(404, f"the audio of '{sample_name}' is missing from the storage")
    downloads.ignore_unusable_range(request.environ)
    response = send_file(
        path, mimetype=storage.mime_type(sample.format), conditional=True, download_name=sample.file_name, max_age=0
    )
    response.headers["Content-Disposition"] = downloads.content_disposition(sample.file_name, inline=True)
    response.headers["Cache-Control"] = "private, max-age=0"
    return response


@bp.get("/audio-url/<lib_name>/<path:sample_name>")
@jwt_required()
def audio_url(lib_name: str, sample_name: str) -> dict[str, Any]:
    """A short-lived URL that plays the sample without an Authorization header (for ``<audio src>``)."""
    uid = user_id()
    library = access.get_library(uid, lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    token = streaming.stream_token(uid, sample.id, get_jwt()["sid"])
    url = url_for("samples.audio", lib_name=lib_name, sample_name=sample_name, token=token)
    return {"url": url, "expiresIn": current_app.config["STREAM_TOKEN_SECONDS"]}


@bp.get("/similar/<lib_name>/<path:sample_name>")
@jwt_required()
def similar(lib_name: str, sample_name: str) -> list[dict[str, Any]]:
    """The ``n`` (query, default 8, at most 100) sounds of the library most similar to this one."""
    n = request.args.get("n", "8")
    if not (n.isascii() and n.isdigit() and len(n) <= 3) or not 1 <= int(n) <= 100:
        raise ApiError(400, "n must be an integer from 1 to 100")
    library = access.get_library(user_id(), lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    return recommend.similar(library, sample, int(n))

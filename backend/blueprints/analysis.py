"""Uploads, background analysis, the design's ``/tags`` and job progress."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask_jwt_extended import jwt_required

from ..errors import ApiError
from ..jobs import runner
from ..services import access, analysis, uploads
from ._http import message, user_id
from .libraries import listing_response

bp = Blueprint("analysis", __name__)


@bp.post("/upload/<lib_name>")
@jwt_required()
def upload(lib_name: str) -> tuple[dict[str, Any], int]:
    """Store one audio file (multipart field ``file``) in the library, creating the library when new."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "upload the file as multipart/form-data in the form field 'file'")
    file = request.files.get("file")
    if file is None:
        raise ApiError(400, "no file in the form field 'file'")
    result = uploads.save_upload(user_id(), lib_name, file.filename, file.stream)
    return message(result.message, result.status)


@bp.get("/analyze/<lib_name>")
@jwt_required()
def analyze(lib_name: str) -> tuple[dict[str, Any], int]:
    """Start (or join) the background analysis of the library's new and changed samples: ``{message, job}``."""
    uid = user_id()
    library = access.get_library(uid, lib_name)
    job = analysis.create_job(uid, library)
    if job.state in analysis.ACTIVE:
        runner().submit(job.id)
        text = f"analysis of {job.total} sample(s) of '{lib_name}' is under way"
    else:
        text = f"nothing to analyse in '{lib_name}': every sample is up to date"
    return message(text, job=job.id)


@bp.get("/tags/<lib_name>")
@jwt_required()
def tags(lib_name: str) -> Response:
    """Tag what is not tagged yet (waiting for a running analysis), then the library as ``/get/library``."""
    uid = user_id()
    library = access.get_library(uid, lib_name)
    runner().complete(uid, library.id)
    return listing_response(access.get_library(uid, lib_name))


@bp.get("/jobs/<job_id>")
@jwt_required()
def job(job_id: str) -> dict[str, Any]:
    """State and progress of a job: ``{id, library, state, done, total, failed: [{name, reason}], ...}``."""
    return analysis.job_body(analysis.get_job(user_id(), job_id))

"""Uploads, background analysis, the design's ``/tags`` and job progress."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request
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
    """Store audio files (multipart field ``file``) in the library, creating the library when new.

    One ``file`` part without ``path`` fields is the design's upload: ``{message}`` and its status. Several
    parts (or any ``path`` field) are a batch: each file is stored on its own, under its ``path`` field (one
    per file, in order; an empty one means the file name) or its file name, which may be a path; the answer
    is 200 ``{message, files: [{path, status, message, duplicateOf?}]}`` whatever happened to each file.
    """
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "upload the file as multipart/form-data in the form field 'file'")
    files = request.files.getlist("file")
    paths = request.form.getlist("path")
    if not files:
        raise ApiError(400, "no file in the form field 'file'")
    if len(files) == 1 and not paths:
        result = uploads.save_upload(user_id(), lib_name, files[0].filename, files[0].stream)
        return message(result.message, result.status)
    limit = current_app.config["MAX_BATCH_FILES"]
    if len(files) > limit:
        raise ApiError(413, f"too many files in one upload: {len(files)}, at most {limit} per request")
    if paths and len(paths) != len(files):
        raise ApiError(
            400, f"send one 'path' field per file, in the files' order: {len(paths)} path(s) for {len(files)} files"
        )
    outcomes = uploads.save_batch(
        user_id(), lib_name, [((paths[i] if paths else "") or f.filename, f.stream) for i, f in enumerate(files)]
    )
    return message(uploads.batch_summary(outcomes), files=[outcome.as_json() for outcome in outcomes])


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

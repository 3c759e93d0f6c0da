"""Libraries: list, show (the design's routes), rename, delete, export, timbre map."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_jwt_extended import get_jwt, jwt_required, verify_jwt_in_request

from ..errors import ApiError
from ..models import SampleLibrary
from ..services import access, downloads, export, libraries, streaming, timbre_map
from ._http import conditional_json, json_body, message, user_id

bp = Blueprint("libraries", __name__)


@bp.get("/get/libraries")
@jwt_required()
def list_libraries() -> Response:
    """Names of the caller's libraries."""
    return jsonify(libraries.list_libraries(user_id()))


@bp.get("/get/library/<lib_name>")
@jwt_required()
def get_library(lib_name: str) -> Response:
    """``{libname, samples: [{name, isFavorite, tags}]}``; unknown name → 400 (as designed). Supports ETag."""
    library = access.get_library(user_id(), lib_name)
    return listing_response(library)


def listing_response(library: SampleLibrary) -> Response:
    """The listing of ``library`` with an ETag (``If-None-Match`` answers 304)."""
    return conditional_json(libraries.library_json(library), f"lib{library.id}-v{library.version}")


@bp.post("/library/<lib_name>")
@jwt_required()
def create_library(lib_name: str) -> tuple[dict[str, Any], int]:
    """Create an empty library (uploads create theirs too); 409 when the name is taken."""
    uid = user_id()
    access.check_library_name(lib_name)
    if access.find_library(uid, lib_name) is not None:
        raise ApiError(409, f"a library named {lib_name!r} already exists")
    access.ensure_library(uid, lib_name)
    return message(f"library '{lib_name}' created", 201)


@bp.patch("/library/<lib_name>")
@jwt_required()
def rename_library(lib_name: str) -> tuple[dict[str, Any], int]:
    """Rename a library: body ``{name}``."""
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise ApiError(400, 'expected a JSON object {"name": new library name}')
    uid = user_id()
    library = access.get_library(uid, lib_name, missing_status=404)
    libraries.rename_library(uid, library, body["name"])
    return message(f"library '{lib_name}' renamed to '{body['name']}'")


@bp.delete("/library/<lib_name>")
@jwt_required()
def delete_library(lib_name: str) -> tuple[dict[str, Any], int]:
    """Delete a library with its samples and their audio."""
    uid = user_id()
    library = access.get_library(uid, lib_name, missing_status=404)
    libraries.delete_library(uid, library)
    return message(f"library '{lib_name}' deleted")


@bp.get("/export/<lib_name>")
def export_library(lib_name: str) -> Response:
    """The library (or the samples of one tag, the favourites) as a ZIP file with one folder per tag; authorised by
    a Bearer token or a ``?token=`` from /export-url, which holds its own selection."""
    selection, token = export.parse_export_query(request.args.to_dict(flat=False))
    if token is None:
        verify_jwt_in_request()
        uid = user_id()
        library = access.get_library(uid, lib_name, missing_status=404)
    else:
        uid, library, selection = export.linked_export(token, lib_name)
    result = export.export_archive(uid, library, selection)
    return downloads.stream_attachment(iter(result.archive), len(result.archive), "application/zip", result.file_name)


@bp.post("/export-url/<lib_name>")
@jwt_required()
def export_url(lib_name: str) -> dict[str, Any]:
    """A short-lived URL that downloads the export of ``{tag?, favorite?, names?}`` without an Authorization header."""
    body = json_body()
    uid = user_id()
    library = access.get_library(uid, lib_name, missing_status=404)
    selection = export.selection_from_body(library, body)
    token = streaming.export_token(uid, library.id, get_jwt()["sid"], selection.as_json())
    url = url_for("libraries.export_library", lib_name=lib_name, token=token)
    return {"url": url, "expiresIn": current_app.config["STREAM_TOKEN_SECONDS"]}


@bp.get("/map/<lib_name>")
@jwt_required()
def library_map(lib_name: str) -> dict[str, Any]:
    """2-D timbre-map coordinates of the analysed samples."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    return timbre_map.map_body(library)

"""Libraries: list, show (the design's routes), rename, delete, export, timbre map."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from flask_jwt_extended import jwt_required

from ..errors import ApiError
from ..models import SampleLibrary
from ..services import access, downloads, export, libraries, timbre_map
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
@jwt_required()
def export_library(lib_name: str) -> Response:
    """The library as a ZIP file with one folder per tag."""
    uid = user_id()
    library = access.get_library(uid, lib_name, missing_status=404)
    archive = export.export_zip(uid, library)
    return downloads.stream_attachment(iter(archive), len(archive), "application/zip", f"{lib_name}.zip")


@bp.get("/map/<lib_name>")
@jwt_required()
def library_map(lib_name: str) -> dict[str, Any]:
    """2-D timbre-map coordinates of the analysed samples."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    return timbre_map.map_body(library)

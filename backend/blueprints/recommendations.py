"""Recommendations from favourites: the design's POST, and the stored ones by GET."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_jwt_extended import jwt_required

from ..errors import ApiError
from ..services import access, recommend
from ._http import json_body, user_id

bp = Blueprint("recommendations", __name__)


def _names(body: Any) -> list[str]:
    if not isinstance(body, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in body):
        raise ApiError(400, 'expected a JSON list of favourites [{"name": file name}, ...]')
    return [e["name"] for e in body]


@bp.post("/recommendations/<lib_name>")
@jwt_required()
def recommendations(lib_name: str) -> list[dict[str, Any]]:
    """``[{name}]`` recommended for the favourites sent (an empty list: the library's stored favourites)."""
    names = _names(json_body())
    library = access.get_library(user_id(), lib_name)
    return recommend.for_names(library, names)


@bp.get("/recommendations/<lib_name>")
@jwt_required()
def stored_recommendations(lib_name: str) -> list[dict[str, Any]]:
    """The stored recommendations for the library's favourites (refreshed when they or the library change)."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    return recommend.stored(library)


@bp.get("/recommendations/<lib_name>/explained")
@jwt_required()
def explained_recommendations(lib_name: str) -> list[dict[str, Any]]:
    """The stored recommendations with their reasons: ``[{name, because, distance, sameClass}]``."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    return recommend.explained(library)

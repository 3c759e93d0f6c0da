"""The design's custom tags: ``POST /usertags/<lib_name>``; the reach of their propagation (preview, apply once)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from ..services import access, tag_reach, tagging
from ._http import json_body, user_id

bp = Blueprint("tags", __name__)


@bp.post("/usertags/<lib_name>")
@jwt_required()
def user_tags(lib_name: str) -> dict[str, list[str]]:
    """Set custom tags ``[{name, customTags}]`` and propagate them; ``{file name: custom tags}`` of the library."""
    entries = tagging.parse_user_tags(json_body())
    library = access.get_library(user_id(), lib_name)
    return tagging.apply_user_tags(library, entries)


@bp.get("/usertags/<lib_name>/preview")
@jwt_required()
def preview_reach(lib_name: str) -> dict[str, Any]:
    """``{reach, minConfidence, added, removed, kept}``: what propagating at ``?reach=`` would change (not stored)."""
    reach = tag_reach.preview_reach(request.args.to_dict(flat=False))
    library = access.get_library(user_id(), lib_name, missing_status=404)
    return tag_reach.preview(library, reach)


@bp.post("/usertags/<lib_name>/reach")
@jwt_required()
def apply_reach(lib_name: str) -> dict[str, Any]:
    """Propagate the custom tags once at ``{reach}`` and store them; what changed (as the preview)."""
    reach = tag_reach.apply_reach(json_body())
    library = access.get_library(user_id(), lib_name, missing_status=404)
    return tag_reach.apply(library, reach)

"""The design's custom tags: ``POST /usertags/<lib_name>``."""

from __future__ import annotations

from flask import Blueprint
from flask_jwt_extended import jwt_required

from ..services import access, tagging
from ._http import json_body, user_id

bp = Blueprint("tags", __name__)


@bp.post("/usertags/<lib_name>")
@jwt_required()
def user_tags(lib_name: str) -> dict[str, list[str]]:
    """Set custom tags ``[{name, customTags}]`` and propagate them; ``{file name: custom tags}`` of the library."""
    entries = tagging.parse_user_tags(json_body())
    library = access.get_library(user_id(), lib_name)
    return tagging.apply_user_tags(library, entries)

"""Near-duplicates: groups of the same recording under other names, and keeping one of a group."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from flask_jwt_extended import jwt_required

from ..services import access, duplicates
from ._http import conditional_json, json_body, user_id

bp = Blueprint("duplicates", __name__)


@bp.get("/duplicates/<lib_name>")
@jwt_required()
def groups(lib_name: str) -> Response:
    """``{libname, pending, groups: [{similarity, samples}]}``: the library's near-duplicate groups."""
    etag, body = duplicates.library_groups(access.get_library(user_id(), lib_name, missing_status=404))
    return conditional_json(body, etag)


@bp.post("/duplicates/<lib_name>/resolve")
@jwt_required()
def resolve(lib_name: str) -> dict[str, Any]:
    """Keep ``keep`` and delete the samples of ``remove`` (duplicates of it) in one transaction."""
    body, uid = json_body(), user_id()
    return duplicates.resolve(uid, access.get_library(uid, lib_name, missing_status=404), body)

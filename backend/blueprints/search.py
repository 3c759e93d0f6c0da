"""Search in a library: words, filters, sort and paging (``backend.services.search``)."""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask_jwt_extended import jwt_required

from ..services import access, search
from ._http import json_bytes, user_id

bp = Blueprint("search", __name__)


@bp.get("/search/<lib_name>")
@jwt_required()
def search_library(lib_name: str) -> Response:
    """``{libname, total, offset, limit, sort, samples}``: one page of the samples that match the query parameters."""
    query = search.parse_query(request.args.to_dict(flat=False))
    library = access.get_library(user_id(), lib_name, missing_status=404)
    return json_bytes(search.search_json(library, query))

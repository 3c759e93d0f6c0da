"""Class corrections and the suggestions they give: set or remove a sample's class, list and export corrections,
accept or refuse suggestions (``backend.services.corrections``, ``backend.services.suggestions``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask_jwt_extended import jwt_required

from ..errors import ApiError
from ..services import access, corrections, downloads, search, suggestions
from ..services.classes import parse_class
from ._http import json_body, message, user_id

bp = Blueprint("corrections", __name__)
FORMATS = ("json", "csv")


@bp.put("/sampleclass/update/<lib_name>/<path:sample_name>")
@jwt_required()
def update_class(lib_name: str, sample_name: str) -> tuple[dict[str, Any], int]:
    """Set the sample's class ``{class: name | null}``: another class than the tagger's is a correction; the
    tagger's own class or null removes the correction."""
    body = json_body()
    if not isinstance(body, dict) or "class" not in body:
        raise ApiError(400, 'expected a JSON object {"class": "Kick" | "Snare" | ... | null}')
    name = parse_class(body["class"])
    library = access.get_library(user_id(), lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    corrections.set_class(library, sample, name)
    if sample.user_class is None:
        return message(f"'{sample_name}' shows the tagger's class")
    return message(f"class of '{sample_name}' set to {sample.user_class} (a correction)")


@bp.get("/corrections/<lib_name>")
@jwt_required()
def list_corrections(lib_name: str) -> Any:
    """The library's corrections: JSON ``{libname, corrections}``, or with ``format=csv`` a CSV file for retraining."""
    values = search.query_values(request.args.to_dict(flat=False), ("format",))
    fmt = values.get("format", ["json"])[0].strip().lower()
    if fmt not in FORMATS:
        raise search.bad_parameter("format", f"expected json or csv, got {fmt[:40]!r}")
    library = access.get_library(user_id(), lib_name, missing_status=404)
    if fmt == "json":
        return corrections.listing(library)
    response = Response(corrections.csv_text(library), mimetype="text/csv")
    response.headers["Content-Disposition"] = downloads.content_disposition(f"{library.name} - corrections.csv")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.delete("/corrections/<lib_name>/<path:sample_name>")
@jwt_required()
def delete_correction(lib_name: str, sample_name: str) -> tuple[dict[str, Any], int]:
    """Remove the sample's correction: it shows the tagger's class again (404 when it has none)."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    sample = access.get_sample(library, sample_name, missing_status=404)
    if not corrections.has_correction(sample):
        raise ApiError(404, f"'{sample_name}' has no class correction")
    corrections.set_class(library, sample, None)
    return message(f"correction of '{sample_name}' removed: it shows the tagger's class")


@bp.get("/suggestions/<lib_name>")
@jwt_required()
def list_suggestions(lib_name: str) -> dict[str, Any]:
    """``{libname, suggestions: [{name, suggestedClass, confidence, currentClass}]}``, most confident first."""
    library = access.get_library(user_id(), lib_name, missing_status=404)
    return {"libname": library.name, "suggestions": suggestions.pending(library)}


def _review(lib_name: str, action: str) -> tuple[dict[str, Any], int]:
    """Accept or refuse the suggestions ``{names}`` (or ``{all: true}``) of a library."""
    names = corrections.parse_selection(json_body())
    library = access.get_library(user_id(), lib_name, missing_status=404)
    done = (corrections.accept if action == "accepted" else corrections.reject)(library, names)
    return message(f"{len(done)} suggestion(s) {action}", names=done)


@bp.post("/suggestions/<lib_name>/accept")
@jwt_required()
def accept_suggestions(lib_name: str) -> tuple[dict[str, Any], int]:
    """Accept ``{names}`` (or ``{all: true}``): each suggested class becomes the sample's class (a correction)."""
    return _review(lib_name, "accepted")


@bp.post("/suggestions/<lib_name>/reject")
@jwt_required()
def reject_suggestions(lib_name: str) -> tuple[dict[str, Any], int]:
    """Refuse ``{names}`` (or ``{all: true}``): those samples are not suggested a class again."""
    return _review(lib_name, "rejected")

"""Service endpoints: ``/health`` and the OpenAPI document."""

from __future__ import annotations

import functools
import shutil
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("meta", __name__)
SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"


def _version() -> str:
    """The installed ``drumsampler`` package's version (the server's)."""
    try:
        return version("drumsampler")
    except PackageNotFoundError:
        return "0+unknown"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3 document (``backend/openapi.yaml``), read once; its version is the server's."""
    with open(SPEC_PATH, encoding="utf-8") as fh:
        document = yaml.safe_load(fh)
    document["info"]["version"] = _version()
    return document


def disk_free() -> int | None:
    """Free bytes in DATA_DIR (for an unprivileged process); None when it cannot be measured."""
    try:
        return shutil.disk_usage(current_app.config["DATA_DIR"]).free
    except OSError:
        return None


@bp.get("/health")
def health() -> tuple[Response, int]:
    """``{status, database, tagger, diskFree, version}``; "degraded" without the tagger or when DATA_DIR is short of
    space (below MIN_FREE_DISK_BYTES), 503 when the database does not answer."""
    try:
        db.session.execute(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    finally:
        db.session.rollback()
    tagger = resources.files("drumsamp_models").joinpath("weights", "tagger_head.npz").is_file()
    free = disk_free()
    healthy = tagger and free is not None and free >= current_app.config["MIN_FREE_DISK_BYTES"]
    status = "ok" if database and healthy else ("degraded" if database else "down")
    body = {"status": status, "database": database, "tagger": tagger, "diskFree": free, "version": _version()}
    return jsonify(body), 200 if database else 503


@bp.get("/openapi.json")
def openapi() -> Response:
    """The API description (OpenAPI 3)."""
    return jsonify(openapi_document())

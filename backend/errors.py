"""Errors as JSON ``{message}`` with the right status, whatever raised them."""

from __future__ import annotations

import errno
import logging
import sqlite3

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("backend")

STORAGE_FULL = "the server's storage is full: the request could not be completed; try again once space is freed"
_DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class ApiError(Exception):
    """An error answered as ``{message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ApiError:
    """400 with ``message``."""
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    """404 with ``message``."""
    return ApiError(404, message)


def error_response(status: int, message: str) -> tuple[Response, int]:
    """The JSON body of an error."""
    return jsonify(message=message), status


def storage_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an error it was raised from or while handling) says the disk or a quota is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
            return True
        if isinstance(exc, (OperationalError, sqlite3.OperationalError)) and "database or disk is full" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _raised_in(exc: BaseException) -> str:
    """``module.function`` of the frame that raised ``exc``."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_globals.get('__name__')}.{tb.tb_frame.f_code.co_name}" if tb is not None else ""


def too_large_message(exc: RequestEntityTooLarge, upload_limit: int) -> str:
    """Which limit a 413 of Werkzeug's hit: the number of form parts, a form field's size, or the upload size."""
    origin = _raised_in(exc)
    described = exc.description != RequestEntityTooLarge.description
    if origin == "werkzeug.sansio.multipart.next_event" or (described and "part" in str(exc.description).lower()):
        return f"too many parts in the form (at most {request.max_form_parts})"
    if origin in ("werkzeug.sansio.multipart.receive_data", "werkzeug.formparser.parse"):
        limit = (request.max_form_memory_size or 0) / (1024 * 1024)
        return f"a form field is too large (form fields other than files are limited to {limit:g} MB)"
    if request.mimetype != "multipart/form-data":
        return f"request too large: at most {(request.max_content_length or 0) / (1024 * 1024):.3g} MB"
    batch = current_app.config.get("MAX_BATCH_BYTES", upload_limit) / (1024 * 1024)
    files = current_app.config.get("MAX_BATCH_FILES", 1)
    return (
        f"request too large: uploads are limited to {upload_limit / (1024 * 1024):.4g} MB per file and "
        f"{batch:.4g} MB per request (at most {files} files)"
    )


def register_error_handlers(app: Flask) -> None:
    """Answer every error, including Werkzeug's and unexpected ones, as JSON."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.status, exc.message)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> tuple[Response, int]:
        return error_response(413, too_large_message(exc, app.config["MAX_UPLOAD_BYTES"]))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        message = exc.description or exc.name
        if exc.code == 429:
            message = f"{exc.description}; try again later"  # every limit of the app carries its error_message
        response = exc.get_response()
        response.data = jsonify(message=message).get_data()
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        if storage_full(exc):
            log.error("storage full: %s %s failed: %s", request.method, request.path, exc)
            return error_response(507, STORAGE_FULL)
        log.exception("unhandled error")
        return error_response(500, "internal server error")

"""Errors as JSON ``{message}`` with the right status, whatever raised them."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger("backend")


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


def register_error_handlers(app: Flask) -> None:
    """Answer every error, including Werkzeug's and unexpected ones, as JSON."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.status, exc.message)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> tuple[Response, int]:
        limit = app.config["MAX_UPLOAD_BYTES"] / (1024 * 1024)
        return error_response(413, f"request too large: uploads are limited to {limit:g} MB per file")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        message = exc.description or exc.name
        if exc.code == 429:
            message = f"too many requests (limit: {exc.description}); try again later"
        response = exc.get_response()
        response.data = jsonify(message=message).get_data()
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return error_response(500, "internal server error")

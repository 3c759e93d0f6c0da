"""Request helpers shared by the blueprints: the caller's id and validated request bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, request
from flask_jwt_extended import get_jwt_identity

from ..errors import ApiError

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def user_id() -> int:
    """The id of the authenticated user (the token's identity)."""
    return int(get_jwt_identity())


def _is_json() -> bool:
    mimetype = request.mimetype or ""
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def json_body() -> Any:
    """The request's JSON body; 415 for another content type, 413 above ``MAX_JSON_BYTES``, 400 for malformed
    JSON, nesting deeper than Python's parser takes, or text that is not valid Unicode (lone surrogates)."""
    if not _is_json():
        raise ApiError(415, "the request body must be JSON (Content-Type: application/json)")
    limit = current_app.config["MAX_JSON_BYTES"]
    if (request.content_length or 0) > limit:
        raise ApiError(413, f"JSON bodies are limited to {limit / (1024 * 1024):g} MB")
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ApiError(400, "the request body is nested too deeply") from None
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "the request body is not valid JSON") from None
    if not _valid_text(body):
        raise ApiError(400, "the request body holds text that is not valid Unicode (a lone surrogate such as \\ud800)")
    if _has_nul(body):  # PostgreSQL's text cannot hold it; no name, tag or mail needs it
        raise ApiError(400, "the request body holds a NUL character (\\u0000)")
    return body


def _strings(body: Any) -> Iterator[str]:
    """Every string (keys included) of a parsed JSON value."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())


def _has_nul(body: Any) -> bool:
    """Whether a string (keys included) of a parsed JSON value holds a NUL character."""
    return any("\x00" in item for item in _strings(body))


def _valid_text(body: Any) -> bool:
    """Whether every string (keys included) of a parsed JSON value encodes as UTF-8 (no lone surrogates)."""
    for item in _strings(body):
        if not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def credentials() -> tuple[str, str]:
    """``mail`` and ``password`` from a form (as designed) or a JSON object."""
    if _is_json():
        body = json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "expected a JSON object with 'mail' and 'password'")
        fields: Any = body
    elif request.mimetype in FORM_TYPES:
        fields = request.form
    else:
        raise ApiError(415, "send 'mail' and 'password' as application/x-www-form-urlencoded or JSON")
    mail, password = fields.get("mail"), fields.get("password")
    if not isinstance(mail, str) or not mail:
        raise ApiError(400, "'mail' is required")
    if "\x00" in mail:
        raise ApiError(400, "'mail' holds a NUL character")
    if not isinstance(password, str) or not password:
        raise ApiError(400, "'password' is required")
    return mail, password


def message(text: str, status: int = 200, **extra: Any) -> tuple[dict[str, Any], int]:
    """A ``{message}`` body (plus ``extra`` fields)."""
    return {"message": text, **extra}, status


def json_bytes(body: bytes, status: int = 200) -> Response:
    """A response from already serialised JSON."""
    return Response(body, status=status, mimetype="application/json")


def conditional_json(body: bytes, etag: str | None = None) -> Response:
    """Serialised JSON with an ETag (``etag``, else a digest of the body), revalidated on every use and kept by
    the browser only: ``If-None-Match`` answers 304."""
    response = json_bytes(body)
    if etag is None:
        response.add_etag()
    else:
        response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)

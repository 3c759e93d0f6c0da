"""Short-lived signed tokens that let an ``<audio>`` element (no Authorization header) play one sample."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import ApiError

SALT = "drumsampler-audio-stream"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def stream_token(user_id: int, sample_id: int) -> str:
    """A token valid for ``STREAM_TOKEN_SECONDS`` that grants reading sample ``sample_id`` of ``user_id``."""
    return _serializer().dumps({"u": user_id, "s": sample_id})


def check_stream_token(token: str) -> tuple[int, int]:
    """``(user id, sample id)`` of a valid stream token; 401 when forged or expired."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["STREAM_TOKEN_SECONDS"])
    except SignatureExpired:
        raise ApiError(401, "the audio link has expired; ask for a new one") from None
    except BadSignature:
        raise ApiError(401, "invalid audio link token") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("s"), int):
        raise ApiError(401, "invalid audio link token")
    return data["u"], data["s"]

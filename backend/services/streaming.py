"""Audio links for an ``<audio>`` element (no Authorization header): opaque, short-lived, tied to a session.

A link's token is 32 random bytes; the database keeps only its SHA-256 with the user, the sample, the
session and the expiry. Logging out revokes the session's links with its tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from flask import current_app
from sqlalchemy import delete

from ..errors import ApiError
from ..extensions import db
from ..models import StreamLink
from .auth import is_revoked


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def stream_token(user_id: int, sample_id: int, sid: str) -> str:
    """A token valid for ``STREAM_TOKEN_SECONDS`` that lets session ``sid`` of ``user_id`` read one sample."""
    now = time.time()
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(StreamLink).where(StreamLink.expires_at < now))
    db.session.add(
        StreamLink(
            token_hash=_digest(token),
            user_id=user_id,
            sample_id=sample_id,
            sid=sid,
            expires_at=now + current_app.config["STREAM_TOKEN_SECONDS"],
        )
    )
    db.session.commit()
    return token


def check_stream_token(token: str) -> tuple[int, int]:
    """``(user id, sample id)`` of a valid link token; 401 when unknown, expired or its session logged out."""
    link = db.session.get(StreamLink, _digest(token)) if len(token) <= 128 else None
    if link is None:
        raise ApiError(401, "invalid audio link token")
    if link.expires_at < time.time():
        raise ApiError(401, "the audio link has expired; ask for a new one")
    if is_revoked(link.sid):
        raise ApiError(401, "the audio link's session has logged out; log in and ask for a new one")
    return link.user_id, link.sample_id


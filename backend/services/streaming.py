"""Links without an Authorization header (``<audio src>``, a plain download): opaque, short-lived, tied to a session.

A link's token is 32 random bytes; the database keeps only its SHA-256 with the user, the session, the expiry
and what it opens: one sample (``/audio-url``) or one library's export with its selection (``/export-url``).
Logging out revokes the session's links with its tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from flask import current_app
from sqlalchemy import delete

from ..errors import ApiError
from ..extensions import db
from ..models import StreamLink
from .auth import is_revoked


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _issue(user_id: int, sid: str, **target: Any) -> str:
    """A new token valid for ``STREAM_TOKEN_SECONDS`` for ``target`` (the link's columns); expired links go."""
    now = time.time()
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(StreamLink).where(StreamLink.expires_at < now))
    db.session.add(
        StreamLink(
            token_hash=_digest(token),
            user_id=user_id,
            sid=sid,
            expires_at=now + current_app.config["STREAM_TOKEN_SECONDS"],
            **target,
        )
    )
    db.session.commit()
    return token


def _check(token: str, kind: str) -> StreamLink:
    """The link of ``token``; 401 when unknown, expired or its session logged out (``kind`` names it)."""
    link = db.session.get(StreamLink, _digest(token)) if len(token) <= 128 else None
    if link is None:
        raise ApiError(401, f"invalid {kind} link token")
    if link.expires_at < time.time():
        raise ApiError(401, f"the {kind} link has expired; ask for a new one")
    if is_revoked(link.sid):
        raise ApiError(401, f"the {kind} link's session has logged out; log in and ask for a new one")
    return link


def stream_token(user_id: int, sample_id: int, sid: str) -> str:
    """A token that lets session ``sid`` of ``user_id`` read one sample."""
    return _issue(user_id, sid, sample_id=sample_id)


def check_stream_token(token: str) -> tuple[int, int]:
    """``(user id, sample id)`` of a valid audio link token, else 401."""
    link = _check(token, "audio")
    if link.sample_id is None:
        raise ApiError(401, "this link is no audio link")
    return link.user_id, link.sample_id


def export_token(user_id: int, library_id: int, sid: str, selection: dict[str, Any]) -> str:
    """A token that lets session ``sid`` of ``user_id`` download one library's export of ``selection``."""
    return _issue(user_id, sid, library_id=library_id, selection=selection)


def check_export_token(token: str) -> tuple[int, int, dict[str, Any]]:
    """``(user id, library id, selection)`` of a valid export link token, else 401."""
    link = _check(token, "export")
    if link.library_id is None:
        raise ApiError(401, "this link is no export link")
    return link.user_id, link.library_id, link.selection or {}

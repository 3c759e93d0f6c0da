"""Accounts and tokens: registration, login, refresh and logout (session revocation)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from ..errors import ApiError
from ..extensions import db
from ..models import MAIL_MAX, RevokedSession, User

_MAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_USER_ID = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)  # fits a 64-bit integer column
_SESSION_ID = re.compile(r"[0-9a-f]{32}", re.ASCII)
PASSWORD_MAX = 1024
ZXCVBN_MAX = 72  # zxcvbn's own limit (it raises beyond); its first characters decide a weak password's score
# Checked for unknown mails too, so that both failures cost the same time.
_DUMMY_HASH = generate_password_hash("drumsampler-dummy-password")
BAD_CREDENTIALS = "wrong mail or password"


@dataclass(frozen=True)
class Tokens:
    """An access token and the refresh token of the same session."""

    access: str
    refresh: str


def normalise_mail(mail: str) -> str:
    """The mail as stored: trimmed and lower-cased."""
    return mail.strip().lower()


def _check_mail(mail: str) -> str:
    mail = normalise_mail(mail)
    if len(mail) > MAIL_MAX or not _MAIL.match(mail):
        raise ApiError(400, "mail must be a valid e-mail address")
    return mail


def _check_password(password: str, mail: str) -> None:
    """400 for a password that is too short, too long or easy to guess (zxcvbn below ``PASSWORD_MIN_SCORE``)."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ApiError(400, f"password must be at least {minimum} characters long")
    if len(password) > PASSWORD_MAX:
        raise ApiError(400, f"password must be at most {PASSWORD_MAX} characters long")
    estimate = zxcvbn(password[:ZXCVBN_MAX], user_inputs=[mail, mail.split("@")[0], "drumsampler"])
    if estimate["score"] < current_app.config["PASSWORD_MIN_SCORE"]:
        feedback = estimate["feedback"]
        hints = " ".join(h for h in [feedback.get("warning") or "", *feedback.get("suggestions", [])] if h)
        raise ApiError(400, "password is too easy to guess" + (f": {hints}" if hints else ""))


def issue_tokens(user: User, sid: str | None = None) -> Tokens:
    """New tokens for ``user``: identity is the user id, the mail and a session id travel as claims."""
    claims = {"mail": user.mail, "sid": sid or uuid.uuid4().hex}
    identity = str(user.id)
    return Tokens(
        create_access_token(identity=identity, additional_claims=claims),
        create_refresh_token(identity=identity, additional_claims=claims),
    )


def register(mail: str, password: str) -> Tokens:
    """Create an account and log it in; 409 when the mail is taken."""
    mail = _check_mail(mail)
    _check_password(password, mail)
    user = User(mail=mail, password_hash=generate_password_hash(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, "this mail is already registered") from None
    return issue_tokens(user)


def login(mail: str, password: str) -> Tokens:
    """Tokens for a valid mail and password; one and the same 401 for an unknown mail or a wrong password."""
    user = db.session.scalar(select(User).where(User.mail == normalise_mail(mail)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise ApiError(401, BAD_CREDENTIALS)
    if not check_password_hash(user.password_hash, password):
        raise ApiError(401, BAD_CREDENTIALS)
    return issue_tokens(user)


def revoke_session(user_id: int, sid: str, expires_at: float) -> None:
    """Refuse every token of session ``sid`` from now on; forget sessions whose tokens have all expired."""
    if db.session.get(RevokedSession, sid) is None:
        db.session.add(RevokedSession(sid=sid, user_id=user_id, expires_at=expires_at))
    db.session.execute(db.delete(RevokedSession).where(RevokedSession.expires_at < time.time()))
    db.session.commit()


def check_claims(payload: dict[str, Any]) -> None:
    """401 unless a (validly signed) token's claims have the shapes this server issues."""
    sub, sid, iat = payload.get("sub"), payload.get("sid"), payload.get("iat")
    if not (isinstance(sub, str) and _USER_ID.fullmatch(sub)):
        raise ApiError(401, "invalid token: malformed 'sub' claim")
    if not (isinstance(sid, str) and _SESSION_ID.fullmatch(sid)):
        raise ApiError(401, "invalid token: malformed 'sid' claim")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise ApiError(401, "invalid token: missing or malformed 'iat' claim")


def is_revoked(sid: str | None) -> bool:
    """Whether the session of a token was logged out (tokens without a session id are refused)."""
    if not sid:
        return True
    return db.session.get(RevokedSession, sid) is not None

"""Accounts: register, login (both rate-limited by the app factory), refresh and logout."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from flask_jwt_extended import create_access_token, get_jwt, get_jwt_identity, jwt_required

from ..services import auth
from ._http import credentials, message, user_id

bp = Blueprint("auth", __name__)


@bp.post("/register")
def register() -> tuple[dict[str, Any], int]:
    """Create an account; ``{token, refreshToken}``."""
    tokens = auth.register(*credentials())
    return {"token": tokens.access, "refreshToken": tokens.refresh}, 200


@bp.post("/login")
def login() -> tuple[dict[str, Any], int]:
    """Log in; ``{token, refreshToken}``."""
    tokens = auth.login(*credentials())
    return {"token": tokens.access, "refreshToken": tokens.refresh}, 200


@bp.post("/refresh")
@jwt_required(refresh=True)
def refresh() -> tuple[dict[str, Any], int]:
    """A new access token for the refresh token's session."""
    claims = get_jwt()
    token = create_access_token(
        identity=get_jwt_identity(), additional_claims={"mail": claims.get("mail"), "sid": claims.get("sid")}
    )
    return {"token": token}, 200


@bp.post("/logout")
@jwt_required(verify_type=False)
def logout() -> tuple[dict[str, Any], int]:
    """Revoke the session of the presented token (its access and refresh tokens alike)."""
    claims = get_jwt()
    lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()
    auth.revoke_session(user_id(), claims["sid"], float(claims["iat"]) + lifetime)
    return message("logged out: the tokens of this session are revoked")

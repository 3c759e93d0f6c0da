"""Accounts and tokens: register/login encodings, errors, expiry, forgery, revocation, rate limits, secrets."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import jwt as pyjwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token
from sqlalchemy import select

from backend import config as config_module
from backend.extensions import db
from backend.models import User
from tests.backend.conftest import PASSWORD, AppFactory, register


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_register_form_returns_tokens_with_user_id_identity_and_mail_claim(app: Flask, client: FlaskClient) -> None:
    response = client.post("/register", data={"mail": "Drummer@Example.org", "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "refreshToken"}
    claims = pyjwt.decode(body["token"], app.config["JWT_SECRET_KEY"], algorithms=["HS256"])
    with app.app_context():
        user = db.session.scalar(select(User).where(User.mail == "drummer@example.org"))
        assert user is not None
        assert claims["sub"] == str(user.id)
        assert user.password_hash != PASSWORD
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert claims["mail"] == "drummer@example.org"
    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 60 * 60


def test_register_and_login_accept_json(client: FlaskClient) -> None:
    assert client.post("/register", json={"mail": "j@example.org", "password": PASSWORD}).status_code == 200
    response = client.post("/login", json={"mail": "j@example.org", "password": PASSWORD})
    assert response.status_code == 200
    assert isinstance(response.get_json()["token"], str)


def test_login_form_and_token_opens_protected_route(client: FlaskClient) -> None:
    register(client, "f@example.org")
    response = client.post("/login", data={"mail": "f@example.org", "password": PASSWORD})
    assert response.status_code == 200
    token = response.get_json()["token"]
    listing = client.get("/get/libraries", headers={"Authorization": f"Bearer {token}"})
    assert listing.status_code == 200
    assert listing.get_json() == []


def test_unknown_mail_and_wrong_password_get_the_same_answer(client: FlaskClient) -> None:
    register(client, "known@example.org")
    wrong = client.post("/login", data={"mail": "known@example.org", "password": "not the password"})
    unknown = client.post("/login", data={"mail": "nobody@example.org", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json() == {"message": "wrong mail or password"}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"mail": "a@example.org", "password": "short"}, "at least 8"),
        ({"mail": "not-a-mail", "password": PASSWORD}, "valid e-mail"),
        ({"mail": "a@example.org"}, "'password' is required"),
        ({"password": PASSWORD}, "'mail' is required"),
    ],
)
def test_register_rejects_bad_input(client: FlaskClient, data: dict[str, str], fragment: str) -> None:
    response = client.post("/register", data=data)
    assert response.status_code == 400
    assert fragment in response.get_json()["message"]


def test_register_twice_is_a_conflict(client: FlaskClient) -> None:
    register(client, "twice@example.org")
    response = client.post("/register", data={"mail": "TWICE@example.org", "password": PASSWORD})
    assert response.status_code == 409
    assert "already registered" in response.get_json()["message"]


def test_register_wrong_content_type_and_bad_json(client: FlaskClient) -> None:
    plain = client.post("/register", data="mail=a@b.org", content_type="text/plain")
    assert plain.status_code == 415
    assert "message" in plain.get_json()
    broken = client.post("/register", data="{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json() == {"message": "the request body is not valid JSON"}
    array = client.post("/login", json=["mail", "password"])
    assert array.status_code == 400


def test_missing_malformed_and_wrong_scheme_tokens(client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer abc.def"}, {"Authorization": "Basic x"}):
        response = client.get("/get/libraries", headers=headers)
        assert response.status_code == 401, headers
        assert set(response.get_json()) == {"message"}


def test_forged_token_signed_with_another_secret_is_refused(app: Flask, client: FlaskClient) -> None:
    user = register(client)
    claims = pyjwt.decode(user.token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"])
    forged = pyjwt.encode(claims, "another secret that is long enough to be used", algorithm="HS256")
    response = client.get("/get/libraries", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.get_json()["message"].startswith("invalid token")


def test_alg_none_token_is_refused(app: Flask, client: FlaskClient) -> None:
    user = register(client)
    claims = pyjwt.decode(user.token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"])
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    response = client.get("/get/libraries", headers={"Authorization": f"Bearer {unsigned}"})
    assert response.status_code == 401
    # The same claims, properly signed, are accepted: the refusal is about the algorithm.
    assert client.get("/get/libraries", headers=user.headers).status_code == 200


def test_expired_token_is_refused(app: Flask, client: FlaskClient) -> None:
    user = register(client)
    claims = pyjwt.decode(user.token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"])
    with app.app_context():
        expired = create_access_token(
            identity=claims["sub"],
            additional_claims={"mail": claims["mail"], "sid": claims["sid"]},
            expires_delta=timedelta(seconds=-30),
        )
    response = client.get("/get/libraries", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert "expired" in response.get_json()["message"]


def test_refresh_token_gives_new_access_token_but_is_no_access_token(client: FlaskClient) -> None:
    user = register(client)
    refresh_headers = {"Authorization": f"Bearer {user.refresh_token}"}
    assert client.get("/get/libraries", headers=refresh_headers).status_code == 401
    assert client.post("/refresh", headers=user.headers).status_code == 401
    response = client.post("/refresh", headers=refresh_headers)
    assert response.status_code == 200
    new = response.get_json()["token"]
    assert client.get("/get/libraries", headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_logout_revokes_access_and_refresh_tokens_of_the_session_only(client: FlaskClient) -> None:
    user = register(client)
    other_session = client.post("/login", data={"mail": user.mail, "password": PASSWORD}).get_json()["token"]
    response = client.post("/logout", headers=user.headers)
    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    revoked = client.get("/get/libraries", headers=user.headers)
    assert revoked.status_code == 401
    assert "revoked" in revoked.get_json()["message"]
    assert client.post("/refresh", headers={"Authorization": f"Bearer {user.refresh_token}"}).status_code == 401
    assert client.get("/get/libraries", headers={"Authorization": f"Bearer {other_session}"}).status_code == 200


def test_token_of_a_deleted_account_is_refused(app: Flask, client: FlaskClient) -> None:
    user = register(client)
    with app.app_context():
        db.session.delete(db.session.scalar(select(User).where(User.mail == user.mail)))
        db.session.commit()
    response = client.get("/get/libraries", headers=user.headers)
    assert response.status_code == 401


def test_login_and_register_are_rate_limited(make_app: AppFactory) -> None:
    app = make_app(RATELIMIT_ENABLED="true", AUTH_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/login", data={"mail": "x@example.org", "password": PASSWORD}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    limited = client.post("/login", data={"mail": "x@example.org", "password": PASSWORD})
    assert limited.status_code == 429
    assert "too many login or registration attempts" in limited.get_json()["message"]
    assert client.post("/register", data={"mail": "y@example.org", "password": PASSWORD}).status_code == 200
    # Other routes are not limited.
    assert [client.get("/health").status_code for _ in range(5)] == [200] * 5


def test_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path)}
    first = config_module.from_env(env)["JWT_SECRET_KEY"]
    second = config_module.from_env(env)["JWT_SECRET_KEY"]
    assert first == second and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_secret_from_environment_signs_the_tokens(make_app: AppFactory, tmp_path: Path) -> None:
    secret = "an environment secret of more than thirty-two characters"
    app = make_app(data_dir=tmp_path / "env-secret", JWT_SECRET_KEY=secret)
    user = register(app.test_client())
    assert pyjwt.decode(user.token, secret, algorithms=["HS256"])["mail"] == user.mail
    assert not (tmp_path / "env-secret" / "secret_key").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JWT_SECRET_KEY", "short"),
        ("ACCESS_TOKEN_MINUTES", "soon"),
        ("ACCESS_TOKEN_MINUTES", "0"),
        ("RATELIMIT_ENABLED", "maybe"),
    ],
)
def test_invalid_configuration_is_refused(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        config_module.from_env({"DATA_DIR": str(tmp_path), name: value})


def test_access_token_lifetime_is_configurable(make_app: AppFactory) -> None:
    app = make_app(ACCESS_TOKEN_MINUTES="5", REFRESH_TOKEN_DAYS="2")
    user = register(app.test_client())
    access = pyjwt.decode(user.token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"])
    refresh = pyjwt.decode(user.refresh_token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"])
    assert access["exp"] - access["iat"] == 5 * 60
    assert refresh["exp"] - refresh["iat"] == 2 * 86400

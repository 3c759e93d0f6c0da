"""Fixtures of the backend tests: real apps on real SQLite files in temporary folders, real audio.

The schema is migrated once per session (Alembic) into a template database that every app copies.
"""

from __future__ import annotations

import io
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from backend import JOBS_KEY, create_app, upgrade_database
from backend.extensions import db
from tests.audio_factory import kick, noise_burst, one_shot_library, tone, write

PASSWORD = "correct horse battery"
BASE_ENV = {
    "RATELIMIT_ENABLED": "false",
    "JOB_POLL_SECONDS": "0.5",
    "TAGS_WAIT_SECONDS": "300",
}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with the newest schema, made by the Alembic migrations."""
    folder = tmp_path_factory.mktemp("template")
    app = create_app(env={"DATA_DIR": str(folder)})
    upgrade_database(app)
    with app.app_context():
        db.engine.dispose()  # closes the connections: the write-ahead log is folded into the file
    return folder / "drumsampler.db"


AppFactory = Callable[..., Flask]


def build_app(folder: Path, template_db: Path, **env: str) -> Flask:
    """An app on ``folder`` (its database copied from the template when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "drumsampler.db").exists():
        shutil.copy(template_db, folder / "drumsampler.db")
    return create_app(env={**BASE_ENV, "DATA_DIR": str(folder), **env})


def close_app(app: Flask) -> None:
    """Stop the app's job threads and close its database connections."""
    app.extensions[JOBS_KEY].stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(tmp_path: Path, template_db: Path) -> Iterator[AppFactory]:
    """``make_app(**env)``: a fresh app with its own instance folder and a migrated database."""
    apps: list[Flask] = []

    def factory(data_dir: Path | None = None, **env: str) -> Flask:
        app = build_app(data_dir or tmp_path / f"instance-{len(apps)}", template_db, **env)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        close_app(app)


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """A fresh app."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of ``app``."""
    return app.test_client()


@dataclass
class User:
    """A registered user of a test app, with helpers that send the Bearer token."""

    client: FlaskClient
    mail: str
    token: str
    refresh_token: str
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url: str, **kw: Any) -> TestResponse:
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def put(self, url: str, **kw: Any) -> TestResponse:
        return self.client.put(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def patch(self, url: str, **kw: Any) -> TestResponse:
        return self.client.patch(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self.client.delete(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def upload(self, lib: str, path: Path, name: str | None = None) -> TestResponse:
        """Upload one file as the design does (multipart field ``file``; ``name`` may be a path)."""
        data = {"file": (io.BytesIO(path.read_bytes()), name or path.name)}
        return self.post(f"/upload/{lib}", data=data, content_type="multipart/form-data")

    def stored(self, lib: str, path: Path, name: str | None = None) -> dict[str, Any]:
        """:meth:`upload`, which must succeed; its answer."""
        response = self.upload(lib, path, name)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def path_url(path: str) -> str:
    """A sample path as the rest of a URL: each segment percent-encoded, as clients do."""
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


def register(client: FlaskClient, mail: str | None = None) -> User:
    """Register a new user (form-encoded, as the design does) and return it."""
    mail = mail or f"user-{uuid.uuid4().hex[:8]}@example.org"
    response = client.post("/register", data={"mail": mail, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return User(client, mail, body["token"], body["refreshToken"])


@pytest.fixture
def user(client: FlaskClient) -> User:
    """A registered user of ``app``."""
    return register(client)


@pytest.fixture(scope="session")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six different generated one-shots (16-bit WAV)."""
    return one_shot_library(tmp_path_factory.mktemp("sounds"), n=6)


def drum_kit(folder: Path, n: int) -> list[Path]:
    """``n`` distinct generated sounds: kicks, noise bursts and tones with varied parameters."""
    files = []
    for i in range(n):
        if i % 3 == 0:
            y = kick(0.3 + 0.02 * i, seed=i)
        elif i % 3 == 1:
            y = noise_burst(0.2 + 0.01 * i, decay=10 + i, seed=i)
        else:
            y = tone(150 + 37 * i, 0.4, decay=6)
        files.append(write(folder / f"hit_{i:03d}.wav", y))
    return files

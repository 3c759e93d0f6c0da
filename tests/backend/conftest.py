"""Fixtures of the backend tests: real apps on real SQLite files in temporary folders, real audio.

The schema is migrated once per session (Alembic) into a template database that every app copies. With
``DRUMSAMPLER_TEST_DATABASE=postgresql`` the apps run on PostgreSQL instead: a private cluster that the session starts
on 127.0.0.1 (Debian's ``postgresql``, a temporary data directory, stopped at the end), one database per app,
created from the migrated template database.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
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
from backend.scaleout import Postgres, pg_bin
from tests.audio_factory import kick, noise_burst, one_shot_library, tone, write

PASSWORD = "correct horse battery"
BASE_ENV = {
    "RATELIMIT_ENABLED": "false",
    "JOB_POLL_SECONDS": "0.5",
    "TAGS_WAIT_SECONDS": "300",
    # the app under test runs the local worker's threads itself (a gunicorn server of the tests gets a worker process)
    "ANALYSIS_IN_PROCESS": "true",
}


TEST_DATABASE = os.environ.get("DRUMSAMPLER_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
PG_TEMPLATE = "drumsampler_template"
_postgres: list[Postgres] = []  # the session's cluster, when the tests run on PostgreSQL


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres | None]:
    """The session's PostgreSQL cluster with DRUMSAMPLER_TEST_DATABASE=postgresql (else None)."""
    if TEST_DATABASE != "postgresql":
        yield None
        return
    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (tools/install_debian.sh postgresql): the PostgreSQL run is skipped")
    # in memory where the machine has a tmpfs: a database is ~300 files, created and dropped for each test
    shm = Path("/dev/shm")
    memory = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix="drumsampler-test-pg-", dir=memory))
    cluster = Postgres(folder).start()
    _postgres.append(cluster)
    try:
        yield cluster
    finally:
        _postgres.remove(cluster)
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres | None) -> Path:
    """A database file with the newest schema, made by the Alembic migrations (on PostgreSQL: the template database,
    and this path only a marker)."""
    folder = tmp_path_factory.mktemp("template")
    env = {"DATA_DIR": str(folder)}
    if postgres is not None:
        env["DATABASE_URL"] = postgres.create_database(PG_TEMPLATE)
    app = create_app(env=env)
    upgrade_database(app)
    with app.app_context():
        db.engine.dispose()  # closes the connections: the write-ahead log is folded into the file
    return folder / "drumsampler.db"


def database_env(folder: Path) -> dict[str, str]:
    """On PostgreSQL: ``DATABASE_URL`` of the folder's own database (created from the template on first use)."""
    if not _postgres:
        return {}
    marker = folder / ".test-database"
    if not marker.exists():
        marker.write_text(f"t_{uuid.uuid4().hex}")
    return {"DATABASE_URL": _postgres[0].create_database(marker.read_text(), template=PG_TEMPLATE)}


AppFactory = Callable[..., Flask]


def build_app(folder: Path, template_db: Path, **env: str) -> Flask:
    """An app on ``folder`` (its database copied from the template when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not _postgres and not (folder / "drumsampler.db").exists():
        shutil.copy(template_db, folder / "drumsampler.db")
    return create_app(env={**BASE_ENV, "DATA_DIR": str(folder), **database_env(folder), **env})


def close_app(app: Flask) -> None:
    """Stop the app's job threads and close its database connections (on PostgreSQL: drop its database)."""
    app.extensions[JOBS_KEY].stop()
    with app.app_context():
        db.engine.dispose()
    marker = Path(app.config["DATA_DIR"]) / ".test-database"
    if _postgres and marker.exists() and app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        _postgres[0].psql(f'DROP DATABASE IF EXISTS "{marker.read_text()}" WITH (FORCE)')
        marker.unlink()


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

"""Deployment settings: rate limits shared through Redis, CORS, security headers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend.conftest import PASSWORD, AppFactory


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on 127.0.0.1 (Debian package redis-server)."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed: tools/install_debian.sh redis-server"
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_rate_limit_is_shared_by_processes_through_redis(make_app: AppFactory, tmp_path: Path, redis_url: str) -> None:
    """Two apps (as two gunicorn workers would be) count one client's logins together."""
    env = {"RATELIMIT_ENABLED": "true", "AUTH_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": redis_url}
    first = make_app(data_dir=tmp_path / "shared", **env).test_client()
    second = make_app(data_dir=tmp_path / "shared", **env).test_client()
    login = {"mail": "x@example.org", "password": PASSWORD}
    codes = [client.post("/login", data=login).status_code for client in (first, second, first, second)]
    assert codes == [401, 401, 401, 429]


def test_default_rate_limits_are_shared_by_processes(make_app: AppFactory, tmp_path: Path) -> None:
    """The default store (a SQLite file in DATA_DIR): two processes on one data folder count together."""
    env = {"RATELIMIT_ENABLED": "true", "AUTH_RATE_LIMIT": "3 per minute"}
    first = make_app(data_dir=tmp_path / "shared", **env).test_client()
    second = make_app(data_dir=tmp_path / "shared", **env).test_client()
    login = {"mail": "x@example.org", "password": PASSWORD}
    codes = [client.post("/login", data=login).status_code for client in (first, second, first, second)]
    assert codes == [401, 401, 401, 429]
    assert (tmp_path / "shared" / "ratelimits.sqlite3").is_file()


def test_cors_only_for_configured_origins(make_app: AppFactory) -> None:
    client = make_app(CORS_ORIGINS="http://localhost:4200, https://drums.example.org").test_client()
    allowed = client.get("/health", headers={"Origin": "http://localhost:4200"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:4200"
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    assert "Content-Range" in allowed.headers["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/get/libraries", headers={"Origin": "https://drums.example.org", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://drums.example.org"
    other = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_security_headers_on_every_answer(client) -> None:  # type: ignore[no-untyped-def]
    for response in (client.get("/health"), client.get("/get/libraries"), client.get("/nope")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.mimetype == "application/json"


def test_processes_starting_together_share_one_secret(tmp_path: Path) -> None:
    """Server processes that start at once never read a half-written secret file, and all get the same secret."""
    from concurrent.futures import ProcessPoolExecutor

    from backend.config import load_or_create_secret

    for attempt in range(5):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        with ProcessPoolExecutor(max_workers=4) as pool:
            found = set(pool.map(load_or_create_secret, [folder] * 8))
        assert len(found) == 1 and len(found.pop()) >= 32
        assert oct((folder / "secret_key").stat().st_mode & 0o777) == "0o600"
        assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no temporary left behind

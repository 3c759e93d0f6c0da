"""The production server (gunicorn with backend/gunicorn_conf.py, two workers) on 127.0.0.1: limits that hold
across worker processes, request sizes real clients send, no control socket outside DATA_DIR (findings 6, 13)."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import requests

from tests.backend.conftest import PASSWORD
from tests.backend.test_restart import Server


def unix_sockets(pid: int) -> set[str]:
    """Paths of the unix sockets the process group of ``pid`` listens on."""
    paths: set[str] = set()
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        for connection in process.net_connections(kind="unix"):
            if connection.laddr:
                paths.add(str(connection.laddr))
    return paths


def test_production_server_limits(tmp_path: Path) -> None:
    data_dir = tmp_path / "instance"
    data_dir.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    server = Server(data_dir, workers=2, RATELIMIT_ENABLED="true", HOME=str(home), XDG_RUNTIME_DIR="")
    try:
        # Finding 13: a 10 KB header and a 6 KB URL reach the app (JSON answers, not gunicorn's HTML 431/414).
        health = requests.get(f"{server.url}/health", headers={"X-Long": "a" * 10_000}, timeout=30)
        assert health.status_code == 200 and health.json()["database"] is True
        long_url = requests.get(f"{server.url}/sample/Drums/{'n' * 6000}.wav", timeout=30)
        assert long_url.status_code == 401 and "message" in long_url.json()

        # Finding 13: no control socket (gunicorn >= 25.1 opens one at a shared path per host by default).
        assert not (home / ".gunicorn").exists()
        assert {p for p in unix_sockets(server.process.pid) if not p.startswith(str(data_dir))} == set()

        # Finding 6: the documented 10 logins a minute per client hold with two worker processes.
        codes = [
            requests.post(
                f"{server.url}/login", data={"mail": "nobody@example.org", "password": PASSWORD}, timeout=30
            ).status_code
            for _ in range(14)
        ]
        assert codes == [401] * 10 + [429] * 4, codes
    finally:
        server.stop()
    log = next(data_dir.glob("gunicorn-*.log")).read_text()
    assert '"POST /login HTTP/1.1" 429' in log  # the access log
    assert os.path.isfile(data_dir / "ratelimits.sqlite3")

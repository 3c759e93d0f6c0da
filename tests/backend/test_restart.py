"""A server killed in the middle of an analysis resumes the job on restart: every sample analysed exactly once.

Runs the production setup of ``make run``: gunicorn serving ``backend.wsgi:app`` on 127.0.0.1 and a local worker
process (``backend.local_worker``), SIGKILL of their whole process group while the job is half done, then a restart
with two worker processes (both sweep for orphaned jobs; only one may take it).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.backend.conftest import PASSWORD, drum_kit

ROOT = Path(__file__).resolve().parents[2]
N_SAMPLES = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn and ``job_workers`` local worker processes (as ``make run`` starts them) in one process group, logging
    to a file; the web processes never analyse (``ANALYSIS_IN_PROCESS`` false)."""

    def __init__(self, data_dir: Path, workers: int, job_workers: int = 1, **extra_env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "RATELIMIT_ENABLED": "false",
            "ANALYSIS_CHUNK": "1",
            "ANALYSIS_PAUSE_SECONDS": "0.3",
            "JOB_POLL_SECONDS": "0.5",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **extra_env,
            "ANALYSIS_IN_PROCESS": "false",
        }
        self.log = open(data_dir / f"gunicorn-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        python = shlex.quote(sys.executable)
        gunicorn = f"{python} -m gunicorn -c backend/gunicorn_conf.py -b 127.0.0.1:{self.port} -w {workers}"
        # as make run: the worker processes in the background, gunicorn in their shell's place (one process group)
        script = f"for i in $(seq {job_workers}); do {python} -m backend.local_worker & done; "
        self.process = subprocess.Popen(
            ["bash", "-c", script + f"exec {gunicorn} --timeout 300 backend.wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited during start-up"
            try:
                if requests.get(f"{self.url}/health", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not answer /health")

    def wait_group(self, limit: float) -> bool:
        """Wait until no process of the group is left (the worker processes are not our children); True when so."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.wait_group(30)
        self.log.close()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        if not self.wait_group(30):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.wait_group(10)
        self.process.wait()
        self.log.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def poll_job(server: Server, headers: dict[str, str], job: str, until: str, limit: float = 300.0) -> dict:
    """The job's body once ``until`` ("progress" or "done") holds (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        body = requests.get(f"{server.url}/jobs/{job}", headers=headers, timeout=10).json()
        if until == "progress" and body["done"] >= 2:
            return body
        if until == "done" and body["state"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job} never reached {until!r}")


@pytest.mark.slow
def test_analysis_killed_mid_way_resumes_after_restart_exactly_once(tmp_path: Path, servers: list[Server]) -> None:
    data_dir = tmp_path / "instance"
    data_dir.mkdir()
    files = drum_kit(tmp_path / "kit", N_SAMPLES)

    first = Server(data_dir, workers=1)
    servers.append(first)
    token = requests.post(
        f"{first.url}/register", data={"mail": "kill@example.org", "password": PASSWORD}, timeout=30
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for path in files:
        with open(path, "rb") as fh:
            response = requests.post(
                f"{first.url}/upload/Kit", files={"file": (path.name, fh)}, headers=headers, timeout=30
            )
        assert response.status_code == 200, response.text
    started = requests.get(f"{first.url}/analyze/Kit", headers=headers, timeout=30)
    assert started.status_code == 200
    job = started.json()["job"]
    progress = poll_job(first, headers, job, "progress")
    first.kill()

    db = sqlite3.connect(data_dir / "drumsampler.db")
    state, done = db.execute("SELECT state, done FROM job WHERE id = ?", (job,)).fetchone()
    analysed = db.execute("SELECT COUNT(*) FROM sample WHERE analyzed_hash = content_hash").fetchone()[0]
    db.close()
    assert state == "running", "the job must have been interrupted"
    assert progress["done"] <= done == analysed < N_SAMPLES

    second = Server(data_dir, workers=2, job_workers=2)
    servers.append(second)
    final = poll_job(second, headers, job, "done")
    assert final["state"] == "done", final
    assert final["done"] == final["total"] == N_SAMPLES
    assert final["failed"] == []

    db = sqlite3.connect(data_dir / "drumsampler.db")
    rows = db.execute("SELECT name, analysis_runs, analyzed_hash = content_hash, auto_tag FROM sample").fetchall()
    db.close()
    assert len(rows) == N_SAMPLES
    for name, runs, current, tag in rows:
        assert runs == 1, f"{name} was analysed {runs} times"
        assert current == 1 and tag, name
    listing = requests.get(f"{second.url}/get/library/Kit", headers=headers, timeout=30).json()
    assert all(s["tags"] and s["tags"][0][1] == "auto" for s in listing["samples"])

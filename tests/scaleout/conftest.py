"""The scale-out stack of the tests: a real PostgreSQL and a real redis-server (Debian's packages, temporary data
directories on 127.0.0.1, stopped at the end), Celery worker processes and gunicorn, all sharing one ``DATA_DIR``."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from backend.scaleout import ROOT, Postgres, Redis, celery_worker, free_port, missing_programs, services_env


@dataclass
class Stack:
    """The services of one scale-out test and the processes started on them."""

    folder: Path
    postgres: Postgres
    redis: Redis
    env: dict[str, str]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    web: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """A Celery worker process named ``name`` (its log: ``folder/<name>.log``)."""
        with open(self.folder / f"{name}.log", "ab") as log:
            self.workers[name] = celery_worker(self.env, name, log)
        return self.workers[name]

    def worker_log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def wait_ready(self, *names: str, timeout: float = 300) -> None:
        """Until each worker has logged Celery's ``<name>@<host> ready.``, which follows its warm-up (TensorFlow and
        the tagger loaded): a job started before would go whole to whichever worker is ready first."""
        deadline = time.monotonic() + timeout
        waiting = set(names)
        while waiting:
            for name in sorted(waiting):
                process = self.workers[name]
                assert process.poll() is None, f"worker {name} exited:\n{self.worker_log(name)[-3000:]}"
                if re.search(rf"\b{re.escape(name)}@\S+ ready\.", self.worker_log(name)):
                    waiting.discard(name)
            assert time.monotonic() < deadline, f"workers {sorted(waiting)} not ready after {timeout:.0f} s"
            time.sleep(0.2)

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker's whole process group (no chance to acknowledge or give back anything)."""
        process = self.workers[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def start_web(self, workers: int = 1) -> str:
        """gunicorn as ``make run`` starts it, on a free port; its URL once ``/health`` answers."""
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "-c", "backend/gunicorn_conf.py", "-b", f"127.0.0.1:{port}"]
        with open(self.folder / "gunicorn.log", "ab") as log:
            self.web = subprocess.Popen(
                [*command, "-w", str(workers), "backend.wsgi:app"],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.web.poll() is None, (self.folder / "gunicorn.log").read_text(errors="replace")[-3000:]
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return self.url
            time.sleep(0.2)
        raise AssertionError("gunicorn did not answer /health")

    def stop(self) -> None:
        for process in [*self.workers.values(), *([self.web] if self.web else [])]:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


@contextlib.contextmanager
def open_stack(folder: Path, **env: str) -> Iterator[Stack]:
    """PostgreSQL + Redis on 127.0.0.1 with their data in ``folder``; everything started on them is stopped at the end
    (the rate limits off; ``env`` added to the processes' environment)."""
    postgres = Postgres(folder / "postgres")
    redis = Redis(folder / "redis")
    try:
        postgres.start()
        redis.start()
        shared = services_env(postgres, redis, folder / "data")
        quiet = {"RATELIMIT_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
        built = Stack(folder, postgres, redis, {**shared, **quiet, **env})
        try:
            yield built
        finally:
            built.stop()
    finally:
        redis.stop()
        postgres.stop()


@pytest.fixture
def stack() -> Iterator[Stack]:
    """:func:`open_stack` in a temporary folder, removed at the end."""
    missing = missing_programs()
    if missing:
        packages = " ".join(missing)
        pytest.skip(f"scale-out needs Debian's {packages} (tools/install_debian.sh {packages}): not installed")
    folder = Path(tempfile.mkdtemp(prefix="drumsampler-scaleout-"))
    try:
        with open_stack(folder) as built:
            yield built
    finally:
        shutil.rmtree(folder, ignore_errors=True)

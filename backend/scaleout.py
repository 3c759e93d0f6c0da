"""Scale-out on one machine without Docker: ``python -m backend.scaleout --workers N`` (``make scale-out WORKERS=N``).

Starts PostgreSQL and Redis from Debian's packages (``postgresql``, ``redis-server``) with data directories in a
temporary folder, listening on 127.0.0.1 only (free ports), then N Celery workers (``celery -A backend.worker worker``,
one process each) and gunicorn; Ctrl-C or SIGTERM stops them all and removes the temporary folder. The same
:class:`Postgres`, :class:`Redis` and :func:`celery_worker` start the services of the scale-out tests and
``bench/scaleout.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PG_USER = "drumsampler"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (Debian: /usr/lib/postgresql/<version>/bin), None when missing."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_programs() -> list[str]:
    """The Debian packages the scale-out needs that this machine lacks (empty when it has them)."""
    missing = [] if pg_bin() else ["postgresql"]
    return missing + ([] if shutil.which("redis-server") else ["redis-server"])


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, limit: float = 30.0) -> None:
    """Signal a process started in its own session (and its children), wait; SIGKILL after ``limit`` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(limit)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Postgres:
    """A private PostgreSQL cluster in ``folder`` on 127.0.0.1:``port`` (trust authentication for 127.0.0.1 only).

    PostgreSQL refuses to run as root: as root, the cluster belongs to Debian's ``postgres`` user.
    """

    def __init__(self, folder: Path, port: int | None = None) -> None:
        binaries = pg_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL is missing: tools/install_debian.sh postgresql")
        self.bin = binaries
        self.folder = folder
        self.port = port or free_port()
        self.data = folder / "pgdata"
        self.log = folder / "postgres.log"
        self._as: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, cwd="/")

    def start(self, timeout: float = 60.0) -> Postgres:
        """initdb, then start the server and create the database ``drumsampler``; returns self."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.folder.chmod(0o755)
            for parent in self.folder.parents:  # the server must be able to reach its folder
                if parent.stat().st_mode & 0o001 == 0:
                    parent.chmod(parent.stat().st_mode | 0o001)
            self._as = ["runuser", "-u", "postgres", "--"]
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8")
        options = f"-F -h 127.0.0.1 -p {self.port} -k {self.folder} -c max_connections=200 -c fsync=off"
        log = open(self.log, "ab")  # noqa: SIM115 - the server's output, open while it runs
        self.process = subprocess.Popen(
            [*self._as, str(self.bin / "postgres"), "-D", str(self.data), *options.split()],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/",
        )
        log.close()
        deadline = time.monotonic() + timeout
        while subprocess.run(
            [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, "-q"], check=False
        ).returncode:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        self.create_database("drumsampler")
        return self

    def psql(self, sql: str, database: str = "postgres") -> None:
        """Run one SQL command as the cluster's superuser."""
        command = [str(self.bin / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
        subprocess.run(
            [*command, "-p", str(self.port), "-U", PG_USER, "-d", database, "-c", sql], check=True, capture_output=True
        )

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` when given) unless it exists; its URL."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.psql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def url(self, database: str = "drumsampler") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3)."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server (fast shutdown)."""
        if self.process is not None:
            _stop(self.process, signal.SIGINT)


class Redis:
    """A private redis-server on 127.0.0.1:``port``, nothing persisted (its queue lives as long as it does)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: tools/install_debian.sh redis-server")
        self.binary = binary
        self.folder = folder
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Redis:
        """Start the server and wait until it answers; returns self."""
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", ""]
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - the server's output, open while it runs
        self.process = subprocess.Popen(
            [self.binary, *args, "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)

    def url(self, db: int = 0) -> str:
        """The ``redis://`` URL of database ``db``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None:
            _stop(self.process)


def services_env(postgres: Postgres, redis: Redis, data_dir: Path) -> dict[str, str]:
    """What every web and worker process of a stack shares: database, broker, result and limiter stores, DATA_DIR."""
    return {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": postgres.url(),
        "CELERY_BROKER_URL": redis.url(0),
        "CELERY_RESULT_BACKEND": redis.url(1),
        "RATELIMIT_STORAGE_URI": redis.url(2),
    }


def celery_worker(
    env: Mapping[str, str], name: str, log: IO[bytes], extra: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """One Celery worker process (``--pool solo``: the process that runs the tasks is the one started), in its own
    session so that it can be killed whole."""
    command = [sys.executable, "-m", "celery", "-A", "backend.worker", "worker", "--pool", "solo", "--concurrency", "1"]
    return subprocess.Popen(
        [*command, "--hostname", f"{name}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle", *extra],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start PostgreSQL, Redis, the Celery workers and gunicorn; stop them all on Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m backend.scaleout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--dir", type=Path, help="keep the services' data here (default: a temporary folder)")
    args = parser.parse_args(argv)
    folder = args.dir.resolve() if args.dir else Path(tempfile.mkdtemp(prefix="drumsampler-scaleout-"))
    temporary = args.dir is None
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    processes: list[subprocess.Popen[bytes]] = []
    postgres = Postgres(folder / "postgres", port=None)
    redis = Redis(folder / "redis")
    try:
        postgres.start()
        redis.start()
        env = services_env(postgres, redis, folder / "data")
        print(f"PostgreSQL {postgres.url()}\nRedis {redis.url()}\nDATA_DIR {env['DATA_DIR']}", flush=True)
        log = open(folder / "workers.log", "ab")  # noqa: SIM115 - the workers' output, open while they run
        threads = str(max(1, (os.cpu_count() or 1) // max(1, args.workers)))  # the cores shared out (bench/scaleout)
        names = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")
        per_worker = {name: os.environ.get(name, threads) for name in names}
        for i in range(args.workers):
            processes.append(celery_worker({**env, **per_worker}, f"worker{i + 1}", log))
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "backend/gunicorn_conf.py", "--bind"]
        gunicorn += [f"{args.host}:{args.port}", "--workers", str(args.web_workers), "backend.wsgi:app"]
        processes.append(subprocess.Popen(gunicorn, cwd=ROOT, env={**os.environ, **env}, start_new_session=True))
        print(f"{args.workers} Celery worker(s) (log: {folder / 'workers.log'}); serving http://{args.host}:{args.port}")
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            _stop(process)
        redis.stop()
        postgres.stop()
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

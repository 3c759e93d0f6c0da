"""Background jobs: one interface (``submit(job_id)``, ``complete``), two backends.

Without a broker, the job table is the queue: the local worker process (``python -m backend.local_worker``, or the
threads of this process when ``ANALYSIS_IN_PROCESS`` is set, as in the tests) runs a pool of daemon threads plus a
sweeper that takes queued jobs and resumes orphaned ones. With ``CELERY_BROKER_URL``, ``submit`` hands the job to
Celery workers (``backend.worker``). The web server itself never analyses, so it never loads TensorFlow.

A job is claimed with a compare-and-swap on its ``owner`` column, so any number of processes (gunicorn
workers, or separate worker processes of a scale-out setup) can share one database: each job runs in
exactly one place. A job whose owner died (a process killed mid-analysis on this host, or one whose
heartbeat went stale) is claimed again by the next sweep and continues where its last commit left it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Iterator

from flask import Flask
from sqlalchemy import select, update

from ..errors import ApiError
from ..extensions import db
from ..models import Job, SampleLibrary, utcnow
from ..services import analysis
from ..services.processes import pid_alive

log = logging.getLogger("backend.jobs")
HOST = socket.gethostname()
WAIT_POLL_SECONDS = 0.25
PRUNE_EVERY_SECONDS = 3600.0


def lower_priority(nice: int) -> None:
    """Give the calling thread (and the threads it starts: TensorFlow's pools) ``nice`` more niceness, so that the
    CPU goes to request threads first while an analysis runs (Linux: niceness is per thread)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))


def owner_is_gone(owner: str | None, heartbeat: float | None, stale_seconds: float) -> bool:
    """Whether a running job's owner can no longer be working on it."""
    if owner is None:
        return True
    if heartbeat is None or time.time() - heartbeat > stale_seconds:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return host == HOST and pid.isdigit() and not pid_alive(int(pid))


def claim(job_id: str, owner: str, stale_seconds: float) -> bool:
    """Take job ``job_id`` for ``owner`` if it is queued or its owner is gone; True when taken."""
    job = db.session.get(Job, job_id)
    if job is None or job.state not in analysis.ACTIVE:
        db.session.rollback()
        return False
    if job.owner == owner:
        db.session.rollback()
        return False
    if job.state == "running" and not owner_is_gone(job.owner, job.heartbeat, stale_seconds):
        db.session.rollback()
        return False
    previous = job.owner
    condition = Job.owner.is_(None) if previous is None else Job.owner == previous
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id, condition, Job.state.in_(analysis.ACTIVE))
        .values(owner=owner, state="running", heartbeat=time.time(), started_at=job.started_at or utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


class JobRunner:
    """Runs analysis jobs of one app on ``ANALYSIS_WORKERS`` daemon threads (``start`` also starts the sweeper) when
    this process is a local worker (``ANALYSIS_IN_PROCESS``); otherwise only queues them and waits for them."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.in_process = app.config["ANALYSIS_IN_PROCESS"]
        self.celery = bool(app.config["CELERY_BROKER_URL"]) and not self.in_process
        self.workers = app.config["ANALYSIS_WORKERS"]
        self.poll = app.config["JOB_POLL_SECONDS"]
        self.stale = app.config["JOB_STALE_SECONDS"]
        self.owner = ""
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._stop = threading.Event()
        self._warm = threading.Event()
        self._waiting: dict[int, int] = {}
        self._pruned_at = 0.0
        self._threads: list[threading.Thread] = []

    def start(self, warm_up: bool = False) -> None:
        """Start the worker threads and the sweeper in this process (idempotent, fork-aware).

        With ``warm_up``, the first worker thread first loads the tagger (see :meth:`wait_warm`). Nothing to start
        in a process that is no worker (the web server): its jobs run elsewhere.
        """
        if self._pid == os.getpid() or not self.in_process:
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.owner = f"{HOST}:{self._pid}:{uuid.uuid4().hex[:12]}"
            self._queue = queue.SimpleQueue()
            self._stop = threading.Event()
            self._warm = threading.Event()
            if not warm_up:
                self._warm.set()
            self._threads = [
                threading.Thread(target=self._work, args=(warm_up and i == 0,), name=f"analysis-{i}", daemon=True)
                for i in range(self.workers)
            ]
            self._threads.append(threading.Thread(target=self._sweep, name="analysis-sweeper", daemon=True))
            for thread in self._threads:
                thread.start()

    def wait_warm(self, timeout: float) -> bool:
        """Wait until the warm-up asked of :meth:`start` is over (True), at most ``timeout`` seconds.

        The server process calls it before it serves: TensorFlow's import and the first analysis's tracing
        hold the interpreter lock for seconds, which would stall every request thread of the process.
        """
        return self._warm.wait(timeout)

    def stop(self) -> None:
        """Ask the threads to stop after their current chunk (jobs stay claimable by others)."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds in all) for the threads that :meth:`stop` asked to stop."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def submit(self, job_id: str) -> None:
        """Run job ``job_id`` in the background, unless another worker already holds it.

        Local worker threads of this process take it at once; Celery workers get it through the broker; otherwise
        it stays queued in the job table, where the local worker process's sweep finds it.
        """
        if self.celery:
            from .dispatch import send

            send(job_id)
        elif self.in_process:
            self.start()
            self._queue.put(job_id)

    @contextlib.contextmanager
    def waiting_slot(self, user_id: int) -> Iterator[None]:
        """Count one request of ``user_id`` waiting for an analysis; 429 beyond the per-user and per-process caps.

        A waiting request holds a server thread: the caps keep threads free for everyone else.
        """
        per_user = self.app.config["MAX_WAITS_PER_USER"]
        with self._lock:
            if self._waiting.get(user_id, 0) >= per_user:
                raise ApiError(
                    429,
                    f"you already have {per_user} requests waiting for an analysis; wait for them, "
                    "or follow the analysis with GET /analyze and GET /jobs/<id>",
                )
            if sum(self._waiting.values()) >= self.app.config["MAX_WAITS_PER_PROCESS"]:
                raise ApiError(429, "the server is busy waiting for other analyses; try again in a few seconds")
            self._waiting[user_id] = self._waiting.get(user_id, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting[user_id] -= 1
                if not self._waiting[user_id]:
                    del self._waiting[user_id]

    def complete(self, user_id: int, library_id: int) -> None:
        """Wait until everything pending in the library is analysed by the background workers.

        The calling (request) thread never analyses: it queues the library's job and waits for it, holding one
        of the user's waiting slots (see :meth:`waiting_slot`). 503 when the analysis fails or is still running
        after ``TAGS_WAIT_SECONDS``.
        """
        if analysis.active_job(library_id) is None and analysis.count_pending(library_id) == 0:
            db.session.rollback()
            return
        deadline = time.monotonic() + self.app.config["TAGS_WAIT_SECONDS"]
        with self.waiting_slot(user_id):
            while True:
                job = analysis.active_job(library_id)
                if job is None:
                    if analysis.count_pending(library_id) == 0:
                        db.session.rollback()
                        return
                    library = db.session.get(SampleLibrary, library_id)
                    if library is None:
                        return
                    job = analysis.create_job(user_id, library)
                    if job.state in analysis.ACTIVE:
                        self.submit(job.id)
                elif job.state == "queued" and job.owner is None:
                    self.submit(job.id)  # a worker of this process takes it unless another one has
                job_id = job.id
                db.session.rollback()
                if self._wait_for(job_id, deadline):
                    finished = db.session.get(Job, job_id)
                    if finished is not None and finished.state == "failed":
                        raise ApiError(503, finished.message or "analysis failed")
                    continue
                raise ApiError(503, f"the analysis (job {job_id}) is still running; try again later")

    def _wait_for(self, job_id: str, deadline: float) -> bool:
        """Poll job ``job_id`` until it is no longer active (True) or the deadline passes (False)."""
        while time.monotonic() < deadline:
            job = db.session.get(Job, job_id)
            state = None if job is None else job.state
            db.session.rollback()
            if state not in analysis.ACTIVE:
                return True
            time.sleep(WAIT_POLL_SECONDS)
        return False

    def _run(self, job_id: str) -> None:
        try:
            analysis.run_job(job_id, self.owner, self._stop.is_set)
        except Exception as exc:
            log.exception("analysis job %s failed", job_id)
            analysis.fail_job(job_id, f"analysis failed: {type(exc).__name__}: {exc}")

    def _work(self, warm_up: bool = False) -> None:
        lower_priority(self.app.config["ANALYSIS_NICE"])  # before TensorFlow starts its threads from this one
        if warm_up:
            with self.app.app_context():
                try:
                    analysis.warm_up()
                except Exception:
                    log.exception("warming up the tagger failed; the first analysis will load it")
                finally:
                    self._warm.set()
                    db.session.remove()
        while not self._stop.is_set():
            try:
                job_id = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            with self.app.app_context():
                try:
                    if claim(job_id, self.owner, self.stale):
                        self._run(job_id)
                except Exception:
                    log.exception("could not run job %s", job_id)
                finally:
                    db.session.remove()

    def claimable(self) -> list[str]:
        """Jobs that nobody is working on: queued ones, and running ones whose owner is gone."""
        rows = db.session.execute(
            select(Job.id, Job.state, Job.owner, Job.heartbeat).where(Job.state.in_(analysis.ACTIVE))
        )
        ids = [
            job_id
            for job_id, state, owner, heartbeat in rows
            if (state == "queued" and owner is None)
            or (owner != self.owner and owner_is_gone(owner, heartbeat, self.stale))
        ]
        db.session.rollback()
        return ids

    def _sweep(self) -> None:
        while not self._stop.is_set():
            with self.app.app_context():
                try:
                    for job_id in self.claimable():
                        self._queue.put(job_id)
                    if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS or not self._pruned_at:
                        self._pruned_at = time.monotonic()
                        analysis.prune_jobs(self.app.config["JOB_RETENTION_DAYS"])
                except Exception:
                    log.exception("job sweep failed")
                finally:
                    db.session.remove()
            if self._stop.wait(self.poll if self.poll > 0 else 3600):
                return

"""Background jobs: a pool of daemon threads behind ``submit(job_id)``, plus a sweeper that resumes jobs.

A job is claimed with a compare-and-swap on its ``owner`` column, so any number of processes (gunicorn
workers, or separate worker processes of a scale-out setup) can share one database: each job runs in
exactly one place. A job whose owner died (a process killed mid-analysis on this host, or one whose
heartbeat went stale) is claimed again by the next sweep and continues where its last commit left it.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid

from flask import Flask
from sqlalchemy import select, update

from ..errors import ApiError
from ..extensions import db
from ..models import Job, SampleLibrary, utcnow
from ..services import analysis

log = logging.getLogger("backend.jobs")
HOST = socket.gethostname()


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host is running (zombies count as dead)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[-1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_is_gone(owner: str | None, heartbeat: float | None, stale_seconds: float) -> bool:
    """Whether a running job's owner can no longer be working on it."""
    if owner is None:
        return True
    if heartbeat is None or time.time() - heartbeat > stale_seconds:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    return host == HOST and pid.isdigit() and not _pid_alive(int(pid))


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
    """Runs analysis jobs of one app on ``ANALYSIS_WORKERS`` daemon threads; ``start`` also starts the sweeper."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.workers = app.config["ANALYSIS_WORKERS"]
        self.poll = app.config["JOB_POLL_SECONDS"]
        self.stale = app.config["JOB_STALE_SECONDS"]
        self.owner = ""
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        """Start the worker threads and the sweeper in this process (idempotent, fork-aware)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.owner = f"{HOST}:{self._pid}:{uuid.uuid4().hex[:12]}"
            self._queue = queue.SimpleQueue()
            self._stop = threading.Event()
            for i in range(self.workers):
                threading.Thread(target=self._work, name=f"analysis-{i}", daemon=True).start()
            threading.Thread(target=self._sweep, name="analysis-sweeper", daemon=True).start()

    def stop(self) -> None:
        """Ask the threads to stop after their current chunk (jobs stay claimable by others)."""
        self._stop.set()

    def submit(self, job_id: str) -> None:
        """Run job ``job_id`` in the background, unless another worker already holds it."""
        self.start()
        self._queue.put(job_id)

    def run_inline(self, job_id: str) -> bool:
        """Run job ``job_id`` in the calling thread if it can be claimed; True when it ran here."""
        self.start()
        if not claim(job_id, self.owner, self.stale):
            return False
        self._run(job_id)
        return True

    def complete(self, user_id: int, library_id: int) -> None:
        """Analyse everything pending in the library now: run its job here, or wait for the worker that holds it.

        Raises 503 when the analysis fails or is still running after ``TAGS_WAIT_SECONDS``.
        """
        deadline = time.monotonic() + self.app.config["TAGS_WAIT_SECONDS"]
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
            job_id = job.id
            if self.run_inline(job_id):
                job = db.session.get(Job, job_id)
                if job is not None and job.state == "failed":
                    raise ApiError(503, job.message or "analysis failed")
                continue
            db.session.rollback()
            if time.monotonic() > deadline:
                raise ApiError(503, f"the analysis (job {job_id}) is still running; try again later")
            time.sleep(0.2)

    def _run(self, job_id: str) -> None:
        try:
            analysis.run_job(job_id, self.owner, self._stop.is_set)
        except Exception as exc:
            log.exception("analysis job %s failed", job_id)
            analysis.fail_job(job_id, f"analysis failed: {type(exc).__name__}: {exc}")

    def _work(self) -> None:
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
                except Exception:
                    log.exception("job sweep failed")
                finally:
                    db.session.remove()
            if self._stop.wait(self.poll if self.poll > 0 else 3600):
                return

"""Celery workers: ``celery -A backend.worker worker --pool solo --concurrency 1`` (one process per worker; run as many
as the machines allow, each with the same ``DATABASE_URL``, ``CELERY_BROKER_URL`` and shared ``DATA_DIR``).

A job is planned by ``drumsampler.plan``: the library's pending samples are split into chunks of ``ANALYSIS_CHUNK``,
one ``drumsampler.analyse_chunk`` task each, run as a chord whose callback is the plan again (samples uploaded or
changed meanwhile make another round; none pending finishes the job). A chunk is idempotent: it analyses only those of
its samples still pending and stores each result with a conditional update, so a task run twice (a worker killed after
its commit, before its acknowledgement) stores nothing twice. Tasks are acknowledged late and retried with back-off.
"""

from __future__ import annotations

import hashlib
import logging
import time

from celery import Task, chord, signals
from sqlalchemy import select, update

from . import create_app, upgrade_database
from .extensions import db
from .jobs.dispatch import CELERY_OWNER, CHUNK_TASK, PLAN_TASK, celery_app, send
from .models import Job, SampleLibrary
from .services import analysis

log = logging.getLogger("backend.worker")
MAX_RETRIES = 6

flask_app = create_app()
celery = celery_app(flask_app.config)


def backoff(retries: int) -> int:
    """Seconds before retry number ``retries + 1``: 2, 4, 8, ... at most 60."""
    return min(60, 2 ** (retries + 1))


def _digest(ids: list[int]) -> str:
    return hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()


@signals.worker_init.connect
def _migrate(**_: object) -> None:
    """Bring the schema up to date before taking tasks (the web server does too; both under the same locks)."""
    upgrade_database(flask_app)


@signals.worker_ready.connect
def _recover(**_: object) -> None:
    """Take up Celery jobs whose tasks were lost (a broker emptied while they ran) and queued jobs nobody sent (the
    importer's): every active job without a heartbeat for ``JOB_STALE_SECONDS`` is planned again."""
    stale = time.time() - flask_app.config["JOB_STALE_SECONDS"]
    with flask_app.app_context():
        try:
            analysis.warm_up()  # TensorFlow and the tagger loaded before the first task
        except Exception:
            log.exception("warming up the tagger failed; the first task will load it")
        try:
            rows = db.session.execute(select(Job.id, Job.owner, Job.heartbeat).where(Job.state.in_(analysis.ACTIVE)))
            for job_id, owner, heartbeat in rows.all():
                if owner is None:
                    send(job_id)  # taken in one conditional update: workers starting together send it once
                elif owner == CELERY_OWNER and (heartbeat or 0) < stale and _take(job_id, heartbeat):
                    plan.delay(job_id)
            analysis.prune_jobs(flask_app.config["JOB_RETENTION_DAYS"])
        except Exception:
            log.exception("taking up lost jobs failed")
        finally:
            db.session.remove()


def _take(job_id: str, heartbeat: float | None) -> bool:
    """Renew the heartbeat of a stale Celery job if nobody did meanwhile (one of the workers starting together)."""
    taken = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.owner == CELERY_OWNER, Job.heartbeat.is_not_distinct_from(heartbeat))
        .values(heartbeat=time.time())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return taken.rowcount == 1


def _plan(job_id: str, previous: str | None) -> None:
    job = db.session.get(Job, job_id)
    if job is None or job.state not in analysis.ACTIVE:
        db.session.rollback()
        return
    library = db.session.get(SampleLibrary, job.library_id)
    ids = analysis.pending_ids(job.library_id) if library is not None else []
    if not ids:
        analysis.finish(job, library)
        return
    if previous == _digest(ids):  # a whole round stored nothing of these samples: they cannot be analysed
        db.session.rollback()
        analysis.fail_job(job_id, f"analysis failed: {len(ids)} sample(s) could not be stored after every retry")
        return
    job.owner, job.state, job.heartbeat = CELERY_OWNER, "running", time.time()
    job.total = job.done + len(ids)
    db.session.commit()
    size = flask_app.config["ANALYSIS_CHUNK"]
    chunks = [analyse_chunk.si(job_id, ids[i : i + size]) for i in range(0, len(ids), size)]
    chord(chunks)(plan.si(job_id, _digest(ids)))


@celery.task(name=PLAN_TASK, bind=True, max_retries=MAX_RETRIES)
def plan(self: Task, job_id: str, previous: str | None = None) -> None:
    """Split the job's pending samples into chunk tasks, or finish the job when none is left."""
    with flask_app.app_context():
        try:
            _plan(job_id, previous)
        except Exception as exc:
            db.session.rollback()
            if self.request.retries >= MAX_RETRIES:
                log.exception("planning job %s failed", job_id)
                analysis.fail_job(job_id, f"analysis failed: {type(exc).__name__}: {exc}")
                return
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from None
        finally:
            db.session.remove()


@celery.task(name=CHUNK_TASK, bind=True, max_retries=MAX_RETRIES)
def analyse_chunk(self: Task, job_id: str, sample_ids: list[int]) -> int:
    """Analyse the chunk's samples that are still pending (idempotent); how many were."""
    with flask_app.app_context():
        try:
            return analysis.run_chunk(job_id, sample_ids)
        except Exception as exc:
            db.session.rollback()
            if self.request.retries >= MAX_RETRIES:  # the samples stay pending: the plan's next round sees them
                log.exception("chunk of job %s failed after %d retries", job_id, MAX_RETRIES)
                return 0
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from None
        finally:
            db.session.remove()

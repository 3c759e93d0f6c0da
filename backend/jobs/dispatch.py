"""The Celery side of the job interface: the Celery app (shared by the web server, which only sends, and the workers)
and ``send``, which hands a queued job to the workers."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from flask import current_app
from sqlalchemy import func, update

from ..errors import ApiError
from ..extensions import db
from ..models import Job, utcnow

log = logging.getLogger("backend.jobs")
CELERY_OWNER = "celery"
PLAN_TASK = "drumsampler.plan"
CHUNK_TASK = "drumsampler.analyse_chunk"
QUEUE = "drumsampler"


@functools.cache
def _celery(broker: str, backend: str, visibility: float) -> Celery:
    app = Celery("drumsampler", broker=broker, backend=backend or broker)
    # a task lost with its worker is taken again by another once unacknowledged for `visibility` seconds (the
    # workers' sweep looks for such tasks every quarter of it)
    transport = {
        "visibility_timeout": visibility,
        "unacked_restore_interval": max(1.0, min(60.0, visibility / 4)),
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,  # acknowledged once done: a worker killed mid-task loses nothing
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker reserves one task at a time: the others take the rest
        task_track_started=False,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=24 * 3600,
        broker_transport_options=transport,
        result_backend_transport_options={"visibility_timeout": visibility},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


def celery_app(config: Mapping[str, Any]) -> Celery:
    """The Celery app for a Flask configuration (``CELERY_BROKER_URL``, ``CELERY_RESULT_BACKEND``, ...)."""
    return _celery(
        config["CELERY_BROKER_URL"], config["CELERY_RESULT_BACKEND"], float(config["CELERY_VISIBILITY_TIMEOUT"])
    )


def _where(url: str) -> str:
    """A broker URL without its credentials, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def send(job_id: str) -> bool:
    """Hand the queued job ``job_id`` to the Celery workers (once: the job is marked theirs in the same step); True
    when sent, False when it was no longer queued. 503 when the broker cannot be reached (the job stays queued)."""
    taken = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "queued", Job.owner.is_(None))
        .values(
            owner=CELERY_OWNER,
            state="running",
            heartbeat=time.time(),
            started_at=func.coalesce(Job.started_at, utcnow()),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if taken.rowcount != 1:
        return False
    config = current_app.config
    try:
        celery_app(config).send_task(PLAN_TASK, args=[job_id], retry=True, retry_policy={"max_retries": 2})
    except Exception as exc:
        log.exception("could not send job %s to the Celery broker", job_id)
        db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.owner == CELERY_OWNER, Job.state == "running")
            .values(owner=None, state="queued")
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        raise ApiError(
            503, f"the job queue ({_where(config['CELERY_BROKER_URL'])}) cannot be reached: {type(exc).__name__}"
        ) from None
    return True

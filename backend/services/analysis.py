"""Analysis of a library's new or changed samples with the Drumsample Tagger, in resumable chunks.

Each analysis stores the auto tag, the class likelihoods, the 200-d MusiCNN embedding and the 36
envelope and spectral-shape descriptors (``drumsamp_models.descriptors``) of the sound. A sample is
analysed when its ``analyzed_hash`` differs from its ``content_hash`` or its ``analyzed_model`` from
``tagger_model.model_id()`` (a new model or new descriptors re-analyse every sample). Each chunk's
results are stored with a conditional update in one transaction, together with the job's progress:
a process killed at any point loses at most the chunk in flight, and no sample is stored twice.

The same jobs give their waveform peaks (``services.waveforms``) to samples stored before waveforms existed
(``peaks`` NULL): such a sample is pending too, and counts in the job's ``done`` and ``total``, but when its
analysis is up to date only its audio is decoded again (a block at a time), the tagger does not run. Samples
stored before near-duplicate fingerprints existed (``fingerprint`` NULL, ``services.duplicates``) get theirs the
same way.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import soundfile as sf
from flask import current_app
from sqlalchemy import ColumnElement, Row, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import ApiError
from ..extensions import db
from ..models import Job, Sample, SampleLibrary, utcnow
from . import derived, duplicates, storage, tempo, waveforms
from .access import lock_library, touch
from .tagger_model import model_id, tagger

ACTIVE = ("queued", "running")
log = logging.getLogger("backend.analysis")


@dataclass(frozen=True)
class Outcome:
    """The analysis of one sound: results, or the reason it failed."""

    tag: str | None = None
    subclass: str | None = None
    likelihood: float | None = None
    likelihoods: dict[str, float] | None = None
    embedding: bytes | None = None
    descriptors: bytes | None = None
    non_drum: float | None = None
    error: str | None = None


def pending_filter(library_id: int) -> list[ColumnElement[bool]]:
    """SQL conditions selecting the samples of a library that need analysis, or only their waveform peaks, their
    near-duplicate fingerprint or (a drum loop) their tempo."""
    return [
        Sample.library_id == library_id,
        or_(_stale(), Sample.peaks.is_(None), Sample.fingerprint.is_(None), tempo.missing_filter()),
    ]


def _stale() -> ColumnElement[bool]:
    """Not analysed, analysed with other content, or analysed by another model."""
    return or_(
        Sample.analyzed_hash.is_(None),
        Sample.analyzed_hash != Sample.content_hash,
        Sample.analyzed_model.is_(None),
        Sample.analyzed_model != model_id(),
    )


def count_pending(library_id: int) -> int:
    """How many samples of the library need analysis."""
    return db.session.scalar(select(db.func.count(Sample.id)).where(*pending_filter(library_id))) or 0


def _float32_bytes(values: np.ndarray) -> bytes:
    """The raw float32 bytes the database stores for a vector."""
    return np.asarray(values, dtype=np.float32).tobytes()


def analyse_files(paths: list[str]) -> dict[str, Outcome]:
    """Tag and describe the audio files (one batch through MusiCNN); files that fail come back with their reason."""
    report = tagger().predict(paths)
    out: dict[str, Outcome] = {}
    for path, result in report.results.items():
        out[path] = Outcome(
            tag=result.tag,
            subclass=result.subclass,
            likelihood=float(max(result.likelihoods.values())),
            likelihoods={k: round(float(v), 6) for k, v in result.likelihoods.items()},
            embedding=_float32_bytes(result.embedding),
            descriptors=None if result.descriptors is None else _float32_bytes(result.descriptors),
            non_drum=result.non_drum,
        )
    for path, reason in report.failed.items():
        out[path] = Outcome(error=reason)
    for path in paths:
        out.setdefault(path, Outcome(error="no result from the tagger"))
    return out


def warm_up() -> None:
    """Analyse a generated half-second sound: loads TensorFlow and the tagger and compiles what the first
    analysis would (its import and tracing hold the interpreter lock for seconds), in the calling thread."""
    sr = 22050
    t = np.arange(sr // 2) / sr
    y = (0.5 * np.sin(2 * np.pi * 110 * t) * np.exp(-8 * t)).astype(np.float32)
    fd, path = tempfile.mkstemp(prefix="upload-warm-up-", suffix=".wav", dir=storage.tmp_dir())
    os.close(fd)
    try:
        sf.write(path, y, sr, subtype="PCM_16")
        analyse_files([path])
    finally:
        os.unlink(path)


def active_job(library_id: int) -> Job | None:
    """The library's queued or running job, if any."""
    return db.session.scalar(
        select(Job).where(Job.library_id == library_id, Job.state.in_(ACTIVE)).order_by(Job.created_at).limit(1)
    )


def latest_job(library_id: int) -> Job | None:
    """The library's most recent job, whatever its state."""
    return db.session.scalar(
        select(Job).where(Job.library_id == library_id).order_by(Job.created_at.desc(), Job.id).limit(1)
    )


def create_job(user_id: int, library: SampleLibrary) -> Job:
    """The library's active analysis job, or a new one; when nothing needs analysis, its last finished job.

    A library that is up to date gets no new row per call: its last ``done`` job answers (a new ``done`` job
    is made only when it has none).
    """
    job = active_job(library.id)
    if job is not None:
        return job
    pending = count_pending(library.id)
    if pending == 0:
        last = latest_job(library.id)
        if last is not None and last.state == "done":
            return last
    job = Job(id=uuid.uuid4().hex, user_id=user_id, library_id=library.id, total=pending, done=0, failed={})
    if pending == 0:
        job.state = "done"
        job.message = "nothing to analyse: every sample is up to date"
        job.started_at = job.finished_at = utcnow()
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:  # another request or process created the library's active job meanwhile
        db.session.rollback()
        existing = active_job(library.id)
        if existing is None:
            raise
        return existing
    return job


def prune_jobs(retention_days: float) -> int:
    """Delete finished jobs older than ``retention_days`` (each library's latest job is kept); how many."""
    cutoff = utcnow() - timedelta(days=retention_days)
    latest = (
        select(Job.library_id, db.func.max(Job.created_at).label("newest")).group_by(Job.library_id).subquery()
    )
    keep = select(Job.id).join(latest, (Job.library_id == latest.c.library_id) & (Job.created_at == latest.c.newest))
    result = db.session.execute(
        delete(Job)
        .where(Job.state.not_in(ACTIVE), Job.created_at < cutoff, Job.id.not_in(keep))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def get_job(user_id: int, job_id: str) -> Job:
    """The user's job ``job_id``, else 404 (another user's job looks missing)."""
    job = db.session.get(Job, job_id) if len(job_id) <= 32 else None
    if job is None or job.user_id != user_id:
        raise ApiError(404, f"no job {job_id!r}")
    return job


def job_body(job: Job) -> dict[str, object]:
    """A job as sent by ``GET /jobs/<id>``."""
    library = db.session.get(SampleLibrary, job.library_id)

    def iso(value: datetime | None) -> str | None:
        if value is None:
            return None
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat().replace("+00:00", "Z")

    return {
        "id": job.id,
        "library": library.name if library is not None else None,
        "state": job.state,
        "done": job.done,
        "total": max(job.total, job.done),
        "failed": [{"name": name, "reason": reason} for name, reason in sorted((job.failed or {}).items())],
        "message": job.message,
        "createdAt": iso(job.created_at),
        "startedAt": iso(job.started_at),
        "finishedAt": iso(job.finished_at),
    }


def _store(
    sample_id: int,
    content_hash: str,
    outcome: Outcome,
    wave: dict[str, bytes | None] | None = None,
    bpm: float | None = None,
) -> bool:
    """Store one result (and the waveform columns ``wave``, when computed, and the loop tempo ``bpm``: None for a
    sound that is no loop) if the sample still has that content and is still unanalysed; True when stored."""
    values: dict[str, object] = {
        **(wave or {}),
        "bpm": bpm,
        "analyzed_hash": content_hash,
        "analyzed_model": model_id(),
        "analyzed_at": utcnow(),
        "analysis_runs": Sample.analysis_runs + 1,
        "analysis_error": outcome.error,
        "auto_tag": outcome.tag,
        "subclass": outcome.subclass,
        "auto_likelihood": outcome.likelihood,
        "likelihoods": outcome.likelihoods,
        "embedding": outcome.embedding,
        "descriptors": outcome.descriptors,
        "non_drum": outcome.non_drum,
    }
    result = db.session.execute(
        update(Sample)
        .where(
            Sample.id == sample_id,
            Sample.content_hash == content_hash,
            _stale(),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _pending_rows(conditions: list[ColumnElement[bool]], limit: int | None) -> list[Row[Any]]:
    """The pending samples that ``conditions`` select, in id order, with what the analysis needs to know of them."""
    return list(
        db.session.execute(
            select(
                Sample.id,
                Sample.name,
                Sample.content_hash,
                Sample.format,
                _stale().label("stale"),
                Sample.peaks.is_(None).label("no_peaks"),
                Sample.fingerprint.is_(None).label("no_fingerprint"),
                Sample.user_class,
                tempo.missing_filter().label("no_bpm"),
            )
            .where(*conditions)
            .order_by(Sample.id)
            .limit(limit)
        ).all()
    )


def pending_ids(library_id: int) -> list[int]:
    """The ids of the library's pending samples, in order (what a Celery job splits into chunks)."""
    return list(db.session.scalars(select(Sample.id).where(*pending_filter(library_id)).order_by(Sample.id)))


def run_job(job_id: str, owner: str, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Analyse the job's library chunk by chunk while ``owner`` holds the job; then refresh derived data."""
    chunk = current_app.config["ANALYSIS_CHUNK"]
    pause = current_app.config["ANALYSIS_PAUSE_SECONDS"]
    while not should_stop():
        job = db.session.get(Job, job_id)
        if job is None or job.owner != owner or job.state != "running":
            db.session.rollback()
            return
        library = db.session.get(SampleLibrary, job.library_id)
        rows = _pending_rows(pending_filter(job.library_id), chunk)
        if not rows or library is None:
            finish(job, library)
            return
        if not _analyse_rows(job_id, job.user_id, rows, lambda job: job.owner == owner):
            return
        if pause:
            time.sleep(pause)
    db.session.rollback()


def run_chunk(job_id: str, sample_ids: list[int]) -> int:
    """Analyse those of ``sample_ids`` that are still pending, for an active job (a Celery task: idempotent, any
    number of them at once on one job); how many were pending."""
    job = db.session.get(Job, job_id)
    if job is None or job.state not in ACTIVE:
        db.session.rollback()
        return 0
    rows = _pending_rows([*pending_filter(job.library_id), Sample.id.in_(sample_ids)], None)
    if rows:
        _analyse_rows(job_id, job.user_id, rows, lambda job: job.state in ACTIVE)
    db.session.rollback()
    return len(rows)


def _analyse_rows(job_id: str, user_id: int, rows: list[Row[Any]], still_wanted: Callable[[Job], bool]) -> bool:
    """Compute what ``rows`` lack outside any transaction, then store it with the job's progress in one transaction
    (the job's row locked first: chunks of one job may commit at once); False when the job is no longer wanted."""
    db.session.rollback()  # no read transaction open during the computation
    paths = {row.id: str(storage.audio_path(user_id, row.content_hash, row.format)) for row in rows}
    stale = sorted({paths[row.id] for row in rows if row.stale})
    outcomes = analyse_files(stale) if stale else {}
    waves = {path: waveforms.compute(path) for path in sorted({paths[row.id] for row in rows if row.no_peaks})}
    unprinted = sorted({paths[row.id] for row in rows if row.no_fingerprint})
    prints = {path: duplicates.compute(path) for path in unprinted}
    bpms = {  # loops only: one-shots are never decoded for a tempo
        row.id: tempo.estimate_file(paths[row.id])
        for row in rows
        if tempo.wants_estimate(row.stale, row.no_bpm, row.user_class, outcomes.get(paths[row.id], Outcome()).tag)
    }
    db.session.execute(  # the job's row lock (PostgreSQL) or the database's write lock (SQLite) first
        update(Job).where(Job.id == job_id).values(heartbeat=time.time()).execution_options(synchronize_session=False)
    )
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None or not still_wanted(job):
        db.session.rollback()
        return False
    # then the library's row, before any of its samples': a request that edits a sample (its tags, class, tempo)
    # locks the library first too, so the two never wait for each other (PostgreSQL found that deadlock)
    lock_library(job.library_id)
    failed = dict(job.failed or {})
    stored = analysed = 0
    for row in rows:
        wave, wave_error = waves.get(paths[row.id], (None, None))
        if row.stale:
            outcome = outcomes[paths[row.id]]
            if _store(row.id, row.content_hash, outcome, wave, bpms.get(row.id)):
                stored += 1
                analysed += 1
                if outcome.error:
                    failed[row.name] = outcome.error
        elif wave is not None and waveforms.store_missing(row.id, row.content_hash, wave):
            stored += 1
            if wave_error:
                failed[row.name] = f"no waveform: {wave_error}"
        fingerprint, print_error = prints.get(paths[row.id], (None, None))
        if fingerprint is not None and duplicates.store_missing(row.id, row.content_hash, fingerprint):
            stored += not (row.stale or row.no_peaks)  # counted once: a sample that only lacked its fingerprint
            if print_error:
                failed.setdefault(row.name, f"no fingerprint: {print_error}")
        if not row.stale and row.id in bpms and tempo.store_missing(row.id, row.content_hash, bpms[row.id]):
            stored += not (row.no_peaks or row.no_fingerprint)  # counted once: a loop that only lacked its tempo
    job.done += stored
    job.failed = failed
    job.heartbeat = time.time()
    job.total = job.done + max(0, count_pending(job.library_id))
    library = db.session.get(SampleLibrary, job.library_id)
    if library is not None and stored:
        touch(library, content=bool(analysed))  # new peaks change the thumbnails' version, not the content
    db.session.commit()
    return True


def finish(job: Job, library: SampleLibrary | None) -> None:
    """Mark the job done (nothing left pending), then refresh the library's map and recommendations."""
    job.state = "done"
    job.finished_at = utcnow()
    job.total = job.done
    bad = len(job.failed or {})
    job.message = f"analysed {job.done} sample(s)" + (f", {bad} could not be analysed" if bad else "")
    job.owner = None
    db.session.commit()
    if library is not None:
        try:
            derived.refresh(library)
        except Exception:  # the analysis itself is stored; map and recommendations are rebuilt on their next read
            log.exception("refreshing the derived data of library %s failed", library.id)
            db.session.rollback()


def fail_job(job_id: str, message: str) -> None:
    """Mark a job failed (an unexpected error in the worker)."""
    db.session.rollback()
    job = db.session.get(Job, job_id)
    if job is not None:
        job.state = "failed"
        job.message = message
        job.finished_at = utcnow()
        job.owner = None
        db.session.commit()

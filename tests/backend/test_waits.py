"""Waiting for analyses (reliability findings 4 and 12): request threads never analyse, waits are capped per
user, and an up-to-date library does not collect job rows."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from backend import JOBS_KEY
from backend.extensions import db
from backend.models import Job, utcnow
from backend.services import analysis
from tests.audio_factory import noise_burst, write
from tests.backend.conftest import AppFactory, register
from tests.backend.test_analysis import wait_for_job
from tests.backend.test_races import together


def test_a_request_thread_never_analyses(make_app: AppFactory, sounds: list[Path]) -> None:
    """With the background workers stopped, /tags waits and gives up with 503: it does not analyse itself."""
    app = make_app(TAGS_WAIT_SECONDS="1.5")
    user = register(app.test_client())
    assert user.upload("Drums", sounds[0]).status_code == 200
    app.extensions[JOBS_KEY].start()
    app.extensions[JOBS_KEY].stop()
    time.sleep(1.5)  # the worker threads notice the stop within a second (a bounded wait, not a timing test)
    answer = user.get("/tags/Drums")
    assert answer.status_code == 503, answer.get_json()
    assert "still running" in answer.get_json()["message"]
    with app.app_context():
        assert analysis.count_pending(db.session.scalar(select(Job.library_id))) == 1


@pytest.mark.slow
def test_waiting_requests_are_capped_per_user(make_app: AppFactory, tmp_path: Path) -> None:
    """A third simultaneous /tags of one user answers 429 at once; another user's /tags still gets through."""
    app = make_app(MAX_WAITS_PER_USER="2", ANALYSIS_CHUNK="1", ANALYSIS_PAUSE_SECONDS="0.5")
    heavy, other = register(app.test_client()), register(app.test_client())
    for i in range(3):
        for j in range(2):
            path = write(tmp_path / f"l{i}" / f"s{j}.wav", noise_burst(2.0, 22050, decay=1, seed=10 * i + j), 22050)
            assert heavy.upload(f"Lib{i}", path).status_code == 200
    path = write(tmp_path / "o.wav", noise_burst(0.5, 22050, seed=99), 22050)
    assert other.upload("Mine", path).status_code == 200

    def tags(user, lib):  # type: ignore[no-untyped-def]
        return app.test_client().get(f"/tags/{lib}", headers=user.headers)

    answers = together(*[lambda i=i: tags(heavy, f"Lib{i}") for i in range(3)], lambda: tags(other, "Mine"))
    codes = sorted(a.status_code for a in answers[:3])
    assert codes == [200, 200, 429], [a.get_json() for a in answers]
    refused = next(a for a in answers[:3] if a.status_code == 429)
    assert "waiting for an analysis" in refused.get_json()["message"]
    assert answers[3].status_code == 200
    assert all(s["tags"] for s in answers[3].get_json()["samples"])


def job_rows(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Job.id))) or 0


def test_analyze_on_an_up_to_date_library_adds_no_job(app: Flask, sounds: list[Path]) -> None:
    user = register(app.test_client())
    assert user.upload("Drums", sounds[0]).status_code == 200
    first = user.get("/analyze/Drums").get_json()["job"]
    assert wait_for_job(user, first)["state"] == "done"
    answers = {user.get("/analyze/Drums").get_json()["job"] for _ in range(50)}
    assert answers == {first}
    assert job_rows(app) == 1
    assert user.upload("Drums", sounds[1]).status_code == 200
    second = user.get("/analyze/Drums").get_json()["job"]
    assert second != first
    assert wait_for_job(user, second)["done"] == 1


def test_finished_jobs_are_pruned_after_the_retention(app: Flask, sounds: list[Path]) -> None:
    """Old finished jobs go; each library's latest job stays, whatever its age."""
    user = register(app.test_client())
    assert user.upload("Drums", sounds[0]).status_code == 200
    old = user.get("/analyze/Drums").get_json()["job"]
    wait_for_job(user, old)
    assert user.upload("Drums", sounds[1]).status_code == 200
    new = user.get("/analyze/Drums").get_json()["job"]
    wait_for_job(user, new)
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == old).values(created_at=utcnow() - timedelta(days=30)))
        db.session.commit()
        assert analysis.prune_jobs(7) == 1
        db.session.execute(update(Job).values(created_at=utcnow() - timedelta(days=30)))
        db.session.commit()
        assert analysis.prune_jobs(7) == 0
    assert user.get(f"/jobs/{old}").status_code == 404
    assert user.get(f"/jobs/{new}").get_json()["state"] == "done"

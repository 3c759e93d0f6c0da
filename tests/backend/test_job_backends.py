"""Settings of the two job backends, and a Celery broker that cannot be reached (issue 22)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from backend import config
from backend.extensions import db
from backend.models import Job
from backend.scaleout import free_port
from tests.backend.conftest import AppFactory, register


def test_database_urls_use_psycopg_3() -> None:
    assert config.database_uri("postgres://u:p@db/x") == "postgresql+psycopg://u:p@db/x"
    assert config.database_uri("postgresql://u@db:5433/x") == "postgresql+psycopg://u@db:5433/x"
    assert config.database_uri("postgresql+psycopg://u@db/x") == "postgresql+psycopg://u@db/x"
    assert config.database_uri("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_celery_settings(tmp_path: Path) -> None:
    default = config.from_env({"DATA_DIR": str(tmp_path)})
    assert default["CELERY_BROKER_URL"] == "" and default["ANALYSIS_IN_PROCESS"] is False
    env = {"DATA_DIR": str(tmp_path), "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    assert config.from_env(env)["CELERY_RESULT_BACKEND"] == "redis://127.0.0.1:6379/0"
    assert config.from_env({**env, "CELERY_RESULT_BACKEND": "redis://h/1"})["CELERY_RESULT_BACKEND"] == "redis://h/1"


def test_an_unreachable_broker_answers_503_and_the_job_stays_queued(make_app: AppFactory, sounds: list[Path]) -> None:
    """With CELERY_BROKER_URL on a closed port, /analyze says so (503) and the job waits, queued, for the broker."""
    app = make_app(ANALYSIS_IN_PROCESS="false", CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    user = register(app.test_client())
    assert user.upload("Drums", sounds[0]).status_code == 200
    answer = user.get("/analyze/Drums")
    assert answer.status_code == 503, answer.get_json()
    assert "job queue (redis://127.0.0.1:" in answer.get_json()["message"]
    with app.app_context():
        job = db.session.scalar(select(Job))
        assert job is not None and job.state == "queued" and job.owner is None

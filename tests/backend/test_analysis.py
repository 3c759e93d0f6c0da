"""Background analysis with the real tagger: jobs, progress, only new or changed samples, /tags, failures."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Sample
from backend.services import knn, tagger_model
from drumsamp_models import descriptors
from drumsamp_models.nondrum import NonDrumGate
from drumsamp_models.tagger import CLASSES, UNKNOWN, Head
from tests.audio_factory import kick, write
from tests.backend.conftest import User, register


def wait_for_job(user: User, job: str, limit: float = 300.0) -> dict:
    """The job once finished (a bounded wait for background work, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        body = user.get(f"/jobs/{job}").get_json()
        if body["state"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job} did not finish")


def runs(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {name: n for name, n in db.session.execute(select(Sample.name, Sample.analysis_runs))}


def stored_descriptors(app: Flask) -> dict[str, bytes | None]:
    """``{sample name: descriptors column}`` of every sample."""
    with app.app_context():
        return {name: blob for name, blob in db.session.execute(select(Sample.name, Sample.descriptors))}


def assert_auto_tagged(samples: list[dict]) -> None:
    for sample in samples:
        name, source, confidence = sample["tags"][0]
        assert source == "auto", sample
        assert name in (*CLASSES, UNKNOWN)
        assert 0.0 <= float(confidence) <= 1.0 and len(confidence.split(".")[1]) == 3


def test_analyze_answers_at_once_and_the_job_reports_progress(app: Flask, user: User, sounds: list[Path]) -> None:
    for path in sounds[:4]:
        assert user.upload("Drums", path).status_code == 200
    response = user.get("/analyze/Drums")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"message", "job"}
    job = wait_for_job(user, body["job"])
    assert set(job) == {
        "id",
        "library",
        "state",
        "done",
        "total",
        "failed",
        "message",
        "createdAt",
        "startedAt",
        "finishedAt",
    }
    assert job["state"] == "done" and job["library"] == "Drums"
    assert job["done"] == job["total"] == 4
    assert job["failed"] == []
    listing = user.get("/get/library/Drums").get_json()
    assert_auto_tagged(listing["samples"])
    assert runs(app) == {p.name: 1 for p in sounds[:4]}


def test_analysis_stores_the_36_descriptors_of_each_sound(app: Flask, user: User, sounds: list[Path]) -> None:
    """The tagger's descriptors are those of the uploaded audio, 36 float32 per sample."""
    for path in sounds[:3]:
        assert user.upload("Drums", path).status_code == 200
    assert wait_for_job(user, user.get("/analyze/Drums").get_json()["job"])["done"] == 3
    stored = stored_descriptors(app)
    assert set(stored) == {p.name for p in sounds[:3]}
    rows = {}
    for path in sounds[:3]:
        blob = stored[path.name]
        assert blob is not None and len(blob) == 36 * 4
        rows[path.name] = np.frombuffer(blob, dtype=np.float32)
        np.testing.assert_allclose(rows[path.name], descriptors.describe_file(path), rtol=1e-5, atol=1e-5)
    assert len({row.tobytes() for row in rows.values()}) == 3  # different sounds, different descriptors


def test_sample_details_give_the_gate_probability_behind_the_auto_tag(
    app: Flask, user: User, sounds: list[Path]
) -> None:
    """``nonDrum`` is the non-drum gate's probability for the sound, as the wheel's Tagger computes it."""
    assert user.upload("Drums", sounds[0]).status_code == 200
    assert wait_for_job(user, user.get("/analyze/Drums").get_json()["job"])["done"] == 1
    details = user.get(f"/sample/Drums/{sounds[0].name}").get_json()
    with app.app_context():
        expected = tagger_model.tagger().predict_file(sounds[0])
    assert expected.non_drum is not None and 0.0 <= details["nonDrum"] <= 1.0
    assert details["nonDrum"] == pytest.approx(expected.non_drum, abs=1e-5)
    assert user.get("/get/library/Drums").get_json()["samples"][0]["tags"][0][0] == expected.tag


def test_only_new_or_changed_samples_are_analysed(app: Flask, user: User, sounds: list[Path], tmp_path: Path) -> None:
    for path in sounds[:3]:
        assert user.upload("Drums", path).status_code == 200
    first = user.get("/analyze/Drums").get_json()["job"]
    assert wait_for_job(user, first)["done"] == 3
    nothing = user.get("/analyze/Drums").get_json()
    assert "nothing to analyse" in nothing["message"]
    assert nothing["job"] == first  # the last finished job answers: no new job per call
    assert user.upload("Drums", sounds[3]).status_code == 200
    changed = write(tmp_path / "changed.wav", kick(0.7, seed=42))
    assert user.upload("Drums", changed, sounds[0].name).status_code == 200
    job = wait_for_job(user, user.get("/analyze/Drums").get_json()["job"])
    assert job["done"] == job["total"] == 2
    assert runs(app) == {sounds[0].name: 2, sounds[1].name: 1, sounds[2].name: 1, sounds[3].name: 1}


def test_a_new_tagger_model_re_analyses_what_an_older_one_did(app: Flask, user: User, sounds: list[Path]) -> None:
    for path in sounds[:3]:
        assert user.upload("Drums", path).status_code == 200
    assert wait_for_job(user, user.get("/analyze/Drums").get_json()["job"])["done"] == 3
    assert user.put(f"/sampletag/update/Drums/{sounds[0].name}", json={"tags": ["dusty"]}).status_code == 200
    older = [sounds[0].name, sounds[1].name]
    with app.app_context():  # as if these two had been analysed by the model shipped before this one
        db.session.execute(
            update(Sample).where(Sample.name.in_(older)).values(analyzed_model="0" * 40, descriptors=None)
        )
        db.session.commit()
        library_id = db.session.scalar(select(Sample.library_id).limit(1))
        vectors = knn.build(library_id)  # embeddings of another model are never compared with this one's
        assert vectors is not None and set(vectors.names.values()) == {sounds[2].name}
    job = wait_for_job(user, user.get("/analyze/Drums").get_json()["job"])
    assert job["done"] == job["total"] == 2
    assert runs(app) == {sounds[0].name: 2, sounds[1].name: 2, sounds[2].name: 1}
    with app.app_context():
        models = set(db.session.scalars(select(Sample.analyzed_model)))
    # The current model: the head, the non-drum gate and the descriptors (a new scaler or descriptor version
    # re-analyses too).
    gate = NonDrumGate.shipped()
    assert gate is not None
    key = Head.shipped().fingerprint + gate.fingerprint + descriptors.fingerprint() + tagger_model.similarity_space()
    assert models == {hashlib.sha1(key.encode()).hexdigest()}
    assert all(blob is not None and len(blob) == 36 * 4 for blob in stored_descriptors(app).values())
    tags = {s["name"]: s["tags"] for s in user.get("/get/library/Drums").get_json()["samples"]}
    assert ["dusty", "user", "1.000"] in tags[sounds[0].name]
    assert len(user.get(f"/similar/Drums/{sounds[2].name}").get_json()) == 2


def test_tags_runs_the_tagger_and_returns_the_library(app: Flask, user: User, sounds: list[Path]) -> None:
    for path in sounds[:3]:
        assert user.upload("Drums", path).status_code == 200
    response = user.get("/tags/Drums")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"libname", "samples"}
    assert [s["name"] for s in body["samples"]] == sorted(p.name for p in sounds[:3])
    assert_auto_tagged(body["samples"])
    assert user.get("/get/library/Drums").get_json() == body
    again = user.get("/tags/Drums")
    assert again.get_json() == body
    assert set(runs(app).values()) == {1}
    assert user.get("/tags/Nope").status_code == 400


def test_same_content_in_another_library_reuses_the_analysis(app: Flask, user: User, sounds: list[Path]) -> None:
    assert user.upload("A", sounds[0]).status_code == 200
    tags_a = user.get("/tags/A").get_json()["samples"][0]["tags"]
    assert user.upload("B", sounds[0]).status_code == 200
    assert user.get("/get/library/B").get_json()["samples"][0]["tags"] == tags_a
    assert "nothing to analyse" in user.get("/analyze/B").get_json()["message"]
    with app.app_context():
        assert sorted(db.session.scalars(select(Sample.analysis_runs))) == [0, 1]
        copies = set(db.session.scalars(select(Sample.descriptors)))
        gate_copies = set(db.session.scalars(select(Sample.non_drum)))
    assert len(copies) == 1 and None not in copies  # the descriptors are copied with the rest
    assert len(gate_copies) == 1 and None not in gate_copies  # and so is the gate's probability
    assert user.get("/map/B").get_json()["points"][0]["name"] == sounds[0].name  # indexed without analysis


def test_a_file_that_fails_analysis_is_reported_with_its_reason(app: Flask, user: User, sounds: list[Path]) -> None:
    for path in sounds[:2]:
        assert user.upload("Drums", path).status_code == 200
    stored = sorted((Path(app.config["DATA_DIR"]) / "storage").rglob("*.wav"))
    with app.app_context():
        broken = db.session.scalar(select(Sample).where(Sample.content_hash == stored[0].stem)).name
    stored[0].write_bytes(stored[0].read_bytes()[:200])  # the disk copy got damaged after upload
    job = wait_for_job(user, user.get("/analyze/Drums").get_json()["job"])
    assert job["state"] == "done" and job["done"] == 2
    assert [f["name"] for f in job["failed"]] == [broken]
    assert job["failed"][0]["reason"]
    details = user.get(f"/sample/Drums/{broken}").get_json()
    assert details["analysed"] is True and details["analysisError"]
    samples = {s["name"]: s["tags"] for s in user.get("/get/library/Drums").get_json()["samples"]}
    assert samples[broken] == []
    assert len(samples) == 2 and all(tags for name, tags in samples.items() if name != broken)


def test_jobs_are_private(app: Flask, user: User, sounds: list[Path]) -> None:
    assert user.upload("Drums", sounds[0]).status_code == 200
    job = user.get("/analyze/Drums").get_json()["job"]
    other = register(app.test_client())
    theirs = other.get(f"/jobs/{job}")
    assert theirs.status_code == 404
    assert theirs.get_json() == {"message": f"no job {job!r}"}
    assert user.get("/jobs/no-such-job").status_code == 404
    wait_for_job(user, job)


def test_one_active_job_per_library_even_when_requests_race(app: Flask, user: User, sounds: list[Path]) -> None:
    """The database refuses a second queued/running job of a library; create_job then joins the first."""
    import uuid

    import pytest
    from sqlalchemy.exc import IntegrityError

    from backend.models import Job, SampleLibrary
    from backend.services import analysis

    assert user.upload("Race", sounds[0]).status_code == 200
    with app.app_context():
        library = db.session.scalar(select(SampleLibrary).where(SampleLibrary.name == "Race"))
        first = Job(id=uuid.uuid4().hex, user_id=library.user_id, library_id=library.id, total=1, done=0, failed={})
        db.session.add(first)
        db.session.commit()
        # The loser of a race: it checked before the winner committed, then inserts its own active job.
        db.session.add(Job(id=uuid.uuid4().hex, user_id=library.user_id, library_id=library.id, total=1, failed={}))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert analysis.create_job(library.user_id, library).id == first.id
        first.state = "done"
        db.session.commit()
        again = analysis.create_job(library.user_id, library)
        assert again.id != first.id and again.state == "queued"

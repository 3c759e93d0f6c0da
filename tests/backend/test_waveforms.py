"""Waveform peaks (issue 18, part 4): computed at upload, the thumbnails of a library in one request (ETag), the
detailed peaks of one sample, and the peaks of samples stored before waveforms existed on the next analysis."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import orjson
import pytest
import soundfile as sf
from flask import Flask
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Sample
from backend.services import storage, waveforms
from tests.audio_factory import kick, noise_burst, tone, write
from tests.backend.conftest import User, path_url, register
from tests.backend.test_analysis import runs, wait_for_job
from tests.models.test_peaks import brute_force

NESTED = "Kits/909/kick.wav"


def direct(path: Path, pairs: int) -> bytes:
    """The expected stored pairs: the file decoded with soundfile, averaged to mono, min/max per bucket, int8."""
    y, _ = sf.read(str(path), dtype="float32", always_2d=True)
    mono = y[:, 0] if y.shape[1] == 1 else y.mean(axis=1, dtype=np.float32)
    return waveforms.encode(brute_force(mono, pairs))






@pytest.fixture
def kit(tmp_path: Path) -> dict[str, Path]:
    """Sample name → generated file: mono WAVs, a stereo 24-bit FLAC, a short 48 kHz WAV (fewer frames than
    64 x 1 000), and a nested path."""
    stereo = np.stack([kick(0.5, seed=3), noise_burst(0.5, seed=4)], axis=1)
    return {
        "kick.wav": write(tmp_path / "kick.wav", kick(0.4, seed=1)),
        "snare.wav": write(tmp_path / "snare.wav", noise_burst(0.3, seed=2)),
        "stereo.flac": write(tmp_path / "stereo.flac", stereo, 44100, "FLAC", "PCM_24"),
        "blip.wav": write(tmp_path / "blip.wav", tone(2000, 0.01, 48000), 48000),
        NESTED: write(tmp_path / "nested.wav", tone(180, 0.6, decay=5)),
    }


@pytest.fixture
def stocked(user: User, kit: dict[str, Path]) -> User:
    for name, path in kit.items():
        user.stored("Drums", path, name)
    return user


def thumbs(user: User, lib: str = "Drums") -> dict[str, str | None]:
    body = user.get(f"/waveforms/{lib}").get_json()
    return {sample["name"]: sample["thumb"] for sample in body["samples"]}


def test_thumbnails_of_a_library_equal_a_direct_computation(stocked: User, kit: dict[str, Path]) -> None:
    response = stocked.get("/waveforms/Drums")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["libname"] == "Drums" and body["pairs"] == waveforms.THUMB_PAIRS == 64
    assert [s["name"] for s in body["samples"]] == sorted(kit)
    for sample in body["samples"]:
        data = base64.b64decode(sample["thumb"], validate=True)
        assert len(data) == 128 and len(sample["thumb"]) == 172
        assert data == direct(kit[sample["name"]], 64), sample["name"]
        pairs = waveforms.decode(data)
        assert np.all(pairs[:, 0] <= pairs[:, 1])
    # Bytes per sample in the body: the 172 base64 characters of the thumbnail plus the JSON around the name.
    for sample in body["samples"]:
        assert len(orjson.dumps(sample)) == 172 + len(sample["name"].encode()) + len('{"name":"","thumb":""}')


def test_detailed_peaks_of_a_sample_equal_a_direct_computation(stocked: User, kit: dict[str, Path]) -> None:
    for name, path in kit.items():
        response = stocked.get(f"/waveform/Drums/{path_url(name)}")
        assert response.status_code == 200, (name, response.get_json())
        body = response.get_json()
        assert set(body) == {"name", "pairs", "duration", "peaks"}
        assert body["name"] == name and body["pairs"] == waveforms.PEAK_PAIRS == 1000
        assert body["duration"] == pytest.approx(sf.info(str(path)).duration)
        data = base64.b64decode(body["peaks"], validate=True)
        assert len(data) == 2000 and data == direct(path, 1000), name


def test_the_thumbnails_etag_answers_304_until_the_library_changes(stocked: User, tmp_path: Path) -> None:
    first = stocked.get("/waveforms/Drums")
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"] == "private, no-cache"
    again = stocked.get("/waveforms/Drums", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    new = write(tmp_path / "tom.wav", tone(120, 0.5, decay=4))
    stocked.stored("Drums", new, "tom.wav")
    changed = stocked.get("/waveforms/Drums", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert base64.b64decode(thumbs(stocked)["tom.wav"] or "") == direct(new, 64)
    etag = changed.headers["ETag"]
    assert stocked.delete("/sample/Drums/tom.wav").status_code == 200
    after_delete = stocked.get("/waveforms/Drums", headers={"If-None-Match": etag})
    assert after_delete.status_code == 200 and "tom.wav" not in thumbs(stocked)
    etag = after_delete.headers["ETag"]
    assert stocked.patch("/library/Drums", json={"name": "Kit"}).status_code == 200
    renamed = stocked.get("/waveforms/Kit", headers={"If-None-Match": etag})
    assert renamed.status_code == 200 and renamed.get_json()["libname"] == "Kit"


def test_new_content_under_a_name_replaces_its_waveform(stocked: User, tmp_path: Path) -> None:
    etag = stocked.get("/waveform/Drums/kick.wav").headers["ETag"]
    assert stocked.get("/waveform/Drums/kick.wav", headers={"If-None-Match": etag}).status_code == 304
    other = write(tmp_path / "other.wav", kick(0.9, seed=7))
    stocked.stored("Drums", other, "kick.wav")
    response = stocked.get("/waveform/Drums/kick.wav", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert base64.b64decode(response.get_json()["peaks"]) == direct(other, 1000)
    assert base64.b64decode(thumbs(stocked)["kick.wav"] or "") == direct(other, 64)


def forget_waveforms(app: Flask, names: list[str] | None = None) -> None:
    """Simulate samples stored before waveforms existed: their thumb and peaks NULL."""
    with app.app_context():
        query = update(Sample).values(thumb=None, peaks=None)
        if names is not None:
            query = query.where(Sample.name.in_(names))
        db.session.execute(query)
        db.session.commit()


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large:UserWarning")  # the tagger on the 10 ms blip
def test_samples_of_an_older_database_get_their_peaks_on_the_next_analysis(
    app: Flask, stocked: User, kit: dict[str, Path], tmp_path: Path
) -> None:
    """Analysed samples without peaks get only their peaks (the tagger does not run again); a new sample without
    peaks gets both. Every one of them counts in the job."""
    assert wait_for_job(stocked, stocked.get("/analyze/Drums").get_json()["job"])["done"] == len(kit)
    new = write(tmp_path / "late.wav", noise_burst(0.25, decay=30, seed=9))
    stocked.stored("Drums", new, "late.wav")
    forget_waveforms(app)
    before = stocked.get("/waveforms/Drums")
    assert set(thumbs(stocked).values()) == {None}
    assert stocked.get("/waveform/Drums/kick.wav").get_json()["peaks"] is None
    job = wait_for_job(stocked, stocked.get("/analyze/Drums").get_json()["job"])
    assert job["state"] == "done" and job["done"] == job["total"] == len(kit) + 1 and job["failed"] == []
    assert runs(app) == {**{name: 1 for name in kit}, "late.wav": 1}  # nothing was tagged twice
    for name, path in {**kit, "late.wav": new}.items():
        assert base64.b64decode(thumbs(stocked)[name] or "") == direct(path, 64), name
        peaks = stocked.get(f"/waveform/Drums/{path_url(name)}").get_json()["peaks"]
        assert base64.b64decode(peaks) == direct(path, 1000), name
    after = stocked.get("/waveforms/Drums", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    nothing = stocked.get("/analyze/Drums").get_json()
    assert "nothing to analyse" in nothing["message"]


def test_a_sample_whose_audio_is_lost_gets_no_waveform_and_is_not_retried(
    app: Flask, user: User, tmp_path: Path
) -> None:
    source = write(tmp_path / "lost.wav", kick(0.3, seed=5))
    user.stored("Drums", source, "lost.wav")
    assert wait_for_job(user, user.get("/analyze/Drums").get_json()["job"])["done"] == 1
    forget_waveforms(app)
    with app.app_context():
        sample = db.session.scalar(select(Sample).where(Sample.name == "lost.wav"))
        storage.sample_path(sample.library.user_id, sample).unlink()
    job = wait_for_job(user, user.get("/analyze/Drums").get_json()["job"])
    assert job["state"] == "done" and job["done"] == 1
    assert [f["name"] for f in job["failed"]] == ["lost.wav"] and "no waveform" in job["failed"][0]["reason"]
    assert thumbs(user) == {"lost.wav": None}
    assert user.get("/waveform/Drums/lost.wav").get_json()["peaks"] is None
    assert "nothing to analyse" in user.get("/analyze/Drums").get_json()["message"]


def test_unknown_libraries_and_samples_are_404_and_a_token_is_required(stocked: User, app: Flask) -> None:
    assert stocked.get("/waveforms/Nope").status_code == 404
    assert stocked.get("/waveform/Nope/kick.wav").status_code == 404
    assert stocked.get("/waveform/Drums/nope.wav").status_code == 404
    assert stocked.get("/waveform/Drums/Kits/909/nope.wav").status_code == 404
    other = register(app.test_client())
    assert other.get("/waveforms/Drums").status_code == 404
    assert other.get("/waveform/Drums/kick.wav").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get("/waveforms/Drums").status_code == 401
    assert anonymous.get("/waveform/Drums/kick.wav").status_code == 401

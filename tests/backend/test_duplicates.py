"""Near-duplicates (issue 20, part 5) through the real app and real recordings: the same recording uploaded under
other names (gain-scaled, resampled, re-encoded) is grouped, a different sound is not, the keep-one action leaves
one; fingerprints are made at upload and, for samples stored before them, by the next analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
from flask import Flask
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Sample
from drumsamp_models import duplicates
from tests.backend.conftest import User, path_url, register
from tests.backend.test_analysis import runs, wait_for_job

HYDROGEN = Path("/usr/share/hydrogen/data/drumkits")
ORIGINAL = "Kits/Rock/Snare-Hard.wav"
COPIES = ("Kits/Rock/Snare-Hard quieter.wav", "Downloads/snare_22k.flac", "Downloads/snare.ogg")
OTHER = "Kits/Rock/Snare-Med.wav"  # another hit of the same snare: a velocity layer, not a duplicate


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A real snare (GMRockKit, hydrogen-drumkits), three copies of it as users make them (6 dB quieter, 22.05 kHz
    FLAC, OGG/Vorbis) and the next velocity layer of the same snare."""
    source = HYDROGEN / "GMRockKit" / "Snare-Hard.wav"
    assert source.is_file(), "hydrogen-drumkits is not installed (make test installs it)"
    y, sr = sf.read(str(source), dtype="float32", always_2d=True)
    quieter = tmp_path / "quieter.wav"
    sf.write(str(quieter), y * 0.5, sr, subtype="PCM_16")
    resampled = tmp_path / "resampled.flac"
    sf.write(str(resampled), soxr.resample(y, sr, 22050), 22050, format="FLAC", subtype="PCM_16")
    vorbis = tmp_path / "snare.ogg"
    sf.write(str(vorbis), y, sr, format="OGG", subtype="VORBIS")
    return {
        ORIGINAL: source,
        COPIES[0]: quieter,
        COPIES[1]: resampled,
        COPIES[2]: vorbis,
        OTHER: HYDROGEN / "GMRockKit" / "Snare-Med.wav",
    }


@pytest.fixture
def stocked(user: User, files: dict[str, Path]) -> User:
    for name, path in files.items():
        user.stored("Drums", path, name)
    return user


def groups(user: User, lib: str = "Drums") -> list[dict]:
    response = user.get(f"/duplicates/{lib}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["groups"]


def test_copies_under_other_names_form_one_group_with_the_one_to_keep_first(stocked: User) -> None:
    body = stocked.get("/duplicates/Drums").get_json()
    assert body["libname"] == "Drums" and body["pending"] == 0
    [group] = body["groups"]
    names = [s["name"] for s in group["samples"]]
    assert sorted(names) == sorted([ORIGINAL, *COPIES])  # the other velocity layer is not in it
    assert duplicates.DEFAULT_THRESHOLD <= group["similarity"] <= 1.0
    assert names[0] == ORIGINAL  # lossless, as long, the highest rate and the biggest file
    assert names[-1] == COPIES[2]  # the lossy copy last
    first = group["samples"][0]
    assert first["format"] == "WAV" and first["samplerate"] == 44100 and first["isFavorite"] is False
    assert set(first) == {"name", "duration", "format", "size", "samplerate", "channels", "isFavorite"}


def test_a_favourite_is_the_one_to_keep(stocked: User) -> None:
    url = f"/samplefavorite/update/Drums/{path_url(COPIES[1])}"
    assert stocked.put(url, json={"isFavorite": True}).status_code == 200
    [group] = groups(stocked)
    assert group["samples"][0]["name"] == COPIES[1] and group["samples"][0]["isFavorite"] is True


def test_keeping_one_deletes_the_others_in_one_go(stocked: User) -> None:
    remove = [COPIES[0], COPIES[2], ORIGINAL]
    response = stocked.post("/duplicates/Drums/resolve", json={"keep": COPIES[1], "remove": remove})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["kept"] == COPIES[1] and body["removed"] == remove
    assert groups(stocked) == []
    listed = [s["name"] for s in stocked.get("/get/library/Drums").get_json()["samples"]]
    assert listed == sorted([COPIES[1], OTHER])
    assert stocked.get(f"/audio/Drums/{path_url(ORIGINAL)}").status_code == 404


def test_the_existing_delete_also_resolves_a_group(stocked: User) -> None:
    for name in (ORIGINAL, *COPIES[:2]):
        assert stocked.delete(f"/sample/Drums/{path_url(name)}").status_code == 200
    assert groups(stocked) == []


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"keep": ORIGINAL, "remove": [OTHER]}, 409, "not a duplicate"),
        ({"keep": ORIGINAL, "remove": [COPIES[0], OTHER]}, 409, "not a duplicate"),
        ({"keep": ORIGINAL, "remove": ["nope.wav"]}, 404, "no sample named 'nope.wav'"),
        ({"keep": "nope.wav", "remove": [ORIGINAL]}, 404, "no sample named 'nope.wav'"),
        ({"keep": ORIGINAL, "remove": [ORIGINAL]}, 400, "both kept and removed"),
        ({"keep": ORIGINAL, "remove": []}, 400, "non-empty list"),
        ({"keep": ORIGINAL, "remove": [COPIES[0], COPIES[0]]}, 400, "more than once"),
        ({"keep": 3, "remove": [COPIES[0]]}, 400, "'keep'"),
        ({"keep": ORIGINAL, "remove": COPIES[0]}, 400, "'remove'"),
        ({"keep": ORIGINAL, "remove": [COPIES[0]], "all": True}, 400, "unknown field 'all'"),
        ([ORIGINAL], 400, "JSON object"),
    ],
)
def test_a_bad_resolve_deletes_nothing(stocked: User, body: object, status: int, text: str) -> None:
    response = stocked.post("/duplicates/Drums/resolve", json=body)
    assert response.status_code == status and text in response.get_json()["message"], response.get_json()
    assert len(stocked.get("/get/library/Drums").get_json()["samples"]) == 5


def test_other_users_and_unknown_libraries_see_nothing(stocked: User) -> None:
    other = register(stocked.client)
    for user, lib in ((other, "Drums"), (stocked, "Nope")):
        response = user.get(f"/duplicates/{lib}")
        assert response.status_code == 404 and response.get_json()["message"] == f"no library named '{lib}'"
        post = user.post(f"/duplicates/{lib}/resolve", json={"keep": ORIGINAL, "remove": [COPIES[0]]})
        assert post.status_code == 404
    assert len(groups(stocked)) == 1
    assert stocked.client.get("/duplicates/Drums").status_code == 401


def test_the_groups_are_cached_per_library_version(stocked: User, files: dict[str, Path], tmp_path: Path) -> None:
    first = stocked.get("/duplicates/Drums")
    etag = first.headers["ETag"]
    assert stocked.get("/duplicates/Drums", headers={"If-None-Match": etag}).status_code == 304
    y, sr = sf.read(str(files[ORIGINAL]), dtype="float32")
    sf.write(str(tmp_path / "copy.flac"), y, sr, format="FLAC", subtype="PCM_24")
    stocked.stored("Drums", tmp_path / "copy.flac", "Later/another copy.flac")
    again = stocked.get("/duplicates/Drums", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    [group] = again.get_json()["groups"]
    assert "Later/another copy.flac" in [s["name"] for s in group["samples"]]
    # identical bytes never get this far: the upload refuses them
    assert stocked.upload("Drums", files[COPIES[0]], "Later/same bytes.wav").status_code == 409


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large:UserWarning")
def test_samples_stored_before_fingerprints_get_them_on_the_next_analysis(app: Flask, stocked: User) -> None:
    """Analysed samples without a fingerprint are pending and in no group; the next analysis computes only their
    fingerprints (the tagger does not run again) and counts them in its job."""
    assert wait_for_job(stocked, stocked.get("/analyze/Drums").get_json()["job"])["state"] == "done"
    with app.app_context():
        stored = {name: data for name, data in db.session.execute(select(Sample.name, Sample.fingerprint))}
        db.session.execute(update(Sample).values(fingerprint=None))
        db.session.commit()
    body = stocked.get("/duplicates/Drums").get_json()
    assert body["pending"] == 5 and body["groups"] == []
    job = wait_for_job(stocked, stocked.get("/analyze/Drums").get_json()["job"])
    assert job["state"] == "done" and job["done"] == job["total"] == 5 and job["failed"] == []
    assert set(runs(app).values()) == {1}  # nothing was tagged twice
    with app.app_context():
        again = {name: data for name, data in db.session.execute(select(Sample.name, Sample.fingerprint))}
    assert again == stored  # the analysis' decode gives the upload's fingerprint, byte for byte
    body = stocked.get("/duplicates/Drums").get_json()
    assert body["pending"] == 0 and len(body["groups"]) == 1
    assert "nothing to analyse" in stocked.get("/analyze/Drums").get_json()["message"]


def test_a_fingerprint_is_stored_with_every_upload(app: Flask, stocked: User) -> None:
    with app.app_context():
        prints = db.session.execute(select(Sample.name, Sample.fingerprint)).all()
    assert len(prints) == 5
    for name, data in prints:
        assert data is not None and duplicates.duration(data) > 0, name
        assert np.frombuffer(data, dtype=np.uint8)[:4].tobytes() == b"DSFP"

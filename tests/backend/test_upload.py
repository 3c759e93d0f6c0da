"""Uploads: validation by decoding, storage by content, limits, duplicates, nothing partial left behind."""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Sample, SampleLibrary
from backend.services.storage import remove_stale_temporary_files
from tests.audio_factory import FORMATS, kick, tone, write
from tests.backend.conftest import AppFactory, User, register


def stored_files(app: Flask) -> list[Path]:
    """Every file in the instance folder's storage and tmp folders."""
    root = Path(app.config["DATA_DIR"])
    return sorted(p for sub in ("storage", "tmp") for p in (root / sub).rglob("*") if p.is_file())


def sample_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Sample.id))) or 0


def test_upload_stores_by_content_hash_and_keeps_the_name_in_the_db(app: Flask, user: User, sounds: list[Path]) -> None:
    response = user.upload("Drums", sounds[0], "My Kick (final).wav")
    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    digest = hashlib.sha256(sounds[0].read_bytes()).hexdigest()
    files = stored_files(app)
    assert [f.name for f in files] == [f"{digest}.wav"]
    assert files[0].read_bytes() == sounds[0].read_bytes()
    with app.app_context():
        sample = db.session.scalar(select(Sample))
        assert sample.name == "My Kick (final).wav"
        assert sample.content_hash == digest
        assert sample.format == "WAV" and sample.samplerate == 44100 and sample.channels == 1
    assert user.get("/get/libraries").get_json() == ["Drums"]
    listing = user.get("/get/library/Drums").get_json()
    assert listing == {
        "libname": "Drums",
        "samples": [{"name": "My Kick (final).wav", "isFavorite": False, "tags": []}],
    }


def test_real_sized_one_shots_are_accepted(app: Flask, user: User, tmp_path: Path) -> None:
    """A 0.4-3 MB stereo WAV: far beyond the multipart parser's 64 KiB read buffer."""
    import numpy as np

    for seconds in (2.0, 9.0):
        y = np.stack([kick(seconds), kick(seconds, seed=1)], axis=1)
        path = write(tmp_path / f"long_{seconds:g}.wav", y, subtype="PCM_24")
        assert path.stat().st_size > 400_000
        response = user.upload("Big", path)
        assert response.status_code == 200, response.get_json()
    assert sample_count(app) == 2


@pytest.mark.parametrize(("ext", "fmt", "subtype", "_lossless"), FORMATS, ids=[f"{f[1]}-{f[2]}" for f in FORMATS])
def test_every_supported_format_is_accepted(
    user: User, tmp_path: Path, ext: str, fmt: str, subtype: str, _lossless: bool
) -> None:
    path = write(tmp_path / f"snd.{ext}", tone(300, 0.5, 44100, decay=4), 44100, fmt, subtype)
    response = user.upload("Formats", path)
    assert response.status_code == 200, response.get_json()


def test_non_audio_is_refused_and_nothing_is_kept(app: Flask, user: User) -> None:
    data = {"file": (io.BytesIO(b"#!/bin/sh\necho not audio\n" * 50), "script.wav")}
    response = user.post("/upload/Drums", data=data, content_type="multipart/form-data")
    assert response.status_code == 415
    assert "script.wav" in response.get_json()["message"]
    assert "not a supported audio file" in response.get_json()["message"]
    assert stored_files(app) == []
    assert user.get("/get/libraries").get_json() == []


def test_truncated_wav_is_refused(app: Flask, user: User, sounds: list[Path]) -> None:
    raw = sounds[1].read_bytes()
    data = {"file": (io.BytesIO(raw[: len(raw) // 2]), "cut.wav")}
    response = user.post("/upload/Drums", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "truncated" in response.get_json()["message"]
    assert stored_files(app) == []
    assert sample_count(app) == 0


def test_empty_file_is_refused(app: Flask, user: User) -> None:
    data = {"file": (io.BytesIO(b""), "empty.wav")}
    response = user.post("/upload/Drums", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "empty" in response.get_json()["message"]
    assert stored_files(app) == []


def test_oversized_file_is_refused(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(MAX_UPLOAD_MB="0.05")
    user = register(app.test_client())
    big = write(tmp_path / "big.wav", tone(100, 2.0, 44100))  # ~176 kB
    response = user.upload("Drums", big)
    assert response.status_code == 413
    assert "MB" in response.get_json()["message"]
    assert stored_files(app) == []
    assert sample_count(app) == 0


def test_too_long_audio_is_refused(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(MAX_AUDIO_SECONDS="1")
    user = register(app.test_client())
    response = user.upload("Drums", write(tmp_path / "long.wav", tone(100, 1.5, 22050), 22050))
    assert response.status_code == 422
    assert "long" in response.get_json()["message"]
    assert stored_files(app) == []


@pytest.mark.parametrize("name", ["../../etc/passwd.wav", "a//b.wav", "/abs.wav", "..", "bad\x00name.wav", ""])
def test_path_traversal_and_bad_file_names_are_refused(app: Flask, user: User, sounds: list[Path], name: str) -> None:
    data = {"file": (io.BytesIO(sounds[0].read_bytes()), name)}
    response = user.post("/upload/Drums", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "name" in response.get_json()["message"] or "path" in response.get_json()["message"]
    assert stored_files(app) == []
    assert not (Path(app.config["DATA_DIR"]).parent / "etc").exists()


def test_windows_path_file_name_is_refused(app: Flask, user: User, sounds: list[Path]) -> None:
    # A raw multipart body: the quoted file name carries an escaped backslash, as browsers send it.
    boundary = "----drumsampler-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="..\\\\evil.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\n"
        ).encode()
        + sounds[0].read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = user.post("/upload/Drums", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400
    assert "evil.wav" in response.get_json()["message"]
    assert stored_files(app) == []


@pytest.mark.parametrize("lib", [" padded ", "x" * 101])
def test_bad_library_names_are_refused(app: Flask, user: User, sounds: list[Path], lib: str) -> None:
    response = user.upload(lib, sounds[0])
    assert response.status_code == 400
    assert "library name" in response.get_json()["message"]
    assert stored_files(app) == []


def test_identical_reupload_is_reported_not_stored_twice(app: Flask, user: User, sounds: list[Path]) -> None:
    assert user.upload("Drums", sounds[0]).status_code == 200
    again = user.upload("Drums", sounds[0])
    assert again.status_code == 200
    assert "identical" in again.get_json()["message"]
    assert sample_count(app) == 1
    assert len(stored_files(app)) == 1


def test_same_sound_under_a_new_name_is_recognised(app: Flask, user: User, sounds: list[Path]) -> None:
    assert user.upload("Drums", sounds[0], "kick.wav").status_code == 200
    renamed = user.upload("Drums", sounds[0], "kick-renamed.wav")
    assert renamed.status_code == 409
    assert "same sound as 'kick.wav'" in renamed.get_json()["message"]
    assert sample_count(app) == 1


def test_same_sound_in_another_library_shares_the_stored_file(app: Flask, user: User, sounds: list[Path]) -> None:
    assert user.upload("A", sounds[0]).status_code == 200
    assert user.upload("B", sounds[0]).status_code == 200
    assert sample_count(app) == 2
    assert len(stored_files(app)) == 1
    assert user.delete("/library/A").status_code == 200
    assert len(stored_files(app)) == 1  # still used by B
    assert user.delete("/library/B").status_code == 200
    assert stored_files(app) == []


def test_new_content_under_an_existing_name_replaces_it(app: Flask, user: User, tmp_path: Path) -> None:
    first = write(tmp_path / "v1.wav", kick(0.4, seed=1))
    second = write(tmp_path / "v2.wav", kick(0.6, seed=2))
    assert user.upload("Drums", first, "kick.wav").status_code == 200
    response = user.upload("Drums", second, "kick.wav")
    assert response.status_code == 200
    assert "replaced" in response.get_json()["message"]
    assert [f.name for f in stored_files(app)] == [f"{hashlib.sha256(second.read_bytes()).hexdigest()}.wav"]
    with app.app_context():
        sample = db.session.scalar(select(Sample))
        assert sample.content_hash == hashlib.sha256(second.read_bytes()).hexdigest()


def test_upload_needs_multipart_with_a_file_field(user: User, sounds: list[Path]) -> None:
    as_json = user.post("/upload/Drums", json={"file": "kick.wav"})
    assert as_json.status_code == 415
    assert "multipart/form-data" in as_json.get_json()["message"]
    no_file = user.post("/upload/Drums", data={"other": "x"}, content_type="multipart/form-data")
    assert no_file.status_code == 400
    assert "'file'" in no_file.get_json()["message"]


def test_upload_needs_a_token(client, sounds: list[Path]) -> None:  # type: ignore[no-untyped-def]
    data = {"file": (io.BytesIO(sounds[0].read_bytes()), "kick.wav")}
    assert client.post("/upload/Drums", data=data, content_type="multipart/form-data").status_code == 401


def test_same_library_name_of_another_user_is_a_separate_library(app: Flask, sounds: list[Path]) -> None:
    client = app.test_client()
    alice, bob = register(client), register(client)
    assert alice.upload("Drums", sounds[0]).status_code == 200
    assert bob.upload("Drums", sounds[1]).status_code == 200
    assert [s["name"] for s in alice.get("/get/library/Drums").get_json()["samples"]] == [sounds[0].name]
    assert [s["name"] for s in bob.get("/get/library/Drums").get_json()["samples"]] == [sounds[1].name]
    with app.app_context():
        assert db.session.scalar(select(func.count(SampleLibrary.id))) == 2


def test_stale_upload_temporaries_are_removed_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "tmp"
    folder.mkdir()
    old, fresh, other = folder / "upload-old", folder / "upload-fresh", folder / "keep.txt"
    for path in (old, fresh, other):
        path.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    os.utime(other, (time.time() - 7200, time.time() - 7200))
    assert remove_stale_temporary_files(tmp_path) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt", "upload-fresh"]


def test_orphaned_stored_audio_is_removed_at_start(app: Flask, user: User, sounds: list[Path]) -> None:
    """Files stored by a process killed before its commit are swept, however recent; files samples use are kept."""
    from backend.services.storage import remove_orphaned_audio

    assert user.upload("Drums", sounds[0]).status_code == 200
    (kept,) = stored_files(app)
    orphan = kept.parent / f"{'0' * 64}.wav"
    fresh = kept.parent / f"{'1' * 64}.wav"
    orphan.write_bytes(b"x")
    fresh.write_bytes(b"x")
    for path in (orphan, kept):
        os.utime(path, (time.time() - 7200, time.time() - 7200))
    with app.app_context():
        assert remove_orphaned_audio() == 2
    assert [p.name for p in stored_files(app)] == [kept.name]
    gone = kept.parent.parent / "999999" / f"{'2' * 64}.flac"  # the folder of an account that no longer exists
    gone.parent.mkdir()
    gone.write_bytes(b"x")
    with app.app_context():
        assert remove_orphaned_audio() == 1
    assert [p.name for p in stored_files(app)] == [kept.name]

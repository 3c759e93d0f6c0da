"""Batch uploads: several files per request, each stored on its own path with its own outcome."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from backend.extensions import db
from backend.models import Sample
from tests.audio_factory import kick, noise_burst, tone, write
from tests.backend.conftest import AppFactory, User, register


def stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["DATA_DIR"])
    return sorted(p for sub in ("storage", "tmp") for p in (root / sub).rglob("*") if p.is_file())


def names(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Sample.name)))


def batch(user: User, lib: str, files: list[tuple[bytes, str]], paths: list[str] | None = None) -> TestResponse:
    """POST several ``file`` parts (content, file name), with one ``path`` field per file when ``paths``."""
    data: dict[str, Any] = {"file": [(io.BytesIO(content), name) for content, name in files]}
    if paths is not None:
        data["path"] = paths
    return user.post(f"/upload/{lib}", data=data, content_type="multipart/form-data")


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def wav(tmp_path: Path, name: str, y: np.ndarray, sr: int = 44100, **kw: str) -> bytes:
    return write(tmp_path / name, y, sr, **kw).read_bytes()


def test_batch_of_good_duplicate_and_bad_files_answers_per_file(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(MAX_AUDIO_SECONDS="1")
    user = register(app.test_client())
    existing = wav(tmp_path, "existing.wav", kick(0.4, seed=1))
    assert user.upload("Kit", tmp_path / "existing.wav", "Old/kick.wav").status_code == 200
    snare = wav(tmp_path, "snare.wav", noise_burst(0.3, seed=2))
    hat = wav(tmp_path, "hat.wav", noise_burst(0.1, decay=40, seed=3))
    too_long = wav(tmp_path, "long.wav", tone(100, 1.5, 22050), 22050)
    au = wav(tmp_path, "snd.au", tone(300, 0.3, decay=4), fmt="AU")
    files = [
        (snare, "snare.wav"),
        (existing, "kick.wav"),  # the same sound as Old/kick.wav
        (existing, "kick-again.wav"),  # a retry of Old/kick.wav itself (same path, same content)
        (b"#!/bin/sh\necho not audio\n" * 40, "script.wav"),
        (too_long, "long.wav"),
        (au, "sound.wav"),
        (hat, "hat.wav"),
    ]
    paths = ["Kits/909/snare.wav", "New/kick.wav", "Old/kick.wav", "script.wav", "Loops/long.wav", "x.wav", ""]
    response = batch(user, "Kit", files, paths)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["message"] == "2 stored, 2 duplicate, 3 rejected"
    answers = body["files"]
    assert [(a["path"], a["status"]) for a in answers] == [
        ("Kits/909/snare.wav", "stored"),
        ("New/kick.wav", "duplicate"),
        ("Old/kick.wav", "duplicate"),
        ("script.wav", "rejected"),
        ("Loops/long.wav", "rejected"),
        ("x.wav", "rejected"),
        ("hat.wav", "stored"),  # an empty path field: the file name
    ]
    assert answers[1]["duplicateOf"] == "Old/kick.wav" and "same sound as 'Old/kick.wav'" in answers[1]["message"]
    assert answers[2]["duplicateOf"] == "Old/kick.wav" and "identical content" in answers[2]["message"]
    assert "not a supported audio file" in answers[3]["message"]
    assert "long" in answers[4]["message"]
    assert "AU" in answers[5]["message"] or "Sun" in answers[5]["message"]
    assert all("duplicateOf" not in a for a in answers if a["status"] != "duplicate")
    assert set(answers[0]) == {"path", "status", "message"}
    assert names(app) == ["Kits/909/snare.wav", "Old/kick.wav", "hat.wav"]
    assert [p.name for p in stored_files(app)] == sorted(f"{sha(c)}.wav" for c in (existing, snare, hat))
    listing = user.get("/get/library/Kit").get_json()
    assert sorted(s["name"] for s in listing["samples"]) == names(app)


def test_paths_from_file_names_and_replacement(app: Flask, user: User, tmp_path: Path) -> None:
    one, two, three = (wav(tmp_path, f"{i}.wav", kick(0.3 + 0.1 * i, seed=i)) for i in range(3))
    first = batch(user, "Kit", [(one, "Kits/909/kick.wav"), (two, "Kits/808/kick.wav")])
    assert first.status_code == 200, first.get_json()
    assert [a["status"] for a in first.get_json()["files"]] == ["stored", "stored"]
    assert names(app) == ["Kits/808/kick.wav", "Kits/909/kick.wav"]
    again = batch(user, "Kit", [(three, "Kits/909/kick.wav"), (two, "Kits/808/kick.wav")])
    assert again.get_json()["message"] == "1 replaced, 1 duplicate"
    replaced, retried = again.get_json()["files"]
    assert replaced["status"] == "replaced" and "replaced by new content" in replaced["message"]
    assert retried == {**retried, "status": "duplicate", "duplicateOf": "Kits/808/kick.wav"}
    assert [p.name for p in stored_files(app)] == sorted(f"{sha(c)}.wav" for c in (two, three))
    with app.app_context():
        sample = db.session.scalar(select(Sample).where(Sample.name == "Kits/909/kick.wav"))
        assert sample.content_hash == sha(three)


def test_one_file_with_a_path_as_its_name_keeps_the_design_answer(app: Flask, user: User, tmp_path: Path) -> None:
    write(tmp_path / "k.wav", kick(0.3))
    response = user.upload("Kit", tmp_path / "k.wav", "Kits/909/kick.wav")
    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    assert names(app) == ["Kits/909/kick.wav"]
    again = user.upload("Kit", tmp_path / "k.wav", "Other/kick.wav")
    assert again.status_code == 409  # the design's one-file form keeps its status codes
    assert set(again.get_json()) == {"message"}


def test_one_file_with_a_path_field_is_a_batch(app: Flask, user: User, tmp_path: Path) -> None:
    content = wav(tmp_path, "k.wav", kick(0.3))
    response = batch(user, "Kit", [(content, "k.wav")], ["Kits/kick.wav"])
    assert response.status_code == 200
    stored = {"path": "Kits/kick.wav", "status": "stored", "message": "'Kits/kick.wav' uploaded to library 'Kit'"}
    assert response.get_json() == {"message": "1 stored", "files": [stored]}


def test_bad_and_repeated_paths_are_rejected_one_by_one(app: Flask, user: User, tmp_path: Path) -> None:
    a, b, c = (wav(tmp_path, f"{i}.wav", kick(0.3, seed=10 + i)) for i in range(3))
    paths = ["../../etc/passwd.wav", "Kits/a.wav", "Kits/a.wav", "Kits\\b.wav", "Kits/c.wav"]
    response = batch(user, "Kit", [(a, "a.wav"), (b, "b.wav"), (c, "c.wav"), (c, "c.wav"), (c, "c.wav")], paths)
    assert response.status_code == 200
    answers = response.get_json()["files"]
    assert [a["status"] for a in answers] == ["rejected", "stored", "rejected", "rejected", "stored"]
    assert "'..'" in answers[0]["message"]
    assert "more than once" in answers[2]["message"]
    assert "backslash" in answers[3]["message"]
    assert names(app) == ["Kits/a.wav", "Kits/c.wav"]
    assert not (Path(app.config["DATA_DIR"]).parent / "etc").exists()


def test_a_file_over_the_file_limit_is_rejected_alone(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(MAX_UPLOAD_MB="0.05")
    user = register(app.test_client())
    small = wav(tmp_path, "small.wav", kick(0.3))  # 26 kB
    big = wav(tmp_path, "big.wav", tone(100, 2.0))  # 176 kB
    response = batch(user, "Kit", [(small, "small.wav"), (big, "big.wav")])
    assert response.status_code == 200
    answers = response.get_json()["files"]
    assert [a["status"] for a in answers] == ["stored", "rejected"]
    assert "0.05 MB per file" in answers[1]["message"]
    assert names(app) == ["small.wav"]
    assert [p.name for p in stored_files(app)] == [f"{sha(small)}.wav"]


def test_more_files_than_the_batch_limit_is_413_naming_the_count(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(MAX_BATCH_FILES="3")
    user = register(app.test_client())
    contents = [wav(tmp_path, f"{i}.wav", kick(0.2, seed=i)) for i in range(4)]
    response = batch(user, "Kit", [(c, f"{i}.wav") for i, c in enumerate(contents)])
    assert response.status_code == 413
    message = response.get_json()["message"]
    assert "4" in message and "at most 3" in message
    assert names(app) == [] and stored_files(app) == []
    assert batch(user, "Kit", [(c, f"{i}.wav") for i, c in enumerate(contents[:3])]).status_code == 200
    assert len(names(app)) == 3


def test_a_batch_over_the_total_size_is_413_naming_the_limit(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(MAX_BATCH_MB="0.2", MAX_UPLOAD_MB="0.1", MAX_BATCH_FILES="5")
    user = register(app.test_client())
    contents = [wav(tmp_path, f"{i}.wav", kick(1.0, seed=i)) for i in range(4)]  # 88 kB each
    assert all(len(c) < 0.1 * 1024 * 1024 for c in contents)
    response = batch(user, "Kit", [(c, f"{i}.wav") for i, c in enumerate(contents)])
    assert response.status_code == 413
    message = response.get_json()["message"]
    assert "0.2 MB per request" in message and "0.1 MB per file" in message
    assert names(app) == [] and stored_files(app) == []
    assert batch(user, "Kit", [(c, f"{i}.wav") for i, c in enumerate(contents[:2])]).status_code == 200
    assert len(names(app)) == 2


def test_path_fields_must_match_the_files(app: Flask, user: User, tmp_path: Path) -> None:
    a = wav(tmp_path, "a.wav", kick(0.2))
    response = batch(user, "Kit", [(a, "a.wav"), (a, "b.wav")], ["x.wav"])
    assert response.status_code == 400
    assert "one 'path' field per file" in response.get_json()["message"]
    assert names(app) == []


def test_batch_into_a_bad_library_name_is_400(app: Flask, user: User, tmp_path: Path) -> None:
    a = wav(tmp_path, "a.wav", kick(0.2))
    response = batch(user, " padded ", [(a, "a.wav"), (a, "b.wav")])
    assert response.status_code == 400
    assert "library name" in response.get_json()["message"]
    assert stored_files(app) == []


def test_file_parts_are_never_held_in_memory_nor_left_on_disk(app: Flask, user: User, tmp_path: Path) -> None:
    """The form parser writes each part to an unnamed file in DATA_DIR/tmp: nothing named remains afterwards."""
    contents = [wav(tmp_path, f"{i}.wav", noise_burst(0.2, seed=i)) for i in range(5)]
    response = batch(user, "Kit", [(c, f"n{i}.wav") for i, c in enumerate(contents)])
    assert response.get_json()["message"] == "5 stored"
    assert list((Path(app.config["DATA_DIR"]) / "tmp").iterdir()) == []

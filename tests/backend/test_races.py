"""Concurrent use of one app: real threads against the real app and a real SQLite file (reliability findings 1, 3, 13).

Each request runs in its own thread with its own test client, as gunicorn's threads would; a barrier starts
the competing requests together.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from backend.extensions import db
from backend.models import Sample, SampleLibrary, StoredBlob
from tests.audio_factory import noise_burst
from tests.backend.conftest import User, register


def wav_bytes(seed: int) -> bytes:
    """A short, distinct 16-bit WAV."""
    out = io.BytesIO()
    sf.write(out, noise_burst(0.05, 22050, seed=seed), 22050, format="WAV", subtype="PCM_16")
    return out.getvalue()


def upload(user: User, lib: str, name: str, content: bytes) -> TestResponse:
    client = user.client.application.test_client()
    data = {"file": (io.BytesIO(content), name)}
    return client.post(f"/upload/{lib}", headers=user.headers, data=data, content_type="multipart/form-data")


def delete(user: User, lib: str, name: str) -> TestResponse:
    return user.client.application.test_client().delete(f"/sample/{lib}/{name}", headers=user.headers)


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in parallel threads, started at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def storage_state(app: Flask, user_id: int) -> tuple[set[str], set[str], set[str]]:
    """(hashes of the files on disk, hashes the samples use, hashes with a stored_blob row) of one user."""
    folder = Path(app.config["DATA_DIR"]) / "storage" / str(user_id)
    on_disk = {p.name.split(".")[0] for p in folder.glob("*")} if folder.exists() else set()
    with app.app_context():
        used = set(
            db.session.scalars(
                select(Sample.content_hash)
                .join(SampleLibrary, Sample.library_id == SampleLibrary.id)
                .where(SampleLibrary.user_id == user_id)
            )
        )
        rows = set(db.session.scalars(select(StoredBlob.content_hash).where(StoredBlob.user_id == user_id)))
    return on_disk, used, rows


def user_id_of(app: Flask, user: User) -> int:
    from backend.models import User as UserRow

    with app.app_context():
        return db.session.scalar(select(UserRow.id).where(UserRow.mail == user.mail))


@pytest.mark.slow
def test_upload_and_delete_of_the_same_content_never_lose_audio(app: Flask, user: User) -> None:
    """Finding 1: upload of content C into RaceB while RaceA's sample with C is deleted; the audio must survive."""
    lost = []
    for round_ in range(60):
        content = wav_bytes(1000 + round_)
        assert upload(user, "RaceA", "x.wav", content).status_code == 200
        delete(user, "RaceB", "y.wav")
        uploaded, deleted = together(
            lambda c=content: upload(user, "RaceB", "y.wav", c), lambda: delete(user, "RaceA", "x.wav")
        )
        assert uploaded.status_code == 200, uploaded.get_json()
        assert deleted.status_code == 200, deleted.get_json()
        audio = user.get("/audio/RaceB/y.wav")
        if audio.status_code != 200 or audio.data != content:
            lost.append(round_)
    assert lost == [], f"audio lost in rounds {lost}"
    assert user.get("/export/RaceB").status_code == 200
    on_disk, used, rows = storage_state(app, user_id_of(app, user))
    assert on_disk == used == rows


@pytest.mark.slow
def test_parallel_replacements_of_one_name_leave_no_orphans(app: Flask, user: User) -> None:
    """Finding 1: 50 parallel uploads of different content under one name; one file stays, the one in use."""
    contents = [wav_bytes(5000 + i) for i in range(50)]
    answers = together(*[lambda c=c: upload(user, "Rep", "one.wav", c) for c in contents])
    assert all(a.status_code == 200 for a in answers), [a.get_json() for a in answers if a.status_code != 200]
    on_disk, used, rows = storage_state(app, user_id_of(app, user))
    assert len(used) == 1
    assert on_disk == used == rows
    assert user.get("/audio/Rep/one.wav").data in contents


@pytest.mark.slow
def test_concurrent_new_tags_never_fail(app: Flask, user: User) -> None:
    """Finding 3: two users create the same new tag at once; six /usertags with one new tag in parallel."""
    other = register(app.test_client())
    for owner, seed in ((user, 1), (other, 2)):
        assert upload(owner, "Kit", "a.wav", wav_bytes(seed)).status_code == 200
        assert upload(owner, "Kit", "b.wav", wav_bytes(seed + 10)).status_code == 200
    def put_tags(owner: User, body: dict) -> int:
        client = owner.client.application.test_client()
        return client.put("/sampletag/update/Kit/a.wav", headers=owner.headers, json=body).status_code

    def post_usertags(entries: list) -> int:
        client = user.client.application.test_client()
        return client.post("/usertags/Kit", headers=user.headers, json=entries).status_code

    codes: list[int] = []
    for round_ in range(15):
        body = {"tags": [f"newtag-{round_}"]}
        codes += together(*[partial(put_tags, o, body) for o in (user, other)])
        entries = [{"name": "b.wav", "customTags": [f"fresh-{round_}"]}]
        codes += together(*[partial(post_usertags, entries) for _ in range(6)])
    assert set(codes) == {200}, sorted(codes)
    tags = user.get("/sample/Kit/b.wav").get_json()["tags"]
    assert ["fresh-14", "user", "1.000"] in tags


def test_concurrent_first_uploads_create_one_library(app: Flask, user: User) -> None:
    """Finding 13: eight first uploads into a new library at once all succeed, into one library."""
    answers = together(*[lambda i=i: upload(user, "Fresh", f"s{i}.wav", wav_bytes(900 + i)) for i in range(8)])
    assert [a.status_code for a in answers] == [200] * 8, [a.get_json() for a in answers]
    assert len(user.get("/get/library/Fresh").get_json()["samples"]) == 8

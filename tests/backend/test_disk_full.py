"""A full disk, for real: the app's DATA_DIR on a small tmpfs filled up. Uploads answer 507, what is stored stays
listed and playable, /health says degraded, and exports still work (they are streamed, never copied to disk)."""

from __future__ import annotations

import errno
import io
import os
import shutil
import sqlite3
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError

from backend.errors import storage_full
from tests.audio_factory import tone, write
from tests.backend.conftest import AppFactory, build_app, close_app, register

TMPFS_SIZE = 4 * 1024 * 1024
LEFT_FREE = 100 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for the test (the tests run as root); unmounted afterwards."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    assert mounted.returncode == 0, f"cannot mount a tmpfs (these tests need root on Linux): {mounted.stderr}"
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.fixture
def disk_app(small_disk: Path, template_db: Path) -> Iterator[Flask]:
    """An app whose DATA_DIR is the small tmpfs; "degraded" below 1 MiB free."""
    app = build_app(small_disk / "data", template_db, MIN_FREE_DISK_MB="1")
    try:
        yield app
    finally:
        close_app(app)


def fill(folder: Path, leave: int = LEFT_FREE) -> Path:
    """Take all free space of ``folder``'s file system but ``leave`` bytes with one file."""
    filler = folder / "filler.bin"
    size = shutil.disk_usage(folder).free - leave
    assert size > 0
    with open(filler, "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, size)
    assert shutil.disk_usage(folder).free <= leave
    return filler


def sounds(folder: Path, n: int, seconds: float) -> list[Path]:
    """``n`` different tones of ``seconds`` each (16-bit mono WAV: about 88 KB a second)."""
    return [write(folder / f"tone_{i}.wav", tone(200 + 50 * i, seconds, decay=1)) for i in range(n)]


def test_upload_on_a_full_disk_answers_507_and_keeps_what_is_stored(disk_app: Flask, tmp_path: Path) -> None:
    user = register(disk_app.test_client())
    stored = sounds(tmp_path / "stored", 3, 0.5)
    for path in stored:
        assert user.upload("Kit", path).status_code == 200
    before = user.get("/health")
    assert before.status_code == 200
    assert before.get_json()["diskFree"] > 1024 * 1024
    if before.get_json()["tagger"]:
        assert before.get_json()["status"] == "ok"

    fill(Path(disk_app.config["DATA_DIR"]))
    big = write(tmp_path / "big.wav", tone(330, 3.0))  # about 260 KB: more than is left
    response = user.upload("Kit", big)
    assert response.status_code == 507
    body = response.get_json()
    assert set(body) == {"message"} and "storage is full" in body["message"]
    assert not list((Path(disk_app.config["DATA_DIR"]) / "tmp").glob("upload-*"))

    listing = user.get("/get/library/Kit")
    assert listing.status_code == 200
    assert sorted(s["name"] for s in listing.get_json()["samples"]) == sorted(p.name for p in stored)
    for path in stored:
        audio = user.get(f"/audio/Kit/{path.name}")
        assert audio.status_code == 200
        assert audio.data == path.read_bytes()

    health = user.get("/health")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert health.get_json()["database"] is True
    assert 0 <= health.get_json()["diskFree"] <= LEFT_FREE


def test_export_needs_no_room_for_a_copy_of_the_library(disk_app: Flask, tmp_path: Path) -> None:
    user = register(disk_app.test_client())
    kit = sounds(tmp_path / "kit", 6, 1.0)
    for path in kit:
        assert user.upload("Kit", path).status_code == 200
    assert user.put(f"/sampletag/update/Kit/{kit[0].name}", json={"tags": ["Low", "Long"]}).status_code == 200
    library_bytes = sum(p.stat().st_size for p in kit)
    fill(Path(disk_app.config["DATA_DIR"]))
    assert shutil.disk_usage(disk_app.config["DATA_DIR"]).free < library_bytes

    response = user.get("/export/Kit")
    assert response.status_code == 200, response.data[:200]
    assert int(response.headers["Content-Length"]) == len(response.data)
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    expected = {f"Low/{kit[0].name}", f"Long/{kit[0].name}"} | {f"Untagged/{p.name}" for p in kit[1:]}
    assert set(archive.namelist()) == expected
    by_name = {p.name: p.read_bytes() for p in kit}
    for entry in archive.namelist():
        assert archive.read(entry) == by_name[entry.split("/", 1)[1]]


def error_app(make_app: AppFactory, exc: BaseException) -> Flask:
    """An app with a route ``/boom`` that raises ``exc``."""
    app = make_app()

    def boom() -> None:
        raise exc

    app.add_url_rule("/boom", "boom", boom)
    return app


@pytest.mark.parametrize(
    "exc",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        OperationalError("INSERT ...", {}, sqlite3.OperationalError("database or disk is full")),
    ],
    ids=["ENOSPC", "EDQUOT", "sqlite-full"],
)
def test_storage_errors_answer_507(make_app: AppFactory, exc: BaseException) -> None:
    response = error_app(make_app, exc).test_client().get("/boom")
    assert response.status_code == 507
    assert set(response.get_json()) == {"message"}
    assert "storage is full" in response.get_json()["message"]


@pytest.mark.parametrize(
    "exc",
    [OSError(errno.EIO, "Input/output error"), OperationalError("SELECT 1", {}, sqlite3.OperationalError("locked"))],
    ids=["EIO", "sqlite-locked"],
)
def test_other_errors_still_answer_500(make_app: AppFactory, exc: BaseException) -> None:
    response = error_app(make_app, exc).test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {"message": "internal server error"}


def test_storage_full_follows_the_cause() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("could not store") from inner
    except RuntimeError as outer:
        assert storage_full(outer)
    assert not storage_full(RuntimeError("other"))

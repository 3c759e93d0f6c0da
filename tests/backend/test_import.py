"""The import command: a folder tree from the server's disk, ingested like uploads; idempotent and resumable."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

from backend.extensions import db
from backend.models import Job, Sample
from backend.models import User as UserRow
from tests.audio_factory import kick, noise_burst, tone, write
from tests.backend.conftest import User
from tests.backend.test_races import storage_state

ROOT = Path(__file__).resolve().parents[2]
KITS, CATEGORIES, PER_CATEGORY = 10, 3, 10


@dataclass
class Tree:
    """A generated folder tree: where it is, the sample paths that must be stored, the other entries."""

    root: Path
    good: set[str]
    rejected: set[str]
    duplicate: dict[str, str]  # path -> the stored path with the same content
    skipped: set[str]


def make_tree(root: Path) -> Tree:
    """300 distinct one-shots in Kit_XX/<category>/ (the same base names in every kit), plus bad, duplicate,
    hidden and non-audio files."""
    good: set[str] = set()
    i = 0
    for kit in range(KITS):
        for category in ("Kicks", "Snares", "Tones"):
            for n in range(PER_CATEGORY):
                ext = ("wav", "WAV", "wav", "flac", "aiff")[n % 5]
                fmt = {"wav": "WAV", "WAV": "WAV", "flac": "FLAC", "aiff": "AIFF"}[ext]
                name = f"Kit_{kit:02d}/{category}/{category[:-1].lower()}_{n:02d}.{ext}"
                if category == "Kicks":
                    y = kick(0.12 + 0.001 * i, seed=i)
                elif category == "Snares":
                    y = noise_burst(0.1 + 0.001 * i, decay=30, seed=i)
                else:
                    y = tone(100 + 7 * i, 0.1, decay=8)
                write(root / name, y, fmt=fmt)
                good.add(name)
                i += 1
    (root / "Kit_00/broken.wav").write_bytes(b"not audio at all\n" * 30)
    cut = (root / "Kit_01/Kicks/kick_00.wav").read_bytes()
    (root / "Kit_01/cut.wav").write_bytes(cut[: len(cut) // 2])
    (root / "Kit_02/copy of kick.wav").write_bytes((root / "Kit_02/Kicks/kick_02.wav").read_bytes())
    (root / "Kit_02/readme.txt").write_text("kit notes")
    (root / "Kit_03/._kick_00.wav").write_bytes(b"\0\5\26\7 AppleDouble")
    (root / ".trash").mkdir()
    write(root / ".trash/old.wav", kick(0.2, seed=999))
    return Tree(
        root,
        good,
        rejected={"Kit_00/broken.wav", "Kit_01/cut.wav"},
        duplicate={"Kit_02/copy of kick.wav": "Kit_02/Kicks/kick_02.wav"},
        skipped={"Kit_02/readme.txt", "Kit_03/._kick_00.wav", ".trash/"},
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    return make_tree(tmp_path_factory.mktemp("tree") / "Samples")


def run_import(app: Flask, user: User, folder: Path, *args: str) -> Result:
    cmd = ["drumsampler", "import", str(folder), "--user", user.mail, "--library", "Lib", *args]
    return app.test_cli_runner().invoke(args=cmd)


def user_id(app: Flask, user: User) -> int:
    with app.app_context():
        return db.session.scalar(select(UserRow.id).where(UserRow.mail == user.mail))


def sample_names(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Sample.name)))




def tmp_files(app: Flask) -> list[Path]:
    folder = Path(app.config["DATA_DIR"]) / "tmp"
    return sorted(folder.iterdir()) if folder.exists() else []


def summary_line(n: dict[str, int]) -> str:
    order = ("stored", "replaced", "unchanged", "duplicate", "rejected", "skipped")
    return ", ".join(f"{n.get(status, 0)} {status}" for status in order)


@pytest.mark.slow
def test_import_twice_stores_everything_once(app: Flask, user: User, tree: Tree, tmp_path: Path) -> None:
    first = run_import(app, user, tree.root, "--report", str(tmp_path / "report.json"))
    assert first.exit_code == 0, first.output
    counts = {"stored": 300, "duplicate": 1, "rejected": 2, "skipped": 3}
    assert summary_line(counts) in first.output
    assert "Kit_00/broken.wav: 'Kit_00/broken.wav' is not a supported audio file" in first.output
    assert "Kit_01/cut.wav" in first.output and "truncated" in first.output
    assert sample_names(app) == tree.good
    on_disk, used, rows = storage_state(app, user_id(app, user))
    assert len(on_disk) == 300 and on_disk == used == rows
    assert tmp_files(app) == []
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"] == {"replaced": 0, "unchanged": 0, **counts}
    listed = {f["path"]: f for f in report["files"]}
    assert set(listed) == tree.rejected | set(tree.duplicate) | tree.skipped
    assert listed["Kit_02/copy of kick.wav"]["duplicateOf"] == "Kit_02/Kicks/kick_02.wav"
    assert listed["Kit_02/readme.txt"]["status"] == "skipped"
    with app.app_context():
        (job,) = db.session.scalars(select(Job)).all()
        assert job.state == "queued" and job.owner is None and job.total == 300  # any server's sweeper claims it
    assert job.id in first.output and "make run" in first.output

    second = run_import(app, user, tree.root)
    assert second.exit_code == 0, second.output
    assert summary_line({"unchanged": 300, "duplicate": 1, "rejected": 2, "skipped": 3}) in second.output
    assert storage_state(app, user_id(app, user))[0] == on_disk
    with app.app_context():
        assert [j.id for j in db.session.scalars(select(Job))] == [job.id]  # the same job, still queued

    listing = user.get("/get/library/Lib").get_json()
    assert {s["name"] for s in listing["samples"]} == tree.good


def test_changed_and_new_files_are_replaced_and_stored(app: Flask, user: User, tmp_path: Path) -> None:
    root = tmp_path / "Small"
    for n in range(3):
        write(root / f"Kit/{n}/kick.wav", kick(0.2, seed=n))  # equal base names in different folders
    assert run_import(app, user, root, "--no-analyse").exit_code == 0
    write(root / "Kit/1/kick.wav", kick(0.3, seed=50))
    write(root / "Kit/3/kick.wav", kick(0.2, seed=51))
    again = run_import(app, user, root, "--no-analyse")
    assert again.exit_code == 0, again.output
    assert summary_line({"stored": 1, "replaced": 1, "unchanged": 2}) in again.output
    assert sample_names(app) == {f"Kit/{n}/kick.wav" for n in range(4)}
    on_disk, used, rows = storage_state(app, user_id(app, user))
    assert len(on_disk) == 4 and on_disk == used == rows
    with app.app_context():
        assert db.session.scalars(select(Job)).all() == []  # --no-analyse


def test_bad_arguments_exit_with_2(app: Flask, user: User, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    write(tmp_path / "a.wav", kick(0.2))
    unknown = runner.invoke(args=["drumsampler", "import", str(tmp_path), "--user", "nobody@x.org", "--library", "L"])
    assert unknown.exit_code == 2 and "no account" in unknown.output
    nope = str(tmp_path / "nope")
    missing = runner.invoke(args=["drumsampler", "import", nope, "--user", user.mail, "--library", "L"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad_lib = runner.invoke(args=["drumsampler", "import", str(tmp_path), "--user", user.mail, "--library", "a/b"])
    assert bad_lib.exit_code == 2 and "library name" in bad_lib.output
    assert runner.invoke(args=["drumsampler", "import", str(tmp_path), "--user", user.mail]).exit_code == 2
    assert sample_names(app) == set()


def test_links_out_of_the_tree_and_special_files_are_skipped(app: Flask, user: User, tmp_path: Path) -> None:
    outside = write(tmp_path / "outside/secret.wav", kick(0.2, seed=1))
    root = tmp_path / "Tree"
    inside = write(root / "Kit/kick.wav", kick(0.2, seed=2))
    (root / "out.wav").symlink_to(outside)
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "Kit/z-alias.wav").symlink_to(inside)
    os.mkfifo(root / "pipe.wav")
    result = run_import(app, user, root, "--report", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    assert sample_names(app) == {"Kit/kick.wav"}
    files = {f["path"]: f for f in json.loads((tmp_path / "r.json").read_text())["files"]}
    assert "out of the imported folder" in files["out.wav"]["message"]
    assert "folder (not followed)" in files["loop/"]["message"]
    assert files["pipe.wav"]["message"] == "not a regular file"
    assert files["Kit/z-alias.wav"]["status"] == "duplicate"  # a link inside the tree: the same content
    assert files["Kit/z-alias.wav"]["duplicateOf"] == "Kit/kick.wav"


def test_leftovers_of_a_killed_import_are_removed(app: Flask, user: User, tmp_path: Path) -> None:
    """A dead import's temporary file and a stored file whose transaction never committed go; a live one's stay."""
    write(tmp_path / "Tree/kick.wav", kick(0.2))
    assert run_import(app, user, tmp_path / "Tree").exit_code == 0
    uid = user_id(app, user)
    data = Path(app.config["DATA_DIR"])
    dead = _dead_pid()
    live = subprocess.Popen(["sleep", "60"])
    try:
        stale = data / "tmp" / f"upload-import-{dead}-abc123"
        running = data / "tmp" / f"upload-import-{live.pid}-def456"
        stale.write_bytes(b"half a file")
        running.write_bytes(b"in progress")
        orphan = data / "storage" / str(uid) / f"{'a' * 64}.wav"
        orphan.write_bytes(b"stored, never committed")
        result = run_import(app, user, tmp_path / "Tree")
        assert result.exit_code == 0, result.output
        assert "1 temporary file(s), 1 stored file(s) no sample used" in result.output, result.output[-800:]
        assert tmp_files(app) == [running]
        assert not orphan.exists()
        on_disk, used, rows = storage_state(app, uid)
        assert len(on_disk) == 1 and on_disk == used == rows
    finally:
        live.kill()
        live.wait()


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _count_samples(db_path: Path) -> int:
    with sqlite3.connect(db_path, timeout=30) as connection:
        return connection.execute("SELECT count(*) FROM sample").fetchone()[0]


@pytest.mark.slow
def test_a_killed_import_resumes(app: Flask, user: User, tree: Tree) -> None:
    """SIGKILL in the middle of an import; the next run stores the rest, with nothing partial left anywhere."""
    data = Path(app.config["DATA_DIR"])
    env = {**os.environ, "DATA_DIR": str(data), "RATELIMIT_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "flask", "--app", "backend", "drumsampler", "import", str(tree.root)]
    process = subprocess.Popen(
        [*cmd, "--user", user.mail, "--library", "Lib"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(sqlite3.OperationalError):
                if _count_samples(data / "drumsampler.db") >= 40:
                    break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    killed_at = _count_samples(data / "drumsampler.db")
    assert 40 <= killed_at < len(tree.good), "the import was not interrupted in the middle"

    result = run_import(app, user, tree.root)
    assert result.exit_code == 0, result.output
    counts = {"stored": 300 - killed_at, "unchanged": killed_at, "duplicate": 1, "rejected": 2, "skipped": 3}
    assert summary_line(counts) in result.output
    assert sample_names(app) == tree.good
    on_disk, used, rows = storage_state(app, user_id(app, user))
    assert len(on_disk) == 300 and on_disk == used == rows  # no orphaned stored file
    assert tmp_files(app) == []  # no temporary left
    with app.app_context():
        jobs = db.session.scalars(select(Job)).all()
    assert len(jobs) == 1 and jobs[0].total == 300  # the killed run queued none

"""Folder-aware samples (issue 18, part 1): a sample's name is its path in the library; equal base names in
different folders are different samples, on every route; old databases migrate."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import unicodedata
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from backend import MIGRATIONS_DIR, create_app
from backend.errors import ApiError
from backend.services.access import check_sample_path
from tests.audio_factory import kick, noise_burst, write
from tests.backend.conftest import BASE_ENV, PASSWORD, User, close_app, path_url

KIT_A, KIT_B = "Kits/909/kick.wav", "Kits/808 Classic/kick.wav"






@pytest.fixture
def kits(user: User, tmp_path: Path) -> tuple[User, Path, Path]:
    """Two different sounds, both called kick.wav, in two kit folders; plus a root-level snare."""
    a = write(tmp_path / "a.wav", kick(0.4, seed=1))
    b = write(tmp_path / "b.wav", kick(0.6, seed=2))
    snare = write(tmp_path / "snare.wav", noise_burst(0.3, seed=3))
    user.stored("Drums", a, KIT_A)
    user.stored("Drums", b, KIT_B)
    user.stored("Drums", snare, "snare.wav")
    return user, a, b


def test_equal_base_names_in_different_folders_are_different_samples(kits: tuple[User, Path, Path]) -> None:
    user, a, b = kits
    names = [s["name"] for s in user.get("/get/library/Drums").get_json()["samples"]]
    assert names == [KIT_B, KIT_A, "snare.wav"]
    assert user.get(f"/audio/Drums/{path_url(KIT_A)}").data == a.read_bytes()
    assert user.get(f"/audio/Drums/{path_url(KIT_B)}").data == b.read_bytes()
    disposition = user.get(f"/audio/Drums/{path_url(KIT_B)}").headers["Content-Disposition"]
    assert 'filename="kick.wav"' in disposition
    details = user.get(f"/sample/Drums/{path_url(KIT_B)}").get_json()
    assert details["name"] == KIT_B and details["size"] == b.stat().st_size


def test_tags_favourites_delete_and_audio_links_by_path(kits: tuple[User, Path, Path]) -> None:
    user, _, b = kits
    assert user.put(f"/sampletag/update/Drums/{path_url(KIT_A)}", json={"tags": ["punchy"]}).status_code == 200
    assert user.put(f"/samplefavorite/update/Drums/{path_url(KIT_B)}", json={"isFavorite": True}).status_code == 200
    tagged = user.post("/usertags/Drums", json=[{"name": KIT_B, "customTags": ["boomy"]}])
    assert tagged.get_json() == {KIT_B: ["boomy"], KIT_A: ["punchy"]}
    samples = {s["name"]: s for s in user.get("/get/library/Drums").get_json()["samples"]}
    assert samples[KIT_B]["isFavorite"] and not samples[KIT_A]["isFavorite"]
    link = user.get(f"/audio-url/Drums/{path_url(KIT_B)}").get_json()["url"]
    assert user.client.get(link).data == b.read_bytes()
    assert user.delete(f"/sample/Drums/{path_url(KIT_A)}").status_code == 200
    names = [s["name"] for s in user.get("/get/library/Drums").get_json()["samples"]]
    assert names == [KIT_B, "snare.wav"]
    assert user.get(f"/audio/Drums/{path_url(KIT_B)}").status_code == 200


def test_the_export_keeps_the_folders(kits: tuple[User, Path, Path]) -> None:
    user, a, b = kits
    response = user.get("/export/Drums")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        entries = sorted(archive.namelist())
        assert entries == [f"Untagged/{KIT_B}", f"Untagged/{KIT_A}", "Untagged/snare.wav"]
        assert archive.read(f"Untagged/{KIT_A}") == a.read_bytes()
        assert archive.read(f"Untagged/{KIT_B}") == b.read_bytes()


def test_paths_are_one_unicode_form(user: User, tmp_path: Path) -> None:
    """A path sent in NFD is stored in NFC, and found under either form."""
    source = write(tmp_path / "x.wav", kick(0.3, seed=9))
    nfd = unicodedata.normalize("NFD", "Caf\u00e9/Kicks/K\u00f6lsch.wav")
    user.stored("Drums", source, nfd)
    (sample,) = user.get("/get/library/Drums").get_json()["samples"]
    assert sample["name"] == unicodedata.normalize("NFC", nfd)
    assert user.get(f"/sample/Drums/{path_url(nfd)}").status_code == 200
    assert user.get(f"/sample/Drums/{path_url(sample['name'])}").status_code == 200


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../kick.wav", "'..'"),
        ("Kits/../../kick.wav", "'..'"),
        ("Kits//kick.wav", "empty"),
        ("/etc/kick.wav", "relative"),
        ("Kits/ kick.wav", "white space"),
        ("Kits/./kick.wav", "'.'"),
        ("/".join(["d"] * 40) + "/k.wav", "folders deep"),
        ("Kits/" + "x" * 300 + ".wav", "longer than 255 bytes"),
        ("/".join(["y" * 200] * 6) + "/k.wav", "longer than 1024 bytes"),
        ("Kits/kick\x07.wav", "control"),
    ],
)
def test_invalid_paths_are_refused(user: User, sounds: list[Path], path: str, problem: str) -> None:
    data = {"file": (io.BytesIO(sounds[0].read_bytes()), path)}
    response = user.post("/upload/Drums", data=data, content_type="multipart/form-data")
    assert response.status_code == 400, response.get_json()
    assert problem in response.get_json()["message"]
    assert user.get("/get/libraries").get_json() == []


def test_backslashes_are_refused() -> None:
    """(A multipart file name cannot carry one: Werkzeug reads ``\\`` there as an escape.)"""
    with pytest.raises(ApiError, match="backslash"):
        check_sample_path("Kits\\kick.wav")


def test_a_database_of_the_previous_schema_migrates(tmp_path: Path, sounds: list[Path]) -> None:
    """A database at revision 0007 with flat names, written as that schema's code wrote it: after the upgrade,
    the names are root-level paths and every route finds them; the waveform columns exist, empty."""
    folder = tmp_path / "old"
    app = create_app(env={**BASE_ENV, "DATA_DIR": str(folder)})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0007")
    close_app(app)
    db_file = folder / "drumsampler.db"
    content = sounds[1].read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    stored = folder / "storage" / "1" / f"{digest}.wav"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(content)
    now = "2026-11-30 12:00:00.000000"
    with sqlite3.connect(db_file) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0007",)
        connection.execute(
            "INSERT INTO user (id, mail, password_hash, created_at) VALUES (1, ?, ?, ?)",
            ("old@example.org", generate_password_hash(PASSWORD), now),
        )
        connection.execute(
            "INSERT INTO samplelibrary (id, user_id, name, created_at, version, content_version) "
            "VALUES (1, 1, 'Drums', ?, 1, 1)",
            (now,),
        )
        connection.execute(
            "INSERT INTO sample (library_id, name, content_hash, format, size_bytes, duration, samplerate, channels, "
            "is_favorite, created_at, analysis_runs, auto_tag_rejected) "
            "VALUES (1, 'snare 1.wav', ?, 'WAV', ?, 0.3, 44100, 1, 1, ?, 0, 0)",
            (digest, len(content), now),
        )
        connection.execute(
            "INSERT INTO stored_blob (user_id, content_hash, format, created_at) VALUES (1, ?, 'WAV', ?)",
            (digest, now),
        )

    app = create_app(env={**BASE_ENV, "DATA_DIR": str(folder)})
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR)
        client = app.test_client()
        token = client.post("/login", data={"mail": "old@example.org", "password": PASSWORD}).get_json()["token"]
        user = User(client, "old@example.org", token, "")
        listing = user.get("/get/library/Drums").get_json()["samples"]
        assert listing == [{"name": "snare 1.wav", "isFavorite": True, "tags": []}]
        assert user.get("/audio/Drums/snare%201.wav").data == content
        assert user.get("/sample/Drums/snare%201.wav").get_json()["contentHash"] == digest
        with sqlite3.connect(db_file) as connection:
            assert connection.execute("SELECT thumb, peaks FROM sample").fetchall() == [(None, None)]
    finally:
        close_app(app)


def test_routes_take_the_path_as_the_rest_of_the_url(app: Flask) -> None:
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    for route in ("/sample", "/audio", "/audio-url", "/similar", "/sampletag/update", "/samplefavorite/update"):
        assert f"{route}/<lib_name>/<path:sample_name>" in rules

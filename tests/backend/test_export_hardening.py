"""Downloads that no client can misread: Content-Disposition names, streamed ZIP exports, ZIP entry names, 413
messages and Range headers that HTTP says to ignore."""

from __future__ import annotations

import io
import logging
import ntpath
import posixpath
import re
import unicodedata
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from flask import Flask

from backend.services import downloads, storage
from backend.services.export import safe_segment
from tests.backend.conftest import AppFactory, User, drum_kit, register

FULLWIDTH_SLASH, FULLWIDTH_BACKSLASH = "\uff0f", "\uff3c"
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def disposition(header: str) -> tuple[str, str]:
    """The ``filename`` and the decoded ``filename*`` of a Content-Disposition header."""
    plain = re.search(r'filename="([^"]*)"', header)
    extended = re.search(r"filename\*=UTF-8''([^;\s]*)", header)
    assert plain and extended, header
    return plain.group(1), unquote(extended.group(1), errors="strict")


def assert_plain_file_name(value: str) -> None:
    """Not a path for any client: no separator (also after NFKC), no ``..``, no leading dot, not empty."""
    for form in (value, unicodedata.normalize("NFKC", value), unicodedata.normalize("NFKD", value)):
        assert "/" not in form and "\\" not in form, value
        assert posixpath.basename(form) == form and ntpath.basename(form) == form, value
    assert value and not value.startswith("."), value
    assert not any(unicodedata.category(c) == "Cc" for c in value), value


def upload(user: User, lib: str, path: Path, name: str) -> None:
    """Upload ``path`` as ``name`` into ``lib`` (URL-quoted), expecting success."""
    response = user.upload(quote(lib, safe=""), path, name)
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    "name",
    [
        f"..{FULLWIDTH_SLASH}..{FULLWIDTH_SLASH}..{FULLWIDTH_SLASH}tmp{FULLWIDTH_SLASH}evil.zip",
        f"..{FULLWIDTH_BACKSLASH}..{FULLWIDTH_BACKSLASH}windows{FULLWIDTH_BACKSLASH}evil.wav",
        "a\u2215b\u2044c\ufe68d.wav",
        "../etc/passwd",
        "..\\boot.ini",
        "キック.wav",
        "...",
        "",
        'q"uote;%22.wav',
        "C:evil.wav",
    ],
)
def test_content_disposition_names_are_plain_file_names(name: str) -> None:
    header = downloads.content_disposition(name)
    assert header.startswith("attachment; ")
    fallback, utf8 = disposition(header)
    assert fallback.isascii()
    assert not set(fallback) & set('/\\:*?"<>|')
    assert_plain_file_name(fallback)
    assert_plain_file_name(utf8)
    assert downloads.content_disposition(name, inline=True).startswith("inline; ")


def test_content_disposition_keeps_harmless_names() -> None:
    assert disposition(downloads.content_disposition("Kit 1.zip")) == ("Kit 1.zip", "Kit 1.zip")
    assert disposition(downloads.content_disposition("Café.wav")) == ("Cafe.wav", "Café.wav")
    assert disposition(downloads.content_disposition("キック.wav")) == ("download.wav", "キック.wav")


def test_download_names_of_export_and_audio_are_no_paths(user: User, sounds: list[Path]) -> None:
    lib = f"{FULLWIDTH_SLASH}..{FULLWIDTH_SLASH}..{FULLWIDTH_SLASH}tmp{FULLWIDTH_SLASH}evil"
    sample = f"..{FULLWIDTH_BACKSLASH}..{FULLWIDTH_SLASH}tmp{FULLWIDTH_SLASH}evil.wav"
    upload(user, lib, sounds[0], sample)
    exported = user.get(f"/export/{quote(lib, safe='')}")
    assert exported.status_code == 200
    audio = user.get(f"/audio/{quote(lib, safe='')}/{quote(sample, safe='')}")
    assert audio.status_code == 200
    assert audio.data == sounds[0].read_bytes()
    for response in (exported, audio):
        fallback, utf8 = disposition(response.headers["Content-Disposition"])
        assert_plain_file_name(fallback)
        assert_plain_file_name(utf8)
        assert "../" not in fallback and "..\\" not in fallback
    assert exported.headers["Content-Disposition"].startswith("attachment; ")
    assert audio.headers["Content-Disposition"].startswith("inline; ")


def test_export_is_streamed_with_its_length_and_one_folder_per_tag(user: User, tmp_path: Path) -> None:
    files = drum_kit(tmp_path / "kit", 4)
    for path in files:
        upload(user, "Kit", path, path.name)
    tags = {files[0].name: ["Kick", "Punchy"], files[1].name: ["Snare"], files[2].name: ["Punchy"]}
    for name, tag_list in tags.items():
        assert user.put(f"/sampletag/update/Kit/{name}", json={"tags": tag_list}).status_code == 200
    response = user.get("/export/Kit", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.is_streamed
    length = int(response.headers["Content-Length"])
    data = response.get_data()
    assert len(data) == length
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    expected = {f"{tag}/{name}" for name, tag_list in tags.items() for tag in tag_list} | {f"Untagged/{files[3].name}"}
    assert set(archive.namelist()) == expected
    by_name = {p.name: p.read_bytes() for p in files}
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info) == by_name[info.filename.split("/", 1)[1]]


def test_export_leaves_out_missing_audio_with_a_warning(
    app: Flask, user: User, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = drum_kit(tmp_path / "kit", 3)
    for path in files:
        upload(user, "Kit", path, path.name)
    with app.app_context():
        for stored in (storage.data_dir() / "storage").glob("*/*"):
            if stored.read_bytes() == files[1].read_bytes():
                stored.unlink()
    with caplog.at_level(logging.WARNING, logger="backend"):
        response = user.get("/export/Kit")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == sorted(f"Untagged/{p.name}" for p in (files[0], files[2]))
    assert any(files[1].name in record.getMessage() for record in caplog.records)


def assert_extractable_everywhere(names: list[str]) -> None:
    """Entry names that Windows, macOS and Linux extract as they are, without two files landing on one."""
    keys = set()
    for entry in names:
        for segment in entry.split("/"):
            assert segment and segment == unicodedata.normalize("NFC", segment), entry
            assert not set(segment) & set(':*?"<>|\\'), entry
            assert not any(ord(c) < 32 for c in segment), entry
            assert not segment.endswith((".", " ")), entry
            assert segment.split(".", 1)[0].rstrip(" ").upper() not in RESERVED, entry
        keys.add(unicodedata.normalize("NFC", entry).casefold())
    assert len(keys) == len(names), names


def test_zip_entry_names_extract_on_every_system(user: User, tmp_path: Path) -> None:
    names = [
        "Kick.wav",
        "kick.wav",
        "kick (2).wav",
        "caf\u00e9.wav",
        "Caf\u00c9.wav",
        "a:b.wav",
        "what?*<>|.wav",
        "con.wav",
        "NUL",
        "Com1.tar.wav",
        "lpt9 .wav",
        "snare.",
    ]
    files = drum_kit(tmp_path / "kit", len(names))
    for name, path in zip(names, files, strict=True):
        upload(user, "Kit", path, name)
    listed = sorted(s["name"] for s in user.get("/get/library/Kit").get_json()["samples"])
    assert listed == sorted(names)
    assert user.put("/sampletag/update/Kit/Kick.wav", json={"tags": ["Aux", "Snare: tight"]}).status_code == 200
    assert user.put("/sampletag/update/Kit/kick.wav", json={"tags": ["aux"]}).status_code == 200
    response = user.get("/export/Kit")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    entries = archive.namelist()
    assert_extractable_everywhere(entries)
    untagged = {e.split("/", 1)[1] for e in entries if e.startswith("Untagged/")}
    assert {"kick (2).wav", "_con.wav", "_NUL", "_Com1.tar.wav", "_lpt9 .wav", "a_b.wav", "what_____.wav"} <= untagged
    assert "snare" in untagged  # (names with white space at either end, or in NFD, are refused or normalised at upload)
    assert sum(1 for n in untagged if n.casefold().startswith("caf")) == 2
    assert sorted(e for e in entries if e.startswith("_Aux/")) == ["_Aux/Kick.wav", "_Aux/kick (2).wav"]
    assert entries.count("Snare_ tight/Kick.wav") == 1
    contents = sorted(archive.read(e) for e in entries if e.startswith("Untagged/"))
    untagged_files = [p for name, p in zip(names, files, strict=True) if name not in ("Kick.wav", "kick.wav")]
    assert contents == sorted(p.read_bytes() for p in untagged_files)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("aux", "_aux"),
        ("LPT1.wav", "_LPT1.wav"),
        ("com\u00b9.wav", "_com\u00b9.wav"),
        ("console.wav", "console.wav"),
        ("..", "_"),
        ("a\uff0fb.wav", "a_b.wav"),
        ("x" * 300 + ".wav", "x" * 251 + ".wav"),
    ],
)
def test_safe_segment(name: str, expected: str) -> None:
    assert safe_segment(name) == expected


def test_413_for_too_many_form_parts_names_the_parts(user: User) -> None:
    fields = {f"field{i}": "x" for i in range(1100)}
    response = user.post("/upload/Kit", data=fields, content_type="multipart/form-data")
    assert response.status_code == 413
    message = response.get_json()["message"]
    assert "parts" in message and "1000" in message
    assert "MB" not in message


def test_413_for_a_large_form_field_names_the_field(user: User) -> None:
    response = user.post("/upload/Kit", data={"note": "x" * (2 * 1024 * 1024)}, content_type="multipart/form-data")
    assert response.status_code == 413
    message = response.get_json()["message"]
    assert "form field" in message and "per file" not in message


def test_413_for_a_large_upload_names_the_upload_limit(make_app: AppFactory, tmp_path: Path) -> None:
    user = register(make_app(MAX_UPLOAD_MB="0.0625").test_client())
    big = tmp_path / "big.wav"
    big.write_bytes(b"\0" * (200 * 1024))
    response = user.upload("Kit", big)
    assert response.status_code == 413
    assert "uploads are limited to 0.0625 MB per file" in response.get_json()["message"]


@pytest.fixture
def played(user: User, sounds: list[Path]) -> tuple[User, bytes]:
    """A user with one sample ``Kit/one.wav`` and its bytes."""
    upload(user, "Kit", sounds[0], "one.wav")
    return user, sounds[0].read_bytes()


@pytest.mark.parametrize("value", ["bytes=", "garbage", "bytes=5-2", "items=0-1", "bytes=abc-", "bytes=0-1,4-5"])
def test_unusable_range_is_ignored(played: tuple[User, bytes], value: str) -> None:
    user, data = played
    response = user.get("/audio/Kit/one.wav", headers={"Range": value})
    assert response.status_code == 200, value
    assert response.data == data
    assert "Content-Range" not in response.headers


def test_valid_range_is_served_and_unsatisfiable_one_refused(played: tuple[User, bytes]) -> None:
    user, data = played
    partial = user.get("/audio/Kit/one.wav", headers={"Range": "bytes=2-9"})
    assert partial.status_code == 206
    assert partial.data == data[2:10]
    assert partial.headers["Content-Range"] == f"bytes 2-9/{len(data)}"
    suffix = user.get("/audio/Kit/one.wav", headers={"Range": "bytes=-4"})
    assert suffix.status_code == 206 and suffix.data == data[-4:]
    refused = user.get("/audio/Kit/one.wav", headers={"Range": "bytes=99999999-"})
    assert refused.status_code == 416

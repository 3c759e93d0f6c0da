"""Crafted and hostile input (reliability findings 5, 6, 7, 8 and the JSON limit of 13): 4xx with a JSON message,
never a 500, and nothing stored is lost."""

from __future__ import annotations

import io
import time
from pathlib import Path

import jwt as pyjwt
import numpy as np
import pytest
import soundfile as sf
from flask import Flask

from tests.audio_factory import kick, write
from tests.backend.conftest import PASSWORD, AppFactory, User, register

DEEP = "[" * 100_000 + "]" * 100_000


def assert_json_error(response, status: int | tuple[int, ...]) -> str:  # type: ignore[no-untyped-def]
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.data[:300])
    assert response.is_json, response.data[:300]
    return response.get_json()["message"]


@pytest.fixture
def library(user: User, sounds: list[Path]) -> User:
    assert user.upload("Drums", sounds[0], "kick.wav").status_code == 200
    return user


@pytest.mark.parametrize(
    ("method", "url", "auth"),
    [
        ("put", "/sampletag/update/Drums/kick.wav", True),
        ("post", "/usertags/Drums", True),
        ("put", "/samplefavorite/update/Drums/kick.wav", True),
        ("patch", "/library/Drums", True),
        ("post", "/login", False),
        ("post", "/register", False),
    ],
)
def test_deeply_nested_json_is_a_400(library: User, method: str, url: str, auth: bool) -> None:
    client = library.client
    headers = {**(library.headers if auth else {}), "Content-Type": "application/json"}
    message = assert_json_error(getattr(client, method)(url, data=DEEP, headers=headers), 400)
    assert "nested too deeply" in message


@pytest.mark.parametrize(
    ("url", "body", "auth"),
    [
        ("/login", '{"mail": "\\ud800@x.org", "password": "a long enough password 1"}', False),
        ("/register", '{"mail": "\\ud800@x.org", "password": "a long enough password 1"}', False),
        ("/register", '{"mail": "a@x.org", "password": "pass\\udfffword of some length"}', False),
        ("/usertags/Drums", '[{"name": "\\ud800", "customTags": ["x"]}]', True),
        ("/usertags/Drums", '[{"name": "kick.wav", "customTags": ["\\ud800"]}]', True),
    ],
)
def test_lone_surrogates_are_a_400(library: User, url: str, body: str, auth: bool) -> None:
    headers = {**(library.headers if auth else {}), "Content-Type": "application/json"}
    message = assert_json_error(library.client.post(url, data=body, headers=headers), 400)
    assert "Unicode" in message
    assert library.get("/get/library/Drums").get_json()["samples"][0]["name"] == "kick.wav"


@pytest.mark.parametrize("n", ["²", "٣", "1" * 40, "-1", "0", "101"])
def test_similar_n_must_be_a_plain_integer(library: User, n: str) -> None:
    assert "integer from 1 to 100" in assert_json_error(library.get(f"/similar/Drums/kick.wav?n={n}"), 400)


def signed(app: Flask, user: User, **changes: object) -> str:
    """A validly signed access token like ``user``'s, with claims changed (None removes one)."""
    claims = pyjwt.decode(user.token, options={"verify_signature": False})
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")


@pytest.mark.parametrize(
    "changes",
    [
        {"sid": ["a", "b"]},
        {"sid": {"a": 1}},
        {"sid": "x" * 10_000},
        {"sub": "²"},
        {"sub": "1234567890123456789012345678901234567890"},
        {"sub": 7},
        {"iat": None},
        {"iat": "yesterday"},
    ],
)
@pytest.mark.parametrize("url", ["/get/libraries", "/logout", "/audio-url/Drums/kick.wav"])
def test_signed_tokens_with_malformed_claims_are_a_401(app: Flask, library: User, changes: dict, url: str) -> None:
    token = signed(app, library, **changes)
    method = library.client.post if url == "/logout" else library.client.get
    assert "invalid token" in assert_json_error(method(url, headers={"Authorization": f"Bearer {token}"}), 401)
    assert library.get("/get/libraries").get_json() == ["Drums"]  # the real session still works


def test_json_bodies_have_their_own_small_limit(library: User) -> None:
    """A JSON body above MAX_JSON_MB (2 MB by default) is refused before it is parsed."""
    big = '[{"name": "kick.wav", "customTags": ["' + "x" * (3 * 1024 * 1024) + '"]}]'
    message = assert_json_error(
        library.post("/usertags/Drums", data=big, headers={"Content-Type": "application/json"}), 413
    )
    assert "JSON bodies are limited to 2 MB" in message
    form = assert_json_error(library.client.post("/login", data={"mail": "a@b.org", "password": "x" * (3 << 20)}), 413)
    assert "MB" in form


@pytest.mark.parametrize("password", ["12345678", "password", " " * 8, "MAIL", "drumsampler1"])
def test_weak_passwords_are_refused(client, password: str) -> None:  # type: ignore[no-untyped-def]
    mail = "producer@example.org"
    response = client.post("/register", data={"mail": mail, "password": mail if password == "MAIL" else password})
    assert "too easy to guess" in assert_json_error(response, 400)


def test_a_strong_password_is_accepted(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/register", data={"mail": "p@example.org", "password": "kick snare hat 909"}).status_code == 200


def test_long_passwords_are_estimated_without_error(client) -> None:  # type: ignore[no-untyped-def]
    """zxcvbn refuses to look at more than 72 characters: the estimate takes the first 72 (found by schemathesis)."""
    strong = "kick snare hat 909 " * 10
    assert client.post("/register", data={"mail": "long@example.org", "password": strong}).status_code == 200
    weak = "a" * 200
    assert "too easy to guess" in assert_json_error(
        client.post("/register", data={"mail": "weak@example.org", "password": weak}), 400
    )


def test_failed_logins_of_one_account_are_limited_from_every_client(make_app: AppFactory) -> None:
    """Finding 6: the per-account limit counts failed logins from all addresses; other accounts are untouched."""
    app = make_app(RATELIMIT_ENABLED="true", AUTH_RATE_LIMIT="100 per minute", ACCOUNT_LOGIN_LIMIT="3 per minute")
    victim, bystander = register(app.test_client()), register(app.test_client())
    codes = []
    for i in range(5):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        codes.append(client.post("/login", data={"mail": victim.mail, "password": "wrong password"}).status_code)
    assert codes == [401, 401, 401, 429, 429]
    refused = app.test_client().post("/login", data={"mail": victim.mail.upper(), "password": PASSWORD})
    assert "too many failed logins for this account" in assert_json_error(refused, 429)
    assert app.test_client().post("/login", data={"mail": bystander.mail, "password": PASSWORD}).status_code == 200


def test_behind_a_trusted_proxy_one_attacker_does_not_lock_out_everyone(make_app: AppFactory) -> None:
    """With TRUSTED_PROXIES=1 the per-client limit counts the address the proxy reports, not the proxy's."""
    app = make_app(RATELIMIT_ENABLED="true", AUTH_RATE_LIMIT="3 per minute", TRUSTED_PROXIES="1")
    client = app.test_client()
    attacker = {"X-Forwarded-For": "198.51.100.7"}
    wrong = {"mail": "someone@example.org", "password": "wrong password"}
    codes = [client.post("/login", data=wrong, headers=attacker).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    honest = client.post(
        "/register", data={"mail": "honest@example.org", "password": PASSWORD}, headers={"X-Forwarded-For": "192.0.2.9"}
    )
    assert honest.status_code == 200


REFUSED_FORMATS = [
    ("AU", "PCM_16"),
    ("CAF", "PCM_16"),
    ("VOC", "PCM_16"),
    ("NIST", "PCM_16"),
    ("IRCAM", "PCM_16"),
    ("XI", "DPCM_16"),
    ("MAT5", "PCM_16"),
    ("SVX", "PCM_16"),
    ("HTK", "PCM_16"),
    ("W64", "PCM_16"),
    ("RF64", "PCM_16"),
]


@pytest.mark.parametrize(("fmt", "subtype"), REFUSED_FORMATS, ids=[f for f, _ in REFUSED_FORMATS])
def test_undocumented_formats_are_a_415_naming_the_format(
    library: User, tmp_path: Path, fmt: str, subtype: str
) -> None:
    path = write(tmp_path / f"s.{fmt.lower()}", kick(0.3, 44100, seed=3), 44100, fmt, subtype)
    message = assert_json_error(library.upload("Drums", path), 415)
    assert sf.available_formats()[fmt].split(" ")[0] in message
    assert "WAV, AIFF, FLAC, OGG/Vorbis or MP3" in message
    assert len(library.get("/get/library/Drums").get_json()["samples"]) == 1


def test_ogg_opus_is_refused_and_vorbis_accepted(library: User, tmp_path: Path) -> None:
    y = kick(0.5, 48000, seed=4)
    opus = write(tmp_path / "s.opus", y, 48000, "OGG", "OPUS")
    assert "OGG/Opus" in assert_json_error(library.upload("Drums", opus), 415)
    vorbis = write(tmp_path / "s.ogg", y, 48000, "OGG", "VORBIS")
    assert library.upload("Drums", vorbis).status_code == 200


def test_sample_rate_ceiling(library: User, tmp_path: Path) -> None:
    """A header claiming an absurd rate is refused before decoding (finding 2, the API's side)."""
    path = tmp_path / "fast.flac"
    with sf.SoundFile(str(path), "w", 655_350, 8, "PCM_16", format="FLAC") as out:
        block = np.full((65_536, 8), 0.25, dtype=np.float32)
        for _ in range(20):
            out.write(block)
    started = time.monotonic()
    message = assert_json_error(library.upload("Drums", path), 422)
    assert "655350 Hz" in message
    assert time.monotonic() - started < 60  # a bound on work, not a benchmark: the file is never decoded whole
    assert len(library.get("/get/library/Drums").get_json()["samples"]) == 1


def test_duplicates_are_found_by_hash_before_decoding(library: User, sounds: list[Path]) -> None:
    again = library.upload("Drums", sounds[0], "kick.wav")
    assert again.status_code == 200 and "nothing stored" in again.get_json()["message"]
    other = library.upload("Drums", sounds[0], "other.wav")
    assert "same sound as 'kick.wav'" in assert_json_error(other, 409)


def test_form_uploads_still_take_large_files(library: User, tmp_path: Path) -> None:
    """The JSON limit does not apply to multipart uploads."""
    y = np.tile(kick(1.0, 44100, seed=5), 30)
    path = write(tmp_path / "long.wav", y, 44100, subtype="FLOAT")
    assert path.stat().st_size > 3 * 1024 * 1024
    data = {"file": (io.BytesIO(path.read_bytes()), "long.wav")}
    assert library.post("/upload/Drums", data=data, content_type="multipart/form-data").status_code == 200

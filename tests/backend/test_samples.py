"""One sample: tag and favourite updates (the design's PUTs), details, deletion, audio preview."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
from flask import Flask

from tests.backend.conftest import PASSWORD, User, register


@pytest.fixture
def library(user: User, sounds: list[Path]) -> User:
    """``user`` with the library "Drums" holding the first three sounds."""
    for path in sounds[:3]:
        assert user.upload("Drums", path).status_code == 200
    return user


def tags_of(user: User, name: str, lib: str = "Drums") -> list[list[str]]:
    samples = user.get(f"/get/library/{lib}").get_json()["samples"]
    return next(s["tags"] for s in samples if s["name"] == name)


@pytest.mark.parametrize(
    "body",
    [
        {"tags": ["punchy", "808"]},
        ["punchy", "808"],
        [{"tags": "punchy"}, {"tags": "808"}],  # the design's Appendix C form
        {"tags": [["punchy", "user", "1.000"], ["808", "user", "1.000"]]},  # as the listing sends them
    ],
)
def test_sampletag_update_sets_user_tags(library: User, sounds: list[Path], body: object) -> None:
    name = sounds[0].name
    response = library.put(f"/sampletag/update/Drums/{name}", json=body)
    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    assert tags_of(library, name) == [["808", "user", "1.000"], ["punchy", "user", "1.000"]]


def test_sampletag_update_replaces_the_list(library: User, sounds: list[Path]) -> None:
    name = sounds[0].name
    assert library.put(f"/sampletag/update/Drums/{name}", json={"tags": ["a", "b"]}).status_code == 200
    assert library.put(f"/sampletag/update/Drums/{name}", json={"tags": ["b", "c"]}).status_code == 200
    assert [t[0] for t in tags_of(library, name)] == ["b", "c"]
    assert library.put(f"/sampletag/update/Drums/{name}", json={"tags": []}).status_code == 200
    assert tags_of(library, name) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [({"tags": [1, 2]}, 400), ({"tags": [""]}, 400), ({"tags": ["x" * 65]}, 400), ({"label": "x"}, 400), (42, 400)],
)
def test_sampletag_update_rejects_bad_bodies(library: User, sounds: list[Path], body: object, status: int) -> None:
    response = library.put(f"/sampletag/update/Drums/{sounds[0].name}", json=body)
    assert response.status_code == status
    assert set(response.get_json()) == {"message"}
    assert tags_of(library, sounds[0].name) == []


def test_sampletag_update_content_type_json_and_unknown_sample(library: User, sounds: list[Path]) -> None:
    url = f"/sampletag/update/Drums/{sounds[0].name}"
    assert library.put(url, data="tags=x", content_type="application/x-www-form-urlencoded").status_code == 415
    broken = library.put(url, data='["x"', content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json() == {"message": "the request body is not valid JSON"}
    unknown = library.put("/sampletag/update/Drums/nope.wav", json={"tags": ["x"]})
    assert unknown.status_code == 400
    assert unknown.get_json() == {"message": "no sample named 'nope.wav' in library 'Drums'"}


@pytest.mark.parametrize("body", [{"isFavorite": True}, [{"isFavorite": True}]])
def test_samplefavorite_update(library: User, sounds: list[Path], body: object) -> None:
    name = sounds[1].name
    response = library.put(f"/samplefavorite/update/Drums/{name}", json=body)
    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    samples = library.get("/get/library/Drums").get_json()["samples"]
    assert {s["name"]: s["isFavorite"] for s in samples} == {p.name: p.name == name for p in sounds[:3]}
    assert library.put(f"/samplefavorite/update/Drums/{name}", json={"isFavorite": False}).status_code == 200
    assert not any(s["isFavorite"] for s in library.get("/get/library/Drums").get_json()["samples"])


@pytest.mark.parametrize("body", [{"isFavorite": "yes"}, {}, [], [{"isFavorite": True}, {"isFavorite": False}], "true"])
def test_samplefavorite_update_rejects_bad_bodies(library: User, sounds: list[Path], body: object) -> None:
    response = library.put(f"/samplefavorite/update/Drums/{sounds[1].name}", json=body)
    assert response.status_code == 400
    assert "isFavorite" in response.get_json()["message"]


def test_sample_details_and_delete(app: Flask, library: User, sounds: list[Path]) -> None:
    name = sounds[2].name
    details = library.get(f"/sample/Drums/{name}")
    assert details.status_code == 200
    body = details.get_json()
    assert body["name"] == name and body["format"] == "WAV" and body["analysed"] is False
    assert body["size"] == sounds[2].stat().st_size
    assert library.get("/sample/Drums/nope.wav").status_code == 404
    assert library.delete(f"/sample/Drums/{name}").status_code == 200
    assert name not in [s["name"] for s in library.get("/get/library/Drums").get_json()["samples"]]
    assert library.delete(f"/sample/Drums/{name}").status_code == 404
    stored = list((Path(app.config["DATA_DIR"]) / "storage").rglob("*.wav"))
    assert len(stored) == 2


def test_audio_with_bearer_token_and_range(library: User, sounds: list[Path]) -> None:
    name = sounds[0].name
    raw = sounds[0].read_bytes()
    full = library.get(f"/audio/Drums/{name}")
    assert full.status_code == 200
    assert full.mimetype == "audio/wav"
    assert full.data == raw
    assert full.headers["Accept-Ranges"] == "bytes"
    part = library.get(f"/audio/Drums/{name}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(raw)}"
    assert part.data == raw[100:200]
    assert library.client.get(f"/audio/Drums/{name}").status_code == 401


def test_audio_url_plays_without_a_header_for_that_sample_only(app: Flask, library: User, sounds: list[Path]) -> None:
    response = library.get(f"/audio-url/Drums/{sounds[0].name}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["expiresIn"] == app.config["STREAM_TOKEN_SECONDS"]
    client = app.test_client()
    played = client.get(body["url"], headers={"Range": "bytes=0-3"})
    assert played.status_code == 206
    assert played.data == b"RIFF"
    token = body["url"].split("token=", 1)[1]
    other = client.get(f"/audio/Drums/{sounds[1].name}?token={token}")
    assert other.status_code == 401
    tampered = client.get(f"/audio/Drums/{sounds[0].name}?token={token[:-2]}xx")
    assert tampered.status_code == 401
    guessed = secrets.token_urlsafe(32)
    assert client.get(f"/audio/Drums/{sounds[0].name}?token={guessed}").status_code == 401


def test_audio_links_are_opaque_and_die_with_their_session(app: Flask, library: User, sounds: list[Path]) -> None:
    """Finding 11: the token reveals nothing (no readable user or sample id) and logging out revokes it."""
    url = library.get(f"/audio-url/Drums/{sounds[0].name}").get_json()["url"]
    token = url.split("token=", 1)[1]
    for part in token.split("."):
        decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        assert b'"u"' not in decoded and b'"s"' not in decoded and not decoded.startswith(b"{")
    client = app.test_client()
    assert client.get(url).status_code == 200
    other_session = library.client.post("/login", data={"mail": library.mail, "password": PASSWORD}).get_json()
    other_url = library.get(
        f"/audio-url/Drums/{sounds[0].name}", headers={"Authorization": f"Bearer {other_session['token']}"}
    ).get_json()["url"]
    assert library.post("/logout").status_code == 200
    revoked = client.get(url)
    assert revoked.status_code == 401
    assert "logged out" in revoked.get_json()["message"]
    assert client.get(other_url).status_code == 200  # another session's link still plays


def test_audio_url_of_another_user_cannot_reach_my_samples(app: Flask, library: User, sounds: list[Path]) -> None:
    mallory = register(library.client)
    assert mallory.upload("Drums", sounds[4]).status_code == 200
    url = mallory.get(f"/audio-url/Drums/{sounds[4].name}").get_json()["url"]
    token = url.split("token=", 1)[1]
    # Mallory's token names Mallory: my sample names resolve in Mallory's libraries only.
    assert app.test_client().get(f"/audio/Drums/{sounds[0].name}?token={token}").status_code == 404


def test_similar_needs_an_analysed_sample_and_a_valid_n(library: User, sounds: list[Path]) -> None:
    name = sounds[0].name
    assert library.get(f"/similar/Drums/{name}?n=0").status_code == 400
    assert library.get(f"/similar/Drums/{name}?n=abc").status_code == 400
    response = library.get(f"/similar/Drums/{name}")
    assert response.status_code == 409
    assert "not been analysed" in response.get_json()["message"]

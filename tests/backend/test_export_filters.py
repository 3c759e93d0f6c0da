"""Export filters (one tag, the favourites) and export links (``/export-url``) that a browser downloads without an
Authorization header: the selection travels with the opaque token, bound to the library and the session."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from backend.extensions import db
from backend.models import StreamLink
from tests.audio_factory import kick, noise_burst, tone, write
from tests.backend.conftest import PASSWORD, User, path_url, register
from tests.backend.test_export_hardening import disposition

KICK, SNARE, HAT, TOM = "Kits/909/kick.wav", "snare.wav", "hat.wav", "Kits/tom.wav"
TAGS = {KICK: ["Kick", "Punchy"], SNARE: ["Snare"], TOM: ["punchy"]}
FAVOURITES = (KICK, HAT)


@pytest.fixture
def drums(user: User, tmp_path: Path) -> tuple[User, dict[str, bytes]]:
    """Library "Drums": a kick (Kick, Punchy; favourite), a snare (Snare), a hat (untagged; favourite) and a tom
    (punchy); with the bytes of each sample."""
    sounds = {
        KICK: write(tmp_path / "kick.wav", kick(0.4, seed=1)),
        SNARE: write(tmp_path / "snare.wav", noise_burst(0.3, seed=2)),
        HAT: write(tmp_path / "hat.wav", noise_burst(0.1, decay=60, seed=3)),
        TOM: write(tmp_path / "tom.wav", tone(120, 0.5, decay=6)),
    }
    for name, path in sounds.items():
        user.stored("Drums", path, name)
    for name, tags in TAGS.items():
        assert user.put(f"/sampletag/update/Drums/{path_url(name)}", json={"tags": tags}).status_code == 200
    for name in FAVOURITES:
        response = user.put(f"/samplefavorite/update/Drums/{path_url(name)}", json={"isFavorite": True})
        assert response.status_code == 200
    return user, {name: path.read_bytes() for name, path in sounds.items()}


def entries(response: TestResponse, contents: dict[str, bytes]) -> set[str]:
    """The entry names of a ZIP answer, after checking that each holds its sample's bytes."""
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    for info in archive.infolist():
        assert archive.read(info) == contents[info.filename.split("/", 1)[1]]
    return set(archive.namelist())


def file_name(response: TestResponse) -> str:
    """The UTF-8 file name of an attachment."""
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment; ")
    return disposition(header)[1]


def link(user: User, lib: str = "Drums", **body: object) -> str:
    """The URL of an export link for ``body``."""
    response = user.post(f"/export-url/{lib}", json=body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert set(answer) == {"url", "expiresIn"}
    assert answer["url"].startswith(f"/export/{lib}?token=")
    return answer["url"]


def test_favourites_only_one_folder_per_tag(drums: tuple[User, dict[str, bytes]]) -> None:
    user, contents = drums
    for query in ("favorite=true", "favourite=yes", "favorite=1"):
        response = user.get(f"/export/Drums?{query}")
        assert entries(response, contents) == {f"Kick/{KICK}", f"Punchy/{KICK}", f"Untagged/{HAT}"}
        assert file_name(response) == "Drums - favourites.zip"
    whole = user.get("/export/Drums?favorite=false")
    assert entries(whole, contents) == {
        f"Kick/{KICK}",
        f"Punchy/{KICK}",
        f"Punchy/{TOM}",
        f"Snare/{SNARE}",
        f"Untagged/{HAT}",
    }  # false: no filter
    assert file_name(whole) == "Drums.zip"


def test_one_tag_only_that_tags_folder(drums: tuple[User, dict[str, bytes]]) -> None:
    user, contents = drums
    response = user.get("/export/Drums?tag=PUNCHY")
    assert entries(response, contents) == {f"Punchy/{KICK}", f"Punchy/{TOM}"}  # "punchy" and "Punchy": one folder
    assert file_name(response) == "Drums - Punchy.zip"
    both = user.get("/export/Drums?tag=punchy&favorite=true")
    assert entries(both, contents) == {f"Punchy/{KICK}"}
    assert file_name(both) == "Drums - Punchy favourites.zip"
    snare = user.get("/export/Drums?tag=%20snare%20")
    assert entries(snare, contents) == {f"Snare/{SNARE}"}


def test_filtered_export_is_streamed_with_its_length(drums: tuple[User, dict[str, bytes]]) -> None:
    user, _ = drums
    response = user.get("/export/Drums?tag=Kick", buffered=False)
    assert response.status_code == 200
    assert response.is_streamed
    assert len(response.get_data()) == int(response.headers["Content-Length"])


def test_a_filter_that_selects_nothing_is_404(drums: tuple[User, dict[str, bytes]]) -> None:
    user, _ = drums
    response = user.get("/export/Drums?tag=Cowbell")
    assert response.status_code == 404
    assert response.get_json()["message"] == "nothing to export: no sample of library 'Drums' is tagged 'Cowbell'"
    assert user.get("/export/Drums?tag=Snare&favorite=true").status_code == 404


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("tags=Kick", "tags"),
        ("favorite=maybe", "favorite"),
        ("tag=", "tag"),
        ("tag=%20%20", "tag"),
        (f"tag={'x' * 65}", "tag"),
        ("tag=Kick&tag=Snare", "tag"),
        ("favorite=true&favourite=false", "favorite"),
        ("token=abc&tag=Kick", "tag"),
        ("names=snare.wav", "names"),
    ],
)
def test_bad_parameters_are_400_naming_them(drums: tuple[User, dict[str, bytes]], query: str, parameter: str) -> None:
    user, _ = drums
    response = user.get(f"/export/Drums?{query}")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith(f"parameter '{parameter}': ")


def test_export_without_token_or_bearer_is_401(app: Flask, drums: tuple[User, dict[str, bytes]]) -> None:
    assert app.test_client().get("/export/Drums").status_code == 401
    assert app.test_client().get("/export/Drums?favorite=true").status_code == 401


def test_export_link_of_a_selection_downloads_without_a_header(
    app: Flask, drums: tuple[User, dict[str, bytes]]
) -> None:
    user, contents = drums
    url = link(user, names=[KICK, SNARE, KICK])
    browser = app.test_client()
    response = browser.get(url, buffered=False)
    assert response.is_streamed
    data = response.get_data()
    assert len(data) == int(response.headers["Content-Length"])
    assert entries(response, contents) == {f"Kick/{KICK}", f"Punchy/{KICK}", f"Snare/{SNARE}"}
    assert file_name(response) == "Drums - selection.zip"
    assert browser.get(url).data == data  # usable again until it expires


def test_export_links_of_a_tag_the_favourites_and_the_whole_library(
    app: Flask, drums: tuple[User, dict[str, bytes]]
) -> None:
    user, contents = drums
    browser = app.test_client()
    by_tag = browser.get(link(user, tag="kick"))
    assert entries(by_tag, contents) == {f"Kick/{KICK}"}
    assert file_name(by_tag) == "Drums - Kick.zip"
    favourites = browser.get(link(user, favorite=True, tag=None))
    assert entries(favourites, contents) == {f"Kick/{KICK}", f"Punchy/{KICK}", f"Untagged/{HAT}"}
    assert file_name(favourites) == "Drums - favourites.zip"
    both = browser.get(link(user, favorite=True, names=[KICK, TOM, SNARE], tag="Punchy"))
    assert entries(both, contents) == {f"Punchy/{KICK}"}
    assert file_name(both) == "Drums - selection.zip"
    whole = browser.get(link(user))
    assert entries(whole, contents) == entries(user.get("/export/Drums"), contents)
    assert file_name(whole) == "Drums.zip"


def test_a_link_answers_with_the_selection_it_was_made_for(app: Flask, drums: tuple[User, dict[str, bytes]]) -> None:
    """The selection is stored with the token: parameters cannot widen it."""
    user, _ = drums
    url = link(user, tag="Snare")
    response = app.test_client().get(url + "&favorite=false")
    assert response.status_code == 400
    assert "not allowed with 'token'" in response.get_json()["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([KICK], "expected a JSON object"),
        ({"name": [KICK]}, "unknown field 'name'"),
        ({"names": []}, "'names' must list 1 to 10000 sample paths"),
        ({"names": KICK}, "'names' must list"),
        ({"names": [KICK, 3]}, "'names' must list"),
        ({"names": ["x.wav"] * 10001}, "'names' must list 1 to 10000"),
        ({"names": [SNARE, "../etc/passwd"]}, "invalid sample path '../etc/passwd'"),
        ({"names": [SNARE, "nope.wav", "Kits/none.wav"]}, "no sample named 'nope.wav' in library 'Drums'"),
        ({"tag": ""}, "'tag' must be a tag name"),
        ({"tag": 5}, "'tag' must be a tag name"),
        ({"favorite": "yes"}, "'favorite' must be true or false"),
        ({"tag": "Cowbell"}, "nothing to export: no sample of library 'Drums' is tagged 'Cowbell'"),
        ({"tag": "Snare", "favorite": True}, "is a favourite and tagged 'Snare'"),
    ],
)
def test_bad_export_link_requests_are_400(drums: tuple[User, dict[str, bytes]], body: object, fragment: str) -> None:
    user, _ = drums
    response = user.post("/export-url/Drums", json=body)
    assert response.status_code == 400
    assert fragment in response.get_json()["message"]


def test_export_link_request_errors_beyond_the_body(
    app: Flask, drums: tuple[User, dict[str, bytes]], tmp_path: Path
) -> None:
    user, _ = drums
    assert user.post("/export-url/Drums", data="names=snare.wav").status_code == 415
    assert user.post("/export-url/Nope", json={}).status_code == 404
    assert app.test_client().post("/export-url/Drums", json={}).status_code == 401
    assert user.get("/export-url/Drums").status_code == 405
    user.stored("Empty", write(tmp_path / "e.wav", kick(0.2)), "e.wav")
    assert user.delete("/sample/Empty/e.wav").status_code == 200
    empty = user.post("/export-url/Empty", json={})
    assert empty.status_code == 400
    assert empty.get_json()["message"] == "nothing to export: library 'Empty' holds no sample"


def test_a_link_opens_its_library_only(app: Flask, drums: tuple[User, dict[str, bytes]], tmp_path: Path) -> None:
    user, _ = drums
    user.stored("Other", write(tmp_path / "o.wav", kick(0.3, seed=9)), "o.wav")
    token = link(user, tag="Kick").split("token=", 1)[1]
    browser = app.test_client()
    refused = browser.get(f"/export/Other?token={token}")
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "this export link was issued for another library"
    assert browser.get(f"/export/Nope?token={token}").status_code == 401
    # Another user's link names that user's library: it opens nothing of mine, whatever my session says.
    mallory = register(user.client)
    mallory.stored("Mine", write(tmp_path / "m.wav", kick(0.5, seed=8)), "m.wav")
    theirs = link(mallory, "Mine").split("token=", 1)[1]
    assert browser.get(f"/export/Drums?token={theirs}").status_code == 401
    assert user.get(f"/export/Drums?token={theirs}").status_code == 401
    # Renamed: the link follows the library, not the name.
    assert user.patch("/library/Drums", json={"name": "Kit"}).status_code == 200
    assert browser.get(f"/export/Drums?token={token}").status_code == 401
    assert browser.get(f"/export/Kit?token={token}").status_code == 200
    # Deleted: the link goes with it.
    assert user.delete("/library/Kit").status_code == 200
    gone = browser.get(f"/export/Kit?token={token}")
    assert gone.status_code == 401
    assert gone.get_json()["message"] == "invalid export link token"


def test_export_and_audio_links_are_not_interchangeable(app: Flask, drums: tuple[User, dict[str, bytes]]) -> None:
    user, _ = drums
    export_token = link(user).split("token=", 1)[1]
    audio_url = user.get(f"/audio-url/Drums/{SNARE}").get_json()["url"]
    audio_token = audio_url.split("token=", 1)[1]
    browser = app.test_client()
    assert browser.get(audio_url).status_code == 200
    assert browser.get(f"/audio/Drums/{SNARE}?token={export_token}").status_code == 401
    assert browser.get(f"/export/Drums?token={audio_token}").status_code == 401
    tampered = browser.get(f"/export/Drums?token={export_token[:-2]}xx")
    assert tampered.status_code == 401
    assert browser.get("/export/Drums?token=").status_code == 401
    assert browser.get(f"/export/Drums?token={'a' * 5000}").status_code == 401


def test_export_links_die_with_their_session(app: Flask, drums: tuple[User, dict[str, bytes]]) -> None:
    user, _ = drums
    url = link(user, favorite=True)
    other_session = user.client.post("/login", data={"mail": user.mail, "password": PASSWORD}).get_json()
    other = User(user.client, user.mail, other_session["token"], other_session["refreshToken"])
    other_url = link(other, tag="Snare")
    assert user.post("/logout").status_code == 200
    browser = app.test_client()
    revoked = browser.get(url)
    assert revoked.status_code == 401
    assert "logged out" in revoked.get_json()["message"]
    assert browser.get(other_url).status_code == 200


def test_expired_export_links_are_401(app: Flask, drums: tuple[User, dict[str, bytes]]) -> None:
    user, _ = drums
    url = link(user)
    with app.app_context():
        db.session.execute(db.update(StreamLink).values(expires_at=time.time() - 1))
        db.session.commit()
    expired = app.test_client().get(url)
    assert expired.status_code == 401
    assert "expired" in expired.get_json()["message"]

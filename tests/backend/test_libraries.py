"""Libraries: listing shape, ETag, rename, delete, and owner-only access."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from backend.extensions import db
from backend.models import Job, Recommendation, Sample, SampleTag
from tests.backend.conftest import User, register


def test_listing_has_exactly_the_designed_shape(user: User, sounds: list[Path]) -> None:
    for path in sounds[:3]:
        assert user.upload("Drums", path).status_code == 200
    body = user.get("/get/library/Drums").get_json()
    assert set(body) == {"libname", "samples"}
    assert body["libname"] == "Drums"
    assert [s["name"] for s in body["samples"]] == sorted(p.name for p in sounds[:3])
    for sample in body["samples"]:
        assert set(sample) == {"name", "isFavorite", "tags"}
        assert sample["isFavorite"] is False
        assert sample["tags"] == []


def test_libraries_are_listed_sorted(user: User, sounds: list[Path]) -> None:
    for lib in ("Snares", "Kicks", "808"):
        assert user.upload(lib, sounds[0]).status_code == 200
    assert user.get("/get/libraries").get_json() == ["808", "Kicks", "Snares"]


def test_unknown_library_is_400_as_designed(user: User) -> None:
    response = user.get("/get/library/Nope")
    assert response.status_code == 400
    assert response.get_json() == {"message": "no library named 'Nope'"}


def test_another_users_library_behaves_exactly_like_a_missing_one(app: Flask, sounds: list[Path]) -> None:
    client = app.test_client()
    alice, mallory = register(client), register(client)
    assert alice.upload("Secret", sounds[0]).status_code == 200
    design_routes = [
        ("get", "/get/library/{}", {}),
        ("get", "/analyze/{}", {}),
        ("get", "/tags/{}", {}),
        ("post", "/recommendations/{}", {"json": [{"name": sounds[0].name}]}),
        ("post", "/usertags/{}", {"json": [{"name": sounds[0].name, "customTags": ["x"]}]}),
        ("put", f"/sampletag/update/{{}}/{sounds[0].name}", {"json": {"tags": ["x"]}}),
        ("put", f"/samplefavorite/update/{{}}/{sounds[0].name}", {"json": {"isFavorite": True}}),
    ]
    new_routes = [
        ("get", "/map/{}", {}),
        ("get", "/export/{}", {}),
        ("get", "/recommendations/{}", {}),
        ("delete", "/library/{}", {}),
        ("patch", "/library/{}", {"json": {"name": "Mine"}}),
        ("get", f"/sample/{{}}/{sounds[0].name}", {}),
        ("delete", f"/sample/{{}}/{sounds[0].name}", {}),
        ("get", f"/audio/{{}}/{sounds[0].name}", {}),
        ("get", f"/audio-url/{{}}/{sounds[0].name}", {}),
        ("get", f"/similar/{{}}/{sounds[0].name}", {}),
    ]
    for routes, status in ((design_routes, 400), (new_routes, 404)):
        for method, template, kw in routes:
            theirs = getattr(mallory, method)(template.format("Secret"), **kw)
            missing = getattr(mallory, method)(template.format("Missing"), **kw)
            assert theirs.status_code == missing.status_code == status, template
            assert theirs.get_json()["message"] == missing.get_json()["message"].replace("Missing", "Secret"), template
    assert mallory.get("/get/libraries").get_json() == []
    # Alice's library is untouched.
    assert alice.get("/get/library/Secret").get_json()["samples"][0]["tags"] == []
    assert alice.get("/get/libraries").get_json() == ["Secret"]


def test_listing_supports_etag(user: User, sounds: list[Path]) -> None:
    assert user.upload("Drums", sounds[0]).status_code == 200
    first = user.get("/get/library/Drums")
    etag = first.headers["ETag"]
    assert user.get("/get/library/Drums", headers={"If-None-Match": etag}).status_code == 304
    assert user.upload("Drums", sounds[1]).status_code == 200
    changed = user.get("/get/library/Drums", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert len(changed.get_json()["samples"]) == 2


def test_create_empty_library(user: User, sounds: list[Path]) -> None:
    response = user.post("/library/New Kit")
    assert response.status_code == 201
    assert response.get_json() == {"message": "library 'New Kit' created"}
    assert user.get("/get/libraries").get_json() == ["New Kit"]
    assert user.get("/get/library/New Kit").get_json() == {"libname": "New Kit", "samples": []}
    assert user.post("/library/New Kit").status_code == 409
    assert user.post("/library/%20padded").status_code == 400
    assert user.upload("New Kit", sounds[0]).status_code == 200  # uploading into it works as into any library
    other = register(user.client, "other@example.org")
    assert other.post("/library/New Kit").status_code == 201  # names are per user


def test_rename_library(user: User, sounds: list[Path]) -> None:
    assert user.upload("Drums", sounds[0]).status_code == 200
    assert user.upload("Other", sounds[1]).status_code == 200
    response = user.patch("/library/Drums", json={"name": "Kit 1"})
    assert response.status_code == 200
    assert set(response.get_json()) == {"message"}
    assert user.get("/get/library/Drums").status_code == 400
    assert user.get("/get/library/Kit 1").get_json()["libname"] == "Kit 1"
    assert user.get("/get/libraries").get_json() == ["Kit 1", "Other"]
    assert user.patch("/library/Kit 1", json={"name": "Other"}).status_code == 409
    assert user.patch("/library/Kit 1", json={"name": "a/b"}).status_code == 400
    assert user.patch("/library/Kit 1", json={"title": "x"}).status_code == 400
    assert (
        user.patch("/library/Kit 1", data="name=x", content_type="application/x-www-form-urlencoded").status_code == 415
    )
    assert user.patch("/library/Nope", json={"name": "x"}).status_code == 404


def test_delete_library_removes_samples_and_audio(app: Flask, user: User, sounds: list[Path]) -> None:
    for path in sounds[:2]:
        assert user.upload("Drums", path).status_code == 200
    assert user.put(f"/sampletag/update/Drums/{sounds[0].name}", json={"tags": ["dusty"]}).status_code == 200
    assert user.get("/analyze/Drums").status_code == 200
    storage = Path(app.config["DATA_DIR"]) / "storage"
    assert len(list(storage.rglob("*.wav"))) == 2
    assert user.delete("/library/Drums").status_code == 200
    assert user.get("/get/libraries").get_json() == []
    assert list(storage.rglob("*.wav")) == []
    with app.app_context():
        for model in (Sample, SampleTag, Job, Recommendation):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0, model.__name__
    assert user.delete("/library/Drums").status_code == 404
    # The name can be used again and starts empty.
    assert user.upload("Drums", sounds[3]).status_code == 200
    assert [s["name"] for s in user.get("/get/library/Drums").get_json()["samples"]] == [sounds[3].name]


@pytest.mark.parametrize("name", ["Drums & Percussion", "Café 808", "x" * 100])
def test_unusual_but_valid_library_names_round_trip(user: User, sounds: list[Path], name: str) -> None:
    assert user.upload(name, sounds[0]).status_code == 200
    assert user.get(f"/get/library/{name}").get_json()["libname"] == name


def test_health_and_unknown_route(client) -> None:  # type: ignore[no-untyped-def]
    health = client.get("/health")
    assert health.status_code == 200
    body = health.get_json()
    assert body["database"] is True
    assert set(body) == {"status", "database", "tagger", "diskFree", "version"}
    missing = client.get("/no/such/route")
    assert missing.status_code == 404
    assert set(missing.get_json()) == {"message"}
    wrong_method = client.delete("/get/libraries")
    assert wrong_method.status_code == 405
    assert set(wrong_method.get_json()) == {"message"}

"""Features built on the analysis: similar sounds, stored recommendations, custom tags, timbre map, ZIP export."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select

from backend.extensions import db
from backend.models import Recommendation, Sample, SampleLibrary
from backend.services import knn
from backend.services.timbre_map import project
from drumsamp_models.vectors import described_vector
from tests.audio_factory import kick, noise_burst, write
from tests.backend.conftest import User, build_app, close_app, drum_kit, register

N = 9


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[tuple[Flask, User, list[Path]]]:
    """One app whose user has the analysed library "Kit" of nine different sounds."""
    root = tmp_path_factory.mktemp("knn")
    app = build_app(root / "instance", template_db)
    user = register(app.test_client())
    files = drum_kit(root / "kit", N)
    for path in files:
        assert user.upload("Kit", path).status_code == 200
    assert user.get("/tags/Kit").status_code == 200
    yield app, user, files
    close_app(app)


def names(body: list[dict]) -> list[str]:
    return [entry["name"] for entry in body]


def test_similar_sounds(analysed: tuple[Flask, User, list[Path]]) -> None:
    _, user, files = analysed
    response = user.get(f"/similar/Kit/{files[0].name}?n=4")
    assert response.status_code == 200
    body = response.get_json()
    assert len(body) == 4
    assert files[0].name not in names(body)
    assert set(names(body)) <= {p.name for p in files}
    distances = [entry["distance"] for entry in body]
    assert distances == sorted(distances) and all(d >= 0 for d in distances)
    assert len(user.get(f"/similar/Kit/{files[0].name}?n=100").get_json()) == N - 1
    assert user.get("/similar/Kit/nope.wav").status_code == 404


def test_similarity_space_is_musicnn_plus_descriptors(analysed: tuple[Flask, User, list[Path]]) -> None:
    """Index, similar sounds and timbre map all use the 236-d vectors of embedding and descriptors."""
    app, user, files = analysed
    with app.app_context():
        library = db.session.scalar(select(SampleLibrary).where(SampleLibrary.name == "Kit"))
        vectors = knn.library_vectors(library)
        assert vectors is not None
        assert vectors.index.space == "musicnn+descriptors"
        assert vectors.index.dim_ == 236 and len(vectors.index) == N
        rows = db.session.execute(
            select(Sample.name, Sample.embedding, Sample.descriptors).where(Sample.library_id == library.id)
        ).all()
    expected = {
        name: described_vector(np.frombuffer(emb, dtype=np.float32), np.frombuffer(desc, dtype=np.float32))
        for name, emb, desc in rows
    }
    assert all(v.shape == (236,) for v in expected.values())
    query = files[0].name
    similar = user.get(f"/similar/Kit/{query}?n=100").get_json()
    for entry in similar:  # cosine distances in the joint space, not in the MusiCNN space alone
        cosine = float(expected[query] @ expected[entry["name"]])
        cosine /= float(np.linalg.norm(expected[query]) * np.linalg.norm(expected[entry["name"]]))
        assert entry["distance"] == pytest.approx(1.0 - cosine, abs=1e-4)
    order = sorted(expected)
    coords = project(np.stack([expected[name] for name in order]))
    points = {p["name"]: (p["x"], p["y"]) for p in user.get("/map/Kit").get_json()["points"]}
    for name, (x, y) in zip(order, coords, strict=True):  # the map projects the same vectors
        assert points[name] == pytest.approx((x, y), abs=1e-4)


def test_recommendations_are_stored_and_follow_the_favourites(analysed: tuple[Flask, User, list[Path]]) -> None:
    app, user, files = analysed
    fav = files[0].name
    assert user.put(f"/samplefavorite/update/Kit/{fav}", json={"isFavorite": True}).status_code == 200
    with app.app_context():
        library = db.session.scalar(select(SampleLibrary).where(SampleLibrary.name == "Kit"))
        stored_rows = db.session.scalars(select(Recommendation).where(Recommendation.library_id == library.id)).all()
        key_one = library.recs_key
    assert len(stored_rows) == min(8, N - 1)
    stored = user.get("/recommendations/Kit").get_json()
    assert len(stored) == min(8, N - 1) and fav not in names(stored)
    assert all(set(entry) == {"name"} for entry in stored)
    posted = user.post("/recommendations/Kit", json=[{"name": fav}])
    assert posted.status_code == 200
    assert posted.get_json() == stored
    assert user.post("/recommendations/Kit", json=[]).get_json() == stored

    second = files[1].name
    assert user.put(f"/samplefavorite/update/Kit/{second}", json={"isFavorite": True}).status_code == 200
    with app.app_context():
        key_two = db.session.scalar(select(SampleLibrary.recs_key).where(SampleLibrary.name == "Kit"))
    assert key_two != key_one
    both = user.get("/recommendations/Kit").get_json()
    assert fav not in names(both) and second not in names(both)
    assert user.post("/recommendations/Kit", json=[{"name": fav}, {"name": second}]).get_json() == both
    # Favourites sent that differ from the stored ones are answered too (computed, not stored).
    ad_hoc = user.post("/recommendations/Kit", json=[{"name": files[2].name}]).get_json()
    assert files[2].name not in names(ad_hoc) and len(ad_hoc) == min(8, N - 1)
    assert user.get("/recommendations/Kit").get_json() == both
    for body in ([{"name": "nope.wav"}], [{"title": fav}], {"name": fav}):
        bad = user.post("/recommendations/Kit", json=body)
        assert bad.status_code == 400, body
        assert set(bad.get_json()) == {"message"}
    assert user.post("/recommendations/Kit", data="x", content_type="text/plain").status_code == 415
    for name in (fav, second):
        assert user.put(f"/samplefavorite/update/Kit/{name}", json={"isFavorite": False}).status_code == 200
    assert user.get("/recommendations/Kit").get_json() == []


def test_timbre_map_is_stable_and_bounded(analysed: tuple[Flask, User, list[Path]]) -> None:
    _, user, files = analysed
    first = user.get("/map/Kit")
    assert first.status_code == 200
    body = first.get_json()
    assert body["libname"] == "Kit" and body["method"] == "pca"
    assert sorted(names(body["points"])) == sorted(p.name for p in files)
    for point in body["points"]:
        assert -1.0 <= point["x"] <= 1.0 and -1.0 <= point["y"] <= 1.0
    assert max(max(abs(p["x"]), abs(p["y"])) for p in body["points"]) == pytest.approx(1.0)
    assert user.get("/map/Kit").get_json() == body
    xy = {(p["x"], p["y"]) for p in body["points"]}
    assert len(xy) == N  # different sounds, different places


def test_export_zip_has_one_folder_per_tag(analysed: tuple[Flask, User, list[Path]]) -> None:
    _, user, files = analysed
    listing = user.get("/get/library/Kit").get_json()["samples"]
    response = user.get("/export/Kit")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    expected = {f"{tag[0]}/{s['name']}" for s in listing for tag in s["tags"]}
    assert set(archive.namelist()) == expected
    by_name = {p.name: p for p in files}
    for entry in archive.namelist():
        assert archive.read(entry) == by_name[entry.split("/", 1)[1]].read_bytes()


def test_export_of_one_auto_class(analysed: tuple[Flask, User, list[Path]]) -> None:
    """``tag`` selects by the tagger's class as well as by custom tags, in any case."""
    _, user, _ = analysed
    listing = user.get("/get/library/Kit").get_json()["samples"]
    auto = listing[0]["tags"][0][0]
    response = user.get(f"/export/Kit?tag={auto.swapcase()}")
    assert response.status_code == 200
    expected = {f"{auto}/{s['name']}" for s in listing if any(t[0] == auto for t in s["tags"])}
    assert set(zipfile.ZipFile(io.BytesIO(response.data)).namelist()) == expected
    assert f"filename*=UTF-8''Kit%20-%20{auto}.zip" in response.headers["Content-Disposition"]


def test_sampletag_update_can_hide_and_restore_the_auto_tag(analysed: tuple[Flask, User, list[Path]]) -> None:
    _, user, files = analysed
    name = files[3].name

    def tags() -> list[list[str]]:
        return next(s["tags"] for s in user.get("/get/library/Kit").get_json()["samples"] if s["name"] == name)

    auto = tags()[0]
    assert auto[1] == "auto"
    correction = "Tom" if auto[0] != "Tom" else "Kick"
    assert user.put(f"/sampletag/update/Kit/{name}", json={"tags": [correction]}).status_code == 200
    corrected = tags()
    assert corrected == [[correction, "user", "1.000"]]
    assert user.put(f"/sampletag/update/Kit/{name}", json={"tags": [auto, "dusty"]}).status_code == 200
    assert tags() == [auto, ["dusty", "user", "1.000"]]
    assert user.put(f"/sampletag/update/Kit/{name}", json={"tags": [auto]}).status_code == 200
    assert tags() == [auto]


def test_custom_tags_propagate_to_similar_sounds(template_db: Path, tmp_path: Path) -> None:
    """Four tagged near-identical kicks give their tag to the fifth; noise bursts get nothing; explicit tags win."""
    app = build_app(tmp_path / "instance", template_db)
    try:
        user = register(app.test_client())
        kicks = [write(tmp_path / f"kick{i}.wav", kick(0.5, seed=i)) for i in range(5)]
        noises = [write(tmp_path / f"noise{i}.wav", noise_burst(0.3, decay=15, seed=i)) for i in range(4)]
        for path in kicks + noises:
            assert user.upload("Lib", path).status_code == 200
        assert user.get("/tags/Lib").status_code == 200
        body = [{"name": p.name, "customTags": ["boomy", "808"]} for p in kicks[:4]]
        body.append({"name": noises[0].name, "customTags": ["hiss"]})
        response = user.post("/usertags/Lib", json=body)
        assert response.status_code == 200
        result = response.get_json()
        for path in kicks[:4]:
            assert result[path.name] == ["808", "boomy"]
        assert result[noises[0].name] == ["hiss"]
        assert set(result[kicks[4].name]) == {"808", "boomy"}
        for path in noises[1:]:
            assert "boomy" not in result.get(path.name, [])
        listing = {s["name"]: s["tags"] for s in user.get("/get/library/Lib").get_json()["samples"]}
        propagated = [t for t in listing[kicks[4].name] if t[1] == "propagated"]
        assert {t[0] for t in propagated} == {"808", "boomy"}
        assert all(0.5 <= float(t[2]) <= 1.0 for t in propagated)
        assert [t[1] for t in listing[kicks[0].name]][1:] == ["user", "user"]
        # Explicit tags win: tagging the fifth kick by hand replaces what was propagated to it.
        again = user.post("/usertags/Lib", json=[{"name": kicks[4].name, "customTags": ["clicky"]}]).get_json()
        assert again[kicks[4].name] == ["clicky"]
        assert again[kicks[0].name] == ["808", "boomy"]
        # Tags spread within the drum tagger's class: a kick whose class the user took away gets nothing.
        # (The fifth kick, which the user tagged "clicky" alone, now votes against "808" and "boomy": a sixth kick
        # as close to it as to the others gets them at the wide reach, not at the strict default.)
        spare = write(tmp_path / "kick5.wav", kick(0.5, seed=5))
        assert user.upload("Lib", spare).status_code == 200
        assert user.get("/tags/Lib").status_code == 200
        assert spare.name not in user.post("/usertags/Lib", json=[]).get_json()
        wide = user.post("/usertags/Lib/reach", json={"reach": "wide"}).get_json()
        spread = {e["tag"] for e in wide["added"] if e["name"] == spare.name}
        assert {"808", "boomy"} <= spread
        # (the propagated tags are listed as such, so they are not rejected: only the auto tag goes)
        kept = {"tags": [[tag, "propagated"] for tag in spread]}
        assert user.put(f"/sampletag/update/Lib/{spare.name}", json=kept).status_code == 200
        assert user.get(f"/sample/Lib/{spare.name}").get_json()["rejectedTags"] == []
        # at the wide reach it would now hold nothing: what it holds (if anything) goes, nothing comes
        preview = user.get("/usertags/Lib/preview?reach=wide").get_json()
        holds = {t[0] for t in user.get(f"/sample/Lib/{spare.name}").get_json()["tags"] if t[1] == "propagated"}
        assert holds <= {e["tag"] for e in preview["removed"] if e["name"] == spare.name}
        assert spare.name not in {e["name"] for e in preview["added"]}
        for bad in ([{"customTags": ["x"]}], [{"name": "nope.wav", "customTags": ["x"]}], {"name": "x"}):
            assert user.post("/usertags/Lib", json=bad).status_code == 400, bad
        assert user.post("/usertags/Lib", data="[]", content_type="text/plain").status_code == 415
    finally:
        close_app(app)


def test_a_removed_custom_tag_stays_removed(template_db: Path, tmp_path: Path) -> None:
    """Removing a propagated or user tag from a sample is remembered: propagation does not put it back until
    the user gives the tag back or the sample gets new content; a tag edit re-propagates at once."""
    app = build_app(tmp_path / "instance", template_db)
    try:
        user = register(app.test_client())
        kicks = [write(tmp_path / f"kick{i}.wav", kick(0.5, seed=i)) for i in range(5)]
        for path in [*kicks, write(tmp_path / "noise.wav", noise_burst(0.3, decay=15, seed=0))]:
            assert user.upload("Lib", path).status_code == 200
        assert user.get("/tags/Lib").status_code == 200
        target = kicks[4].name

        def details(name: str = target) -> dict:
            return user.get(f"/sample/Lib/{name}").get_json()

        def custom() -> dict[str, str]:
            return {t[0]: t[1] for t in details()["tags"] if t[1] != "auto"}

        def auto(name: str = target) -> list[list[str]]:
            return [t for t in details(name)["tags"] if t[1] == "auto"]  # listing it keeps the auto tag

        assert (
            user.post("/usertags/Lib", json=[{"name": p.name, "customTags": ["boomy"]} for p in kicks[:4]]).status_code
            == 200
        )
        assert custom() == {"boomy": "propagated"}
        # the user removes the propagated tag: it is remembered and not propagated back
        assert user.put(f"/sampletag/update/Lib/{target}", json={"tags": auto()}).status_code == 200
        assert custom() == {} and details()["rejectedTags"] == ["boomy"]
        assert target not in user.post("/usertags/Lib", json=[]).get_json()
        # a tag edit on other samples propagates at once (no /usertags call): "dark" reaches the target
        for path in kicks[:4]:
            body = {"tags": [*auto(path.name), "boomy", "dark"]}
            assert user.put(f"/sampletag/update/Lib/{path.name}", json=body).status_code == 200
        assert custom() == {"dark": "propagated"}
        # giving the tag back makes it a user tag and clears the rejection
        assert user.put(f"/sampletag/update/Lib/{target}", json={"tags": ["boomy"]}).status_code == 200
        # (leaving "dark" out of the list rejects it in turn)
        assert custom() == {"boomy": "user"} and details()["rejectedTags"] == ["dark"]
        # dropping one's own tag through the design's /usertags is a rejection too
        assert user.post("/usertags/Lib", json=[{"name": target, "customTags": []}]).status_code == 200
        assert "boomy" not in custom() and details()["rejectedTags"] == ["boomy", "dark"]
        # new content under the same name: nothing is rejected any more, the tag spreads to it again
        assert user.upload("Lib", write(tmp_path / target, kick(0.5, seed=11))).status_code == 200
        assert details()["rejectedTags"] == []
        assert user.get("/tags/Lib").status_code == 200
        assert "boomy" in custom()
    finally:
        close_app(app)

"""Recommendations with variety and their reasons, through the real app: velocity layers of a favourite are not
recommended while other sounds of its class are left, each recommendation names its favourite
(``GET /recommendations/<lib>/explained``), the design's answers stay ``[{name}]``, a deleted favourite goes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Recommendation, Sample, SampleLibrary
from tests.audio_factory import noise_burst, write
from tests.backend.conftest import User, build_app, close_app, path_url, register

SR = 44100
LAYERS = ["A/Kick-Soft.wav", "A/Kick-Med.wav", "A/Kick-Hard.wav", "A/Kick-Hardest.wav"]
FAV = "A/Kick-Med.wav"
KICKS = [f"K{i}/kick.wav" for i in range(8)]
SNARES = [f"S{i}/snare.wav" for i in range(5)]
CLASSES = {**{n: "Kick" for n in LAYERS + KICKS}, **{n: "Snare" for n in SNARES}}
N_RECS = 4


def kick(base: float, sweep: float, decay: float, velocity: float, seed: int) -> np.ndarray:
    """A kick whose click and pitch sweep grow with ``velocity`` (as a drum's velocity layers do)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.5 * SR)) / SR
    phase = 2 * np.pi * np.cumsum(base + sweep * velocity * np.exp(-t * 30)) / SR
    y = np.sin(phase) * np.exp(-t * decay) + 0.25 * velocity * rng.standard_normal(t.size) * np.exp(-t * 150)
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


def snare(tone_hz: float, decay: float, seed: int) -> np.ndarray:
    """A snare-like hit: a short tone under a noise burst."""
    t = np.arange(int(0.4 * SR)) / SR
    y = noise_burst(0.4, decay=decay, seed=seed) + 0.5 * np.sin(2 * np.pi * tone_hz * t) * np.exp(-t * 30)
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


def make_kit(folder: Path) -> dict[str, Path]:
    """Four velocity layers of one kick, eight kicks of other kits, five snares."""
    sounds = {name: kick(50, 110, 8, v, 1) for name, v in zip(LAYERS, (0.7, 0.8, 0.9, 1.0), strict=True)}
    sounds |= {name: kick(40 + 8 * i, 50 + 30 * i, 4 + 3 * i, 0.8, 10 + i) for i, name in enumerate(KICKS)}
    sounds |= {name: snare(180 + 40 * i, 12 + 6 * i, 30 + i) for i, name in enumerate(SNARES)}
    return {name: write(folder / name, y, SR) for name, y in sounds.items()}


def upload_all(user: User, lib: str, files: dict[str, Path]) -> None:
    for name, path in files.items():
        assert user.upload(lib, path, name).status_code == 200
    assert user.get(f"/tags/{lib}").status_code == 200


def set_classes(app: Flask, lib: str, classes: dict[str, str | None]) -> None:
    """The user's classes of samples (the ``user_class`` a class correction stores)."""
    with app.app_context():
        library_id = db.session.scalar(select(SampleLibrary.id).where(SampleLibrary.name == lib))
        for name, cls in classes.items():
            db.session.execute(
                update(Sample).where(Sample.library_id == library_id, Sample.name == name).values(user_class=cls)
            )
        db.session.commit()


def favourite(user: User, lib: str, name: str, flag: bool = True) -> None:
    response = user.put(f"/samplefavorite/update/{lib}/{path_url(name)}", json={"isFavorite": flag})
    assert response.status_code == 200


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[tuple[Flask, User, dict[str, Path]]]:
    """An app (4 recommendations per library) whose user has the analysed library "Kits"."""
    root = tmp_path_factory.mktemp("reasons")
    app = build_app(root / "instance", template_db, RECOMMENDATIONS=str(N_RECS))
    user = register(app.test_client())
    files = make_kit(root / "audio")
    upload_all(user, "Kits", files)
    yield app, user, files
    close_app(app)


@pytest.fixture
def fresh(kit: tuple[Flask, User, dict[str, Path]]) -> tuple[Flask, User, dict[str, Path]]:
    """The kit with the test classes and no favourites."""
    app, user, files = kit
    set_classes(app, "Kits", CLASSES)
    for name in files:
        favourite(user, "Kits", name, False)
    return kit


def names(body: list[dict]) -> list[str]:
    return [entry["name"] for entry in body]


def test_recommendations_skip_the_favourites_layers_and_name_it(fresh: tuple[Flask, User, dict[str, Path]]) -> None:
    app, user, _ = fresh
    nearest = user.get(f"/similar/Kits/{path_url(FAV)}?n=3").get_json()
    assert set(names(nearest)) == set(LAYERS) - {FAV}  # plain similarity: the layers echo the favourite
    favourite(user, "Kits", FAV)
    design = user.get("/recommendations/Kits").get_json()
    assert len(design) == N_RECS and all(set(entry) == {"name"} for entry in design)
    assert not set(names(design)) & set(LAYERS)
    assert set(names(design)) <= set(KICKS)  # the favourite's class first
    assert user.post("/recommendations/Kits", json=[{"name": FAV}]).get_json() == design
    assert user.post("/recommendations/Kits", json=[]).get_json() == design

    response = user.get("/recommendations/Kits/explained")
    assert response.status_code == 200
    explained = response.get_json()
    assert names(explained) == names(design)  # the same sounds in the same order
    assert all(set(entry) == {"name", "because", "distance", "sameClass"} for entry in explained)
    assert all(entry["because"] == FAV and entry["sameClass"] is True for entry in explained)
    similar = {e["name"]: e["distance"] for e in user.get(f"/similar/Kits/{path_url(FAV)}?n=100").get_json()}
    for entry in explained:  # the distance to the favourite, in the similarity space of /similar
        assert entry["distance"] == pytest.approx(similar[entry["name"]], abs=1e-4)
    with app.app_context():
        fav_id = db.session.scalar(select(Sample.id).where(Sample.name == FAV))
        sources = db.session.scalars(select(Recommendation.source_id)).all()
    assert sources and set(sources) == {fav_id}


def test_two_favourites_each_get_their_own_class(fresh: tuple[Flask, User, dict[str, Path]]) -> None:
    _, user, _ = fresh
    favourite(user, "Kits", FAV)
    favourite(user, "Kits", SNARES[0])
    explained = user.get("/recommendations/Kits/explained").get_json()
    assert len(explained) == N_RECS
    assert {e["because"] for e in explained} == {FAV, SNARES[0]}  # favourites take turns
    for entry in explained:
        assert CLASSES[entry["name"]] == CLASSES[entry["because"]] and entry["sameClass"] is True
    assert names(explained) == names(user.get("/recommendations/Kits").get_json())
    assert not {FAV, SNARES[0]} & set(names(explained))


def test_class_changes_refresh_the_stored_recommendations(fresh: tuple[Flask, User, dict[str, Path]]) -> None:
    app, user, _ = fresh
    favourite(user, "Kits", FAV)
    assert not set(names(user.get("/recommendations/Kits").get_json())) & set(LAYERS)
    # The user calls every other kick a Tom: the favourite's layers are the only Kicks left, so they come first.
    set_classes(app, "Kits", {name: "Tom" for name in KICKS})
    explained = user.get("/recommendations/Kits/explained").get_json()
    layer_recs = [e for e in explained if e["name"] in LAYERS]
    assert {e["name"] for e in layer_recs} == set(LAYERS) - {FAV}
    assert all(e["sameClass"] for e in layer_recs) and not any(e["sameClass"] for e in explained[len(layer_recs) :])
    # A favourite without a class (the user removed its class): no recommendation shares it.
    set_classes(app, "Kits", {FAV: None})
    with app.app_context():
        db.session.execute(update(Sample).where(Sample.name == FAV).values(auto_tag_rejected=True))
        db.session.commit()
    try:
        explained = user.get("/recommendations/Kits/explained").get_json()
        assert len(explained) == N_RECS and not any(e["sameClass"] for e in explained)
    finally:
        with app.app_context():
            db.session.execute(update(Sample).where(Sample.name == FAV).values(auto_tag_rejected=False))
            db.session.commit()


def test_a_deleted_favourite_and_errors(kit: tuple[Flask, User, dict[str, Path]]) -> None:
    app, user, files = kit
    upload_all(user, "Copy", files)  # the same content: the analysis is reused
    set_classes(app, "Copy", CLASSES)
    favourite(user, "Copy", FAV)
    favourite(user, "Copy", SNARES[0])
    both = user.get("/recommendations/Copy/explained").get_json()
    assert {e["because"] for e in both} == {FAV, SNARES[0]}
    assert user.delete(f"/sample/Copy/{path_url(FAV)}").status_code == 200
    after = user.get("/recommendations/Copy/explained").get_json()
    assert after and all(e["because"] == SNARES[0] for e in after)
    assert names(after) == names(user.get("/recommendations/Copy").get_json())
    assert all(CLASSES[e["name"]] == "Snare" for e in after)
    favourite(user, "Copy", SNARES[0], False)
    assert user.get("/recommendations/Copy/explained").get_json() == []
    assert user.get("/recommendations/Copy").get_json() == []

    missing = user.get("/recommendations/Nope/explained")
    assert missing.status_code == 404 and set(missing.get_json()) == {"message"}
    other = register(app.test_client())
    assert other.get("/recommendations/Copy/explained").status_code == 404
    assert app.test_client().get("/recommendations/Copy/explained").status_code == 401
    assert user.post("/recommendations/Copy/explained", json=[]).status_code == 405

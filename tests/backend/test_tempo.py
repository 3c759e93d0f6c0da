"""Loop tempo through the real app: rendered loops analysed by the real tagger, bpm in /search and /sample, sort,
filters, the user's correction, and the analysis of a sample that becomes a loop later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from backend.extensions import db
from backend.models import Sample
from tests.audio_factory import kick, write
from tests.backend.conftest import User, path_url
from tests.backend.test_analysis import wait_for_job
from tests.loop_factory import render_loop

LOOPS = {
    "Loops/groove.wav": (96.0, "rock", 2),
    "Loops/house.wav": (124.0, "house", 2),
    "Loops/dnb.wav": (172.0, "dnb", 4),
}
KICK = "Kits/kick.wav"


def analyse(user: User, lib: str = "Drums") -> dict[str, Any]:
    """Run the library's analysis and wait for its job."""
    return wait_for_job(user, user.get(f"/analyze/{lib}").get_json()["job"])


def search(user: User, **params: str) -> list[dict[str, Any]]:
    response = user.get("/search/Drums", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["samples"]


def within(value: float | None, bpm: float) -> bool:
    return value is not None and abs(value - bpm) <= 0.02 * bpm


@pytest.fixture
def library(user: User, tmp_path: Path) -> User:
    """Three loops at 96, 124 and 172 BPM and a kick, uploaded and analysed."""
    for name, (bpm, style, bars) in LOOPS.items():
        user.stored("Drums", write(tmp_path / f"{bpm:g}.wav", render_loop(bpm, bars, style, seed=int(bpm))), name)
    user.stored("Drums", write(tmp_path / "kick.wav", kick(0.6, seed=3)), KICK)
    assert analyse(user)["done"] == 4
    return user


def test_loops_get_their_estimated_tempo_and_one_shots_none(app: Flask, library: User) -> None:
    by_name = {s["name"]: s for s in search(library)}
    for name, (bpm, _, _) in LOOPS.items():
        sample = by_name[name]
        assert sample["class"] == "Drumloop", sample
        assert within(sample["bpm"], bpm) and sample["bpmSource"] == "auto", sample
        details = library.get(f"/sample/Drums/{path_url(name)}").get_json()
        assert (details["bpm"], details["bpmSource"]) == (sample["bpm"], "auto")
    assert (by_name[KICK]["bpm"], by_name[KICK]["bpmSource"]) == (None, None)
    with app.app_context():  # the one-shot was never decoded for a tempo: nothing stored, not even "none found"
        assert db.session.scalar(select(Sample.bpm).where(Sample.name == KICK)) is None


def test_search_sorts_and_filters_by_tempo(library: User) -> None:
    names = lambda **params: [s["name"] for s in search(library, **params)]  # noqa: E731
    assert names(sort="bpm") == ["Loops/groove.wav", "Loops/house.wav", "Loops/dnb.wav", KICK]  # no tempo: last
    assert names(sort="-bpm") == ["Loops/dnb.wav", "Loops/house.wav", "Loops/groove.wav", KICK]
    assert names(bpmMin="100", bpmMax="150") == ["Loops/house.wav"]
    assert names(bpmMin="100", sort="bpm") == ["Loops/house.wav", "Loops/dnb.wav"]
    assert names(bpmMax="100.5") == ["Loops/groove.wav"]
    assert names(bpmMin="0", q="loops") == ["Loops/dnb.wav", "Loops/groove.wav", "Loops/house.wav"]
    for params, parameter in (
        ({"bpmMin": "fast"}, "bpmMin"),
        ({"bpmMin": "-5"}, "bpmMin"),
        ({"bpmMax": "nan"}, "bpmMax"),
        ({"bpmMax": "1e6"}, "bpmMax"),
        ({"bpmMin": "150", "bpmMax": "100"}, "bpmMax"),
        ({"sort": "tempo"}, "sort"),
    ):
        response = library.get("/search/Drums", query_string=params)
        assert response.status_code == 400 and parameter in response.get_json()["message"], params
    response = library.get("/search/Drums?bpmMin=80&bpmMin=90")
    assert response.status_code == 400 and "bpmMin" in response.get_json()["message"]


def test_the_users_tempo_wins_until_cleared_and_survives_new_content(library: User, tmp_path: Path) -> None:
    url = f"/samplebpm/update/Drums/{path_url('Loops/groove.wav')}"
    response = library.put(url, json={"bpm": 98})
    assert response.status_code == 200 and "98" in response.get_json()["message"]
    groove = library.get("/sample/Drums/Loops/groove.wav").get_json()
    assert (groove["bpm"], groove["bpmSource"]) == (98, "user")
    assert [s["name"] for s in search(library, bpmMin="97", bpmMax="99")] == ["Loops/groove.wav"]
    assert library.put(f"/samplebpm/update/Drums/{KICK}", json={"bpm": 120.456}).status_code == 200
    kick_sample = library.get(f"/sample/Drums/{KICK}").get_json()
    assert (kick_sample["bpm"], kick_sample["bpmSource"]) == (120.46, "user")  # any class; two decimals
    # New content under the loop's name is estimated again; the user's value stays in front of it.
    library.stored("Drums", write(tmp_path / "faster.wav", render_loop(150.0, 2, "rock", seed=150)), "Loops/groove.wav")
    analyse(library)
    assert library.get("/sample/Drums/Loops/groove.wav").get_json()["bpm"] == 98
    assert library.put(url, json={"bpm": None}).status_code == 200
    groove = library.get("/sample/Drums/Loops/groove.wav").get_json()
    assert within(groove["bpm"], 150.0) and groove["bpmSource"] == "auto"


@pytest.mark.parametrize(
    "body",
    [{"bpm": 19.9}, {"bpm": 400.5}, {"bpm": "96"}, {"bpm": True}, {}, [96], {"bpm": 96, "swing": 0.2}, {"tempo": 96}],
)
def test_bad_tempo_updates_answer_400_and_change_nothing(library: User, body: Any) -> None:
    url = f"/samplebpm/update/Drums/{path_url('Loops/house.wav')}"
    before = library.get("/sample/Drums/Loops/house.wav").get_json()["bpm"]
    response = library.put(url, json=body)
    assert response.status_code == 400 and response.get_json()["message"]
    assert library.get("/sample/Drums/Loops/house.wav").get_json()["bpm"] == before


def test_tempo_updates_of_unknown_samples_or_without_json(library: User) -> None:
    assert library.put("/samplebpm/update/Drums/Loops/none.wav", json={"bpm": 100}).status_code == 404
    assert library.put("/samplebpm/update/Nope/Loops/house.wav", json={"bpm": 100}).status_code == 404
    response = library.put("/samplebpm/update/Drums/Loops/house.wav", data="bpm=100")
    assert response.status_code == 415


def test_a_sample_that_becomes_a_loop_gets_its_tempo_at_the_next_analysis(
    app: Flask, user: User, tmp_path: Path
) -> None:
    """Classed Snare by the user before its analysis, the loop gets no estimate; corrected to Drumloop, the next
    analysis only estimates its tempo (the tagger does not run again)."""
    user.stored("Drums", write(tmp_path / "loop.wav", render_loop(112.0, 2, "funk", seed=112)), "loop.wav")
    assert user.put("/sampleclass/update/Drums/loop.wav", json={"class": "Snare"}).status_code == 200
    analyse(user)
    details = user.get("/sample/Drums/loop.wav").get_json()
    assert (details["modelClass"], details["userClass"], details["bpm"]) == ("Drumloop", "Snare", None)
    assert user.put("/sampleclass/update/Drums/loop.wav", json={"class": "Drumloop"}).status_code == 200
    assert user.get("/sample/Drums/loop.wav").get_json()["bpm"] is None  # pending until the next analysis
    job = analyse(user)
    assert job["done"] == job["total"] == 1
    details = user.get("/sample/Drums/loop.wav").get_json()
    assert within(details["bpm"], 112.0) and details["bpmSource"] == "auto"
    with app.app_context():
        assert db.session.scalar(select(Sample.analysis_runs).where(Sample.name == "loop.wav")) == 1
    # Classed as something else again, the estimate is kept but not shown.
    assert user.put("/sampleclass/update/Drums/loop.wav", json={"class": "Tom"}).status_code == 200
    assert user.get("/sample/Drums/loop.wav").get_json()["bpm"] is None
    assert "nothing to analyse" in user.get("/analyze/Drums").get_json()["message"]

"""The tagger's sub-class (issue 21) through the real app and real recordings: stored by the analysis, shown by
/search and /sample within the class shown, filterable, hidden by a correction to another class."""

from __future__ import annotations

from pathlib import Path

import pytest

from drumsamp_models.subclasses import SUBCLASS_CLASS, SUBCLASSES
from tests.backend.conftest import User, path_url
from tests.backend.test_analysis import wait_for_job

KIT = Path("/usr/share/hydrogen/data/drumkits/GMRockKit")
FILES = (
    "Kick-Hard.wav",
    "Snare-Hard.wav",
    "HandClap.wav",
    "HatClosed-Hard.wav",
    "HatOpen-Hard.wav",
    "Crash-Hard.wav",
    "24Ride-1.wav",
    "Tom1-Hard.wav",
    "Cowbell-Hard.wav",
)


@pytest.fixture
def analysed(user: User) -> User:
    """GMRockKit's kick, snare, clap, hats, cymbals, a tom and a cowbell (hydrogen-drumkits), uploaded and analysed."""
    for name in FILES:
        assert (KIT / name).is_file(), "hydrogen-drumkits is not installed (make test installs it)"
        user.stored("Kit", KIT / name, f"Rock/{name}")
    job = wait_for_job(user, user.get("/analyze/Kit").get_json()["job"])
    assert job["state"] == "done" and job["failed"] == [], job
    return user


def listing(user: User, query: str = "") -> dict[str, dict]:
    response = user.get(f"/search/Kit?limit=1000{query}")
    assert response.status_code == 200, response.get_json()
    return {s["name"]: s for s in response.get_json()["samples"]}


def test_every_sample_has_a_subclass_of_its_class_in_search_and_sample(analysed: User) -> None:
    found = listing(analysed)
    assert len(found) == len(FILES)
    for name, entry in found.items():
        assert entry["subclass"] in SUBCLASSES, entry
        assert SUBCLASS_CLASS[entry["subclass"]] == entry["class"], entry  # always within the class shown
        details = analysed.get(f"/sample/Kit/{path_url(name)}").get_json()
        assert details["subclass"] == entry["subclass"], (details, entry)
    assert found["Rock/Kick-Hard.wav"]["subclass"] == "kick"
    assert found["Rock/Kick-Hard.wav"]["class"] == "Kick"


def test_the_subclass_filter_selects_exactly_those_sub_classes(analysed: User) -> None:
    found = listing(analysed)
    by_sub: dict[str, set[str]] = {}
    for name, entry in found.items():
        by_sub.setdefault(entry["subclass"], set()).add(name)
    assert len(by_sub) >= 4, by_sub  # kicks, snares, cymbals and toms at least are told apart
    for sub, names in by_sub.items():
        assert set(listing(analysed, f"&subclass={sub}")) == names, sub
    first, second = sorted(by_sub)[:2]
    assert set(listing(analysed, f"&subclass={first},{second}")) == by_sub[first] | by_sub[second]
    assert set(listing(analysed, f"&subclass={first}&subclass={second}")) == by_sub[first] | by_sub[second]
    assert listing(analysed, "&subclass=kick&class=Snare") == {}  # with the other filters: all must hold
    unused = next(s for s in SUBCLASSES if s not in by_sub)
    assert listing(analysed, f"&subclass={unused}") == {}


@pytest.mark.parametrize("value", ["Kick", "hat", "", ",", "open hat", "x" * 100])
def test_an_unknown_subclass_is_a_400_naming_the_parameter(analysed: User, value: str) -> None:
    response = analysed.get(f"/search/Kit?subclass={value}")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("parameter 'subclass'"), response.get_json()


def test_a_correction_to_another_class_hides_the_subclass_and_removing_it_shows_it_again(analysed: User) -> None:
    name = "Rock/Kick-Hard.wav"
    url = f"/sampleclass/update/Kit/{path_url(name)}"
    assert analysed.put(url, json={"class": "Tom"}).status_code == 200
    entry = listing(analysed)[name]
    assert (entry["class"], entry["subclass"], entry["modelClass"]) == ("Tom", None, "Kick")
    assert analysed.get(f"/sample/Kit/{path_url(name)}").get_json()["subclass"] is None
    assert name not in listing(analysed, "&subclass=kick")
    assert analysed.put(url, json={"class": None}).status_code == 200
    assert listing(analysed)[name]["subclass"] == "kick"
    # a correction to the class the tagger gave keeps its sub-class
    assert analysed.put(url, json={"class": "Kick"}).status_code == 200
    assert listing(analysed)[name]["subclass"] == "kick"

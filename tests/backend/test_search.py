"""Search (issue 18, part 5): ``GET /search/<lib>`` words, filters, sort and paging through the real app."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import Sample, SampleLibrary
from backend.services.access import touch
from backend.services.search import fold, parse_terms
from tests.backend.conftest import User, drum_kit, path_url, register

LIB = "Drums"
# path -> (auto tag, likelihood) written as a current analysis; None: not analysed
PATHS: dict[str, tuple[str, float] | None] = {
    "Kits/909/kick.wav": ("Kick", 0.91),
    "Kits/909/snare.wav": ("Snare", 0.72),
    "Kits/909/hat closed.wav": ("Cymbal", 0.66),
    "Kits/909/Toms/tom low.wav": ("Tom", 0.80),
    "Kits/909/Toms/tom high.wav": ("Tom", 0.55),
    "Kits/808 Classic/kick.wav": ("Kick", 0.97),
    "Kits/808 Classic/clap.wav": ("Unknown", 0.41),
    "Kits/9090/odd.wav": None,  # a sibling folder whose name starts like "Kits/909"
    "Loops/Café/brush loop.wav": ("Drumloop", 0.88),
    "Loops/funky break.wav": None,
    "FX/Riser.wav": None,
    "Snare_Top.wav": ("Snare", 0.60),
}
REJECTED = "Kits/909/hat closed.wav"  # its auto tag removed by the user: no class
STALE = "Snare_Top.wav"  # analysed, then new content: no class, not analysed
FAVOURITES = ("Kits/909/kick.wav", "Loops/funky break.wav", "FX/Riser.wav")
USER_TAGS = {
    "Kits/909/kick.wav": ["punchy", "909"],
    "Kits/808 Classic/kick.wav": ["punchy", "Boomy"],
    "Loops/funky break.wav": ["groove"],
    "FX/Riser.wav": ["Über"],
}




@pytest.fixture
def library(app: Flask, user: User, tmp_path: Path) -> User:
    """The library of ``PATHS``: uploaded, favourites and user tags set through the API, auto tags in the DB."""
    sounds = drum_kit(tmp_path / "kit", len(PATHS))
    for path, sound in zip(PATHS, sounds, strict=True):
        data = {"file": (io.BytesIO(sound.read_bytes()), path)}
        response = user.post(f"/upload/{LIB}", data=data, content_type="multipart/form-data")
        assert response.status_code == 200, response.get_json()
    for path in FAVOURITES:
        assert user.put(f"/samplefavorite/update/{LIB}/{path_url(path)}", json={"isFavorite": True}).status_code == 200
    body = [{"name": path, "customTags": tags} for path, tags in USER_TAGS.items()]
    assert user.post(f"/usertags/{LIB}", json=body).status_code == 200
    with app.app_context():  # the tagger's results, written directly (a real analysis is tested elsewhere)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for i, (path, auto) in enumerate(PATHS.items()):
            values: dict = {"created_at": start + timedelta(minutes=i)}
            if auto is not None:
                values.update(auto_tag=auto[0], auto_likelihood=auto[1], analyzed_hash=Sample.content_hash)
            if path == REJECTED:
                values["auto_tag_rejected"] = True
            if path == STALE:
                values["analyzed_hash"] = "0" * 64
            db.session.execute(update(Sample).where(Sample.name == path).values(**values))
        touch(db.session.scalar(select(SampleLibrary).where(SampleLibrary.name == LIB)))
        db.session.commit()
    return user


def search(user: User, status: int = 200, **params: object) -> dict:
    response = user.get(f"/search/{LIB}", query_string=params)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def paths(user: User, **params: object) -> list[str]:
    return [s["path"] for s in search(user, limit=1000, **params)["samples"]]


def test_without_parameters_everything_in_path_order(library: User) -> None:
    body = search(library)
    assert set(body) == {"libname", "total", "offset", "limit", "sort", "samples"}
    assert (body["libname"], body["total"], body["offset"], body["limit"], body["sort"]) == (LIB, 12, 0, 100, "path")
    assert [s["path"] for s in body["samples"]] == sorted(PATHS)
    listing = library.get(f"/get/library/{LIB}").get_json()["samples"]
    assert [s["name"] for s in listing] == [s["name"] for s in body["samples"]]
    for found, listed in zip(body["samples"], listing, strict=True):
        assert found["tags"] == listed["tags"]  # the listing's tags, same format and order
        assert found["isFavorite"] == listed["isFavorite"]


def test_entry_fields(library: User) -> None:
    entries = {s["path"]: s for s in search(library)["samples"]}
    kick = entries["Kits/909/kick.wav"]
    assert set(kick) == {
        "name", "path", "folder", "duration", "format", "size", "samplerate", "channels",
        "isFavorite", "analysed", "class", "likelihood", "corrected", "modelClass", "subclass", "tags", "addedAt",
        "bpm", "bpmSource",
    }  # fmt: skip
    assert (kick["bpm"], kick["bpmSource"]) == (None, None)  # a one-shot has no tempo (tests/backend/test_tempo.py)
    details = library.get(f"/sample/{LIB}/{path_url('Kits/909/kick.wav')}").get_json()
    for field in ("name", "duration", "format", "size", "samplerate", "channels", "isFavorite", "analysed"):
        assert kick[field] == details[field], field
    assert kick["path"] == kick["name"] == "Kits/909/kick.wav"
    assert kick["folder"] == "Kits/909"
    assert (kick["class"], kick["likelihood"]) == ("Kick", pytest.approx(0.91))
    assert kick["tags"] == [["Kick", "auto", "0.910"], ["909", "user", "1.000"], ["punchy", "user", "1.000"]]
    assert kick["addedAt"] == "2026-01-01T00:00:00Z"
    assert kick["corrected"] is False and kick["modelClass"] == "Kick"
    assert entries["Snare_Top.wav"]["folder"] == ""
    assert entries[REJECTED]["class"] is None and entries[REJECTED]["likelihood"] is None
    assert entries[REJECTED]["analysed"] is True and entries[REJECTED]["tags"] == []
    assert entries[STALE]["class"] is None and entries[STALE]["analysed"] is False
    assert entries["FX/Riser.wav"]["class"] is None and entries["FX/Riser.wav"]["analysed"] is False


def test_words_match_path_and_tags_case_and_accent_insensitively(library: User) -> None:
    assert paths(library, q="kick") == ["Kits/808 Classic/kick.wav", "Kits/909/kick.wav"]
    assert paths(library, q="909 kick") == ["Kits/909/kick.wav"]  # every word must match
    assert paths(library, q="  KICK   909 ") == ["Kits/909/kick.wav"]
    assert paths(library, q="cafe") == ["Loops/Café/brush loop.wav"]  # accents ignored
    assert paths(library, q="CAFÉ") == ["Loops/Café/brush loop.wav"]
    assert paths(library, q="uber") == ["FX/Riser.wav"]  # the user tag "Über"
    assert paths(library, q="punch") == ["Kits/808 Classic/kick.wav", "Kits/909/kick.wav"]  # a tag's beginning
    assert paths(library, q="unchy") == []  # tags match from their beginning only
    assert paths(library, q="tom") == ["Kits/909/Toms/tom high.wav", "Kits/909/Toms/tom low.wav"]
    assert paths(library, q="drumloop") == ["Loops/Café/brush loop.wav"]  # the auto tag's class
    # A class the user removed, or of an older content, does not match; the path still does.
    assert paths(library, q="cymbal") == []
    assert paths(library, q="snare") == ["Kits/909/snare.wav", "Snare_Top.wav"]
    assert paths(library, q="wav") == sorted(PATHS)
    assert paths(library, q="nothing-like-this") == []


def test_excluded_words_and_phrases(library: User) -> None:
    assert paths(library, q="kick -808") == ["Kits/909/kick.wav"]
    assert paths(library, q="-kits") == [
        "FX/Riser.wav",
        "Loops/Café/brush loop.wav",
        "Loops/funky break.wav",
        "Snare_Top.wav",
    ]
    assert paths(library, q="-punchy -loop -kits -fx") == ["Snare_Top.wav"]  # tags excluded too
    assert paths(library, q='"tom low"') == ["Kits/909/Toms/tom low.wav"]
    assert paths(library, q='kits -"808 classic"') == [p for p in sorted(PATHS) if p.startswith("Kits/9")]
    assert paths(library, q='"brush   LOOP') == ["Loops/Café/brush loop.wav"]  # unclosed quote, spaces folded
    assert paths(library, q='- "" kick') == ["Kits/808 Classic/kick.wav", "Kits/909/kick.wav"]  # empty terms ignored
    assert paths(library, q="-wav") == []


def test_filters(library: User) -> None:
    assert paths(library, folder="Kits/909") == [p for p in sorted(PATHS) if p.startswith("Kits/909/")]
    assert "Kits/9090/odd.wav" not in paths(library, folder="Kits/909")
    assert paths(library, folder="Kits/909/Toms/") == ["Kits/909/Toms/tom high.wav", "Kits/909/Toms/tom low.wav"]
    assert paths(library, folder="kits/909") == []  # folders are exact paths
    assert paths(library, folder="Loops/Café") == ["Loops/Café/brush loop.wav"]
    assert paths(library, folder="Loops/Cafe\u0301") == ["Loops/Café/brush loop.wav"]  # any normal form
    assert paths(library, **{"class": "kick"}) == ["Kits/808 Classic/kick.wav", "Kits/909/kick.wav"]
    assert paths(library, **{"class": "Tom,Drumloop"}) == [
        "Kits/909/Toms/tom high.wav", "Kits/909/Toms/tom low.wav", "Loops/Café/brush loop.wav",
    ]  # fmt: skip
    assert paths(library, **{"class": ["Unknown", "Snare"]}) == ["Kits/808 Classic/clap.wav", "Kits/909/snare.wav"]
    assert paths(library, **{"class": "Cymbal"}) == []  # rejected by the user
    assert paths(library, tag="punchy") == ["Kits/808 Classic/kick.wav", "Kits/909/kick.wav"]
    assert paths(library, tag=["PUNCHY", "boomy"]) == ["Kits/808 Classic/kick.wav"]  # all must be present
    assert paths(library, tag="punch") == []  # whole tag names
    assert paths(library, tag="Kick") == []  # custom tags only: classes are `class`
    assert paths(library, tag="über") == ["FX/Riser.wav"]
    assert paths(library, favorite="true") == sorted(FAVOURITES)
    assert paths(library, favourite="1") == sorted(FAVOURITES)
    assert paths(library, favorite="false") == sorted(set(PATHS) - set(FAVOURITES))
    analysed = sorted(p for p, auto in PATHS.items() if auto is not None and p != STALE)
    assert paths(library, analysed="true") == analysed
    assert paths(library, analyzed="no") == sorted(set(PATHS) - set(analysed))
    # Everything together.
    assert paths(
        library, q="kick -808", folder="Kits", favorite="yes", analysed="true", tag="909", **{"class": "Kick"}
    ) == ["Kits/909/kick.wav"]
    assert paths(library, q="riser", favorite="true", analysed="true") == []


def by(key: str, descending: bool) -> list[str]:
    """The expected order of ``PATHS`` for a sort key: samples without a value last, ties in path order."""

    class_of = {p: a[0] for p, a in PATHS.items() if a is not None and p not in (REJECTED, STALE)}
    likelihood = {p: a[1] for p, a in PATHS.items() if a is not None and p not in (REJECTED, STALE)}
    values = {
        "path": {p: p for p in PATHS},
        "name": {p: fold(p.rsplit("/", 1)[-1]) for p in PATHS},
        "class": class_of,
        "confidence": likelihood,
        "added": {p: i for i, p in enumerate(PATHS)},
    }[key]
    present = sorted((p for p in sorted(PATHS) if p in values), key=values.__getitem__, reverse=descending)
    return present + [p for p in sorted(PATHS) if p not in values]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("key", ["path", "name", "class", "confidence", "added"])
def test_sort_keys(library: User, key: str, descending: bool) -> None:
    sort = f"-{key}" if descending else key
    body = search(library, sort=sort, limit=1000)
    assert body["sort"] == sort
    assert [s["path"] for s in body["samples"]] == by(key, descending)


@pytest.mark.parametrize("key,field", [("duration", "duration"), ("size", "size")])
def test_sort_by_duration_and_size(library: User, key: str, field: str) -> None:
    up = search(library, sort=key, limit=1000)["samples"]
    down = search(library, sort=f"-{key}", limit=1000)["samples"]
    assert [s[field] for s in up] == sorted(s[field] for s in up)
    assert [s[field] for s in down] == sorted((s[field] for s in up), reverse=True)
    assert len({s[field] for s in up}) > 6  # the generated sounds differ: the order means something
    ties = sorted((s[field], s["path"]) for s in up)
    assert [(s[field], s["path"]) for s in up] == ties  # ties broken by path


def test_sort_applies_to_filtered_results(library: User) -> None:
    assert paths(library, q="kits", sort="-confidence")[:3] == [
        "Kits/808 Classic/kick.wav", "Kits/909/kick.wav", "Kits/909/Toms/tom low.wav",
    ]  # fmt: skip
    assert paths(library, favorite="true", sort="-name") == [
        "FX/Riser.wav",
        "Kits/909/kick.wav",
        "Loops/funky break.wav",
    ]


@pytest.mark.parametrize("params", [{}, {"q": "kits"}, {"favorite": "false"}, {"q": "-fx", "sort": "-duration"}])
def test_paging_is_stable_and_complete(library: User, params: dict) -> None:
    everything = search(library, limit=1000, **params)
    pages = []
    for offset in range(0, everything["total"] + 3, 3):
        page = search(library, offset=offset, limit=3, **params)
        assert (page["total"], page["offset"], page["limit"]) == (everything["total"], offset, 3)
        assert len(page["samples"]) == min(3, max(0, everything["total"] - offset))
        pages.extend(page["samples"])
    assert pages == everything["samples"]
    beyond = search(library, offset=1000, **params)
    assert beyond["samples"] == [] and beyond["total"] == everything["total"]
    counted = search(library, limit=0, **params)
    assert counted["samples"] == [] and counted["total"] == everything["total"]


def test_results_follow_changes(library: User) -> None:
    assert paths(library, favorite="true") == sorted(FAVOURITES)
    unmark = library.put(f"/samplefavorite/update/{LIB}/{path_url('Kits/909/kick.wav')}", json={"isFavorite": False})
    assert unmark.status_code == 200
    assert "Kits/909/kick.wav" not in paths(library, favorite="true")
    tagged = library.post(f"/usertags/{LIB}", json=[{"name": "Snare_Top.wav", "customTags": ["crack"]}])
    assert tagged.status_code == 200
    assert paths(library, q="crack") == ["Snare_Top.wav"]
    assert library.delete(f"/sample/{LIB}/{path_url('Snare_Top.wav')}").status_code == 200
    assert paths(library, q="crack") == []
    assert search(library)["total"] == len(PATHS) - 1


@pytest.mark.parametrize(
    "params,parameter",
    [
        ({"sort": "loudness"}, "sort"),
        ({"sort": "--path"}, "sort"),
        ({"sort": ""}, "sort"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "1.5"}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"offset": "99999999999"}, "offset"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": "٣"}, "limit"),  # a non-ASCII digit
        ({"favorite": "maybe"}, "favorite"),
        ({"analysed": ""}, "analysed"),
        ({"class": "Cowbell"}, "class"),
        ({"class": ","}, "class"),
        ({"tag": " "}, "tag"),
        ({"q": "x" * 201}, "q"),
        ({"q": " ".join(f"w{i}" for i in range(21))}, "q"),
        ({"folder": "a" * 1025}, "folder"),
        ({"sort": ["path", "name"]}, "sort"),
        ({"favorite": "true", "favourite": "true"}, "favorite"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_are_400_naming_them(library: User, params: dict, parameter: str) -> None:
    body = search(library, 400, **params)
    assert body["message"].startswith(f"parameter {parameter!r}:"), body


def test_hostile_queries_never_fail(library: User) -> None:
    for q in ["%", "_", "\\", "'", '"', "*", ".*", "(", "\x00", "\ufffd", "🥁", "ǅ", "ß", "İ", "a" * 200, "-" * 200]:
        assert search(library, q=q)["total"] >= 0, q
    response = library.get(f"/search/{LIB}?q=%ED%A0%80&folder=%FF&tag=%C0")  # invalid UTF-8: replaced, no 500
    assert response.status_code == 200
    assert search(library, q="ss")["total"] == search(library, q="ß")["total"]


def test_unknown_library_is_404_and_other_users_see_nothing(app: Flask, library: User) -> None:
    response = library.get("/search/Nope")
    assert response.status_code == 404
    assert response.get_json() == {"message": "no library named 'Nope'"}
    mallory = register(app.test_client())
    theirs, missing = mallory.get(f"/search/{LIB}"), mallory.get("/search/Missing")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json()["message"] == missing.get_json()["message"].replace("Missing", LIB)
    assert app.test_client().get(f"/search/{LIB}").status_code == 401


def test_parse_terms() -> None:
    assert parse_terms('Kick  -"808 Classic" "snare   top" -x') == (("kick", "snare top"), ("808 classic", "x"))
    assert parse_terms("Café CAFE") == (("cafe",), ())  # folded, duplicates once
    assert parse_terms("") == ((), ())

"""Class suggestions from corrections (``drumsamp_models.csuggest``) on a library index of constructed vectors: a
cluster of kicks, a cluster of toms the tagger calls Kick, snares; the same graph as real sounds give, without
the tagger (the server's test, tests/backend/test_corrections.py, runs it on real recordings)."""

from __future__ import annotations

import numpy as np
import pytest

from drumsamp_models.csuggest import Suggestion, suggest_classes
from drumsamp_models.index import LibraryIndex

DIM = 32


def cluster(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float) -> np.ndarray:
    return centre + spread * rng.standard_normal((n, DIM))


@pytest.fixture
def library() -> tuple[LibraryIndex, dict[str, str]]:
    """20 kicks, 6 toms (shown Kick: the tagger's mistake), 10 snares; ids say what they are."""
    rng = np.random.default_rng(0)
    kick_c, tom_c, snare_c = (rng.standard_normal(DIM) for _ in range(3))
    tom_c = 0.55 * kick_c + 0.45 * tom_c  # toms lie between kicks and elsewhere, nearer each other
    parts = {
        "kick": cluster(rng, kick_c, 20, 0.25),
        "tom": cluster(rng, tom_c, 6, 0.12),
        "snare": cluster(rng, snare_c, 10, 0.25),
    }
    ids = [f"{kind}{i}" for kind, rows in parts.items() for i in range(len(rows))]
    index = LibraryIndex().fit(np.vstack(list(parts.values())), ids)
    shown = {sid: ("Snare" if sid.startswith("snare") else "Kick") for sid in ids}
    return index, shown


def corrected(shown: dict[str, str], ids: list[str], to: str = "Tom") -> tuple[dict, dict]:
    view = dict(shown) | {sid: to for sid in ids}
    return view, {sid: (to, shown[sid]) for sid in ids}


def test_three_corrected_toms_suggest_tom_for_the_others_and_not_for_kicks(library) -> None:  # type: ignore[no-untyped-def]
    index, shown = library
    view, corrections = corrected(shown, ["tom0", "tom1", "tom2"])
    found = suggest_classes(index, view, corrections)
    assert set(found) == {"tom3", "tom4", "tom5"}
    for sid, s in found.items():
        assert isinstance(s, Suggestion) and s.sound_id == sid
        assert s.suggested == "Tom" and s.shown == "Kick" and 0.8 <= s.confidence <= 1.0


def test_only_sounds_showing_the_mistaken_class_are_candidates(library) -> None:  # type: ignore[no-untyped-def]
    """Corrections Kick -> Tom say nothing about snares, nor about sounds without a class."""
    index, shown = library
    view, corrections = corrected(shown, ["tom0", "tom1", "tom2"])
    view |= {"tom3": "Snare", "tom4": None}  # type: ignore[dict-item]
    found = suggest_classes(index, view, corrections)
    assert "tom3" not in found and "tom4" not in found and set(found) <= {"tom5"}
    # a correction whose tagger's class is unknown (not analysed) teaches nothing
    assert suggest_classes(index, view, {"tom0": ("Tom", None)}) == {}


def test_refused_sounds_get_nothing_and_count_against_their_neighbours(library) -> None:  # type: ignore[no-untyped-def]
    index, shown = library
    view, corrections = corrected(shown, ["tom0", "tom1", "tom2"])
    before = suggest_classes(index, view, corrections)
    assert set(before) == {"tom3", "tom4", "tom5"}
    assert suggest_classes(index, view, corrections, refused={"tom3", "tom4"}) == {}
    # the refusals hold Kick beside tom5: it falls below the default confidence
    loose = suggest_classes(index, view, corrections, refused={"tom3", "tom4"}, min_confidence=0.3)
    assert set(loose) == {"tom5"} and loose["tom5"].confidence < before["tom5"].confidence


def test_no_corrections_no_suggestions_and_bad_parameters(library) -> None:  # type: ignore[no-untyped-def]
    index, shown = library
    assert suggest_classes(index, shown, {}) == {}
    assert suggest_classes(index, shown, {"nope": ("Tom", "Kick")}) == {}  # ids not in the index are ignored
    view, corrections = corrected(shown, ["tom0"])
    assert suggest_classes(index, view, {"tom0": ("Kick", "Kick")}) == {}  # the tagger's own class: no correction
    with pytest.raises(ValueError):
        suggest_classes(index, view, corrections, prior_weight=0.0)
    with pytest.raises(ValueError):
        suggest_classes(index, view, corrections, n_neighbors=0)


def test_a_lower_confidence_reaches_further(library) -> None:  # type: ignore[no-untyped-def]
    index, shown = library
    view, corrections = corrected(shown, ["tom0"])
    strict = suggest_classes(index, view, corrections)
    loose = suggest_classes(index, view, corrections, min_confidence=0.3)
    assert set(strict) <= set(loose)
    assert all(s.confidence >= 0.3 for s in loose.values())
    anything = suggest_classes(index, view, corrections, min_confidence=0.0)
    assert all(s.confidence > 0 for s in anything.values())  # never a suggestion nothing speaks for
    assert not any(sid.startswith("kick") for sid in anything)
    with pytest.raises(ValueError):
        suggest_classes(index, view, corrections, min_confidence=1.5)

"""Custom tagger: the design's call (listing 2) and the multi-tag k-NN propagation."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from drumsamp_models import ctagger, utils, vectors
from drumsamp_models.ctagger import CustomTagger, TagScore, propagate_tags
from drumsamp_models.index import EmptyLibraryError, LibraryIndex, UnknownSoundError
from tests.audio_factory import kick, noise_burst, tone, write


@pytest.fixture
def tag_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``Sample_Lib`` in a fresh working directory: kicks, hats, a tone, and an exact copy of one kick."""
    monkeypatch.chdir(tmp_path)
    lib = Path("Sample_Lib")
    write(lib / "kick_a.wav", kick(0.4, seed=1))
    write(lib / "kick_a_copy.wav", kick(0.4, seed=1))
    write(lib / "kick_b.wav", kick(0.6, seed=2))
    write(lib / "hat_a.wav", noise_burst(0.15, decay=40, seed=3))
    write(lib / "hat_b.wav", noise_burst(0.25, decay=30, seed=4))
    write(lib / "beep.wav", tone(880, 1.2, decay=3))
    return lib


def run_listing_2(custom_tag_dict: dict[str, str], thresh: float = 0.002) -> dict[str, list[str]]:
    """Listing 2 of the design, as written (with real file names in the dictionary)."""
    audio_files = Path("./Sample_Lib/").glob("**/*.wav")
    audio_files = [str(f) for f in audio_files]
    recommendation_path = "./recommendation_batches"
    utils.save_recommendation_batches_to_disk(audio_files, recommendation_path)
    recommendation_files = Path("./recommendation_batches").glob("**/*.npz")
    recommendation_files = [str(f) for f in recommendation_files]
    result_dict = {}
    for file in recommendation_files:
        custom_tags = ctagger.get_custom_tag_nearest(file, custom_tag_dict, thresh)
        result_dict[file] = custom_tags
    return result_dict


def by_audio(result: dict[str, list[str]]) -> dict[str, list[str]]:
    """Listing 2's result keyed by audio base name instead of feature file."""
    return {vectors.load_cached(f).source_path.split(os.sep)[-1]: tags for f, tags in result.items()}


def test_listing_2_runs_as_written(tag_library: Path) -> None:
    result = by_audio(run_listing_2({"kick_a.wav": "custom_tag1", "hat_a.wav": "custom_tag2"}))
    assert set(result) == {p.name for p in tag_library.iterdir()}
    assert result["kick_a.wav"] == ["custom_tag1"]  # explicit
    assert result["hat_a.wav"] == ["custom_tag2"]
    assert result["kick_a_copy.wav"] == ["custom_tag1"]  # identical audio: distance 0 <= 0.002
    assert result["kick_b.wav"] == [] and result["hat_b.wav"] == [] and result["beep.wav"] == []


def batch_of(name: str) -> str:
    """The recommendation feature file of one audio file of the fixture."""
    return str(Path("recommendation_batches") / utils.feature_file_name(f"Sample_Lib/{name}"))


def test_threshold_uses_the_designs_zero_padding_distance(tag_library: Path) -> None:
    run_listing_2({})
    short = vectors.load_cached(batch_of("kick_a.wav")).data  # 0.4 s
    longer = vectors.load_cached(batch_of("kick_b.wav")).data  # 0.6 s
    assert len(short) < len(longer)
    n = len(longer)
    padded = np.zeros_like(longer, dtype=np.float64)
    padded[: len(short)] = short
    dist = 1 - padded.ravel() @ longer.ravel().astype(np.float64) / (np.linalg.norm(padded) * np.linalg.norm(longer))
    assert 0.002 < dist < 1 and n == len(padded)
    tags = {"kick_b.wav": "boom"}
    assert ctagger.get_custom_tag_nearest(batch_of("kick_a.wav"), tags, dist + 1e-6) == ["boom"]
    assert ctagger.get_custom_tag_nearest(batch_of("kick_a.wav"), tags, dist - 1e-6) == []


def test_many_tags_per_sound_nearest_first_and_every_name_form(tag_library: Path) -> None:
    run_listing_2({})
    tags = {
        "hat_a.wav": ["hat", "bright"],  # base name, two tags
        str(Path("Sample_Lib/kick_b.wav").resolve()): "boom",  # absolute audio path
        batch_of("beep.wav"): "beep",  # feature file
    }
    got = ctagger.get_custom_tag_nearest(batch_of("hat_b.wav"), tags, 2.0)  # everything is within 2
    dists = {
        t: vectors.design_distance(
            vectors.load_cached(batch_of("hat_b.wav")).data, vectors.load_cached(batch_of(n)).data
        )
        for t, n in (("hat", "hat_a.wav"), ("boom", "kick_b.wav"), ("beep", "beep.wav"))
    }
    assert set(got) == {"hat", "bright", "boom", "beep"}
    order = [t for t in got if t != "bright"]
    assert order == sorted(dists, key=dists.__getitem__)
    assert got.index("bright") == got.index("hat") + 1


def test_seed_function_clear_errors(tag_library: Path) -> None:
    run_listing_2({})
    with pytest.raises(UnknownSoundError, match=r"no_such\.wav"):
        ctagger.get_custom_tag_nearest(batch_of("hat_b.wav"), {"no_such.wav": "x"}, 0.1)
    with pytest.raises(UnknownSoundError):
        ctagger.get_custom_tag_nearest("recommendation_batches/missing.npz", {"hat_a.wav": "x"}, 0.1)
    write(Path("Other/hat_a.wav"), noise_burst(0.2, seed=9))
    utils.save_recommendation_batches_to_disk(["Other/hat_a.wav"], "recommendation_batches")
    with pytest.raises(UnknownSoundError, match="ambiguous"):
        ctagger.get_custom_tag_nearest(batch_of("hat_b.wav"), {"hat_a.wav": "x"}, 0.1)
    # The full path disambiguates.
    assert ctagger.get_custom_tag_nearest(batch_of("hat_b.wav"), {"Sample_Lib/hat_a.wav": "x"}, 2.0) == ["x"]


# ---------------------------------------------------------------------- k-NN propagation
def fan(first: int, second: int, degrees: list[float]) -> np.ndarray:
    """Unit vectors in 4-d, in the plane of axes ``first`` and ``second``, at the given angles from ``first``."""
    rad = np.deg2rad(degrees)
    out = np.zeros((len(degrees), 4))
    out[:, first], out[:, second] = np.cos(rad), np.sin(rad)
    return out


E3 = [0, 0, 1.0, 0]
SMALL = 1e-6  # a min_scale below every spread of these tests: the tags' own spreads decide


def dist(degrees: float) -> float:
    """Cosine distance between two unit vectors ``degrees`` apart."""
    return 1.0 - math.cos(math.radians(degrees))


def vote(
    for_tag: list[float],
    against: list[float],
    scale: float,
    bandwidth: float = ctagger.DEFAULT_BANDWIDTH,
    horizon: float = ctagger.DEFAULT_HORIZON,
) -> float:
    """The documented confidence: votes ``exp(-d / (bandwidth · scale))`` for and against, plus the doubt vote."""
    w = [math.exp(-d / (bandwidth * scale)) for d in for_tag]
    n = [math.exp(-d / (bandwidth * scale)) for d in against]
    return sum(w) / (sum(w) + sum(n) + math.exp(-horizon / bandwidth))


def test_confidence_is_the_share_of_a_distance_weighted_vote_with_a_doubt_vote() -> None:
    X = np.vstack([fan(0, 3, [0, 2]), fan(1, 3, [0, 2])])  # two hats 2 degrees apart, two kicks 90 degrees away
    tagger = CustomTagger(min_confidence=0.5, min_scale=SMALL).fit(X, ["hat", "hat", "kick", "kick"])
    assert tagger.scales_ == {"hat": pytest.approx(dist(2), rel=2e-3), "kick": pytest.approx(dist(2), rel=2e-3)}
    near, between, far = tagger.predict_confidence(np.vstack([fan(0, 3, [1]), fan(0, 3, [3]), [E3]]))
    assert near == {"hat": pytest.approx(vote([dist(1), dist(1)], [], dist(2)), rel=2e-3)}
    assert between == {"hat": pytest.approx(vote([dist(3), dist(1)], [], dist(2)), rel=2e-3)}
    assert near["hat"] > between["hat"] > 0.5  # closer to the examples: more confident
    assert far == {}  # beyond every example's reach: no tag at all
    # the default is precision first: 3 degrees off two examples 2 degrees apart is too far for it
    assert CustomTagger(min_scale=SMALL).fit(X, ["hat", "hat", "kick", "kick"]).predict(fan(0, 3, [3])) == [[]]


def test_an_example_with_several_tags_votes_fully_for_each_and_disagreement_is_not_stored() -> None:
    """Tags never split one vote (the 0.585 + 0.415 of issue 20): each tag is scored on its own."""
    X = fan(0, 3, [0, 1])
    both = CustomTagger(min_scale=dist(2)).fit(X, [["909", "kick"], ["909", "kick"]])
    (conf,) = both.predict_confidence(fan(0, 3, [0.5]))
    assert conf == {
        "909": pytest.approx(conf["kick"], rel=2e-3),
        "kick": pytest.approx(vote([dist(0.5)] * 2, [], dist(2)), rel=2e-3),
    }
    assert conf["909"] >= ctagger.DEFAULT_MIN_CONFIDENCE and conf["909"] + conf["kick"] > 1.9
    # two examples that disagree, as close to the query as each other: neither tag reaches the floor
    split = CustomTagger(min_confidence=ctagger.CONFIDENCE_FLOOR, min_scale=dist(2)).fit(
        fan(0, 3, [0, 2]), ["909", "acoustic"]
    )
    (conf,) = split.predict_confidence(fan(0, 3, [1]))
    assert conf == {}
    assert vote([dist(1)], [dist(1)], dist(2)) < ctagger.CONFIDENCE_FLOOR


def test_the_confidence_floor_and_the_reaches() -> None:
    assert ctagger.CONFIDENCE_FLOOR == 0.5
    assert ctagger.reach_confidence("strict") == ctagger.DEFAULT_MIN_CONFIDENCE == CustomTagger().min_confidence
    assert ctagger.reach_confidence(ctagger.DEFAULT_REACH) == ctagger.DEFAULT_MIN_CONFIDENCE
    assert ctagger.reach_confidence("balanced") == 0.75
    assert ctagger.reach_confidence("wide") == ctagger.reach_confidence(1) == ctagger.CONFIDENCE_FLOOR
    assert ctagger.reach_confidence(0) == 1.0 and ctagger.reach_confidence(0.3) == pytest.approx(0.85, rel=2e-3)
    for bad in (-0.1, 1.5, float("nan"), "huge", "0.5", True, None):
        with pytest.raises(ValueError, match="reach"):
            ctagger.reach_confidence(bad)  # type: ignore[arg-type]
    X = fan(0, 3, [0, 2])
    for low in (0.3, 0.4999, 1.01):
        with pytest.raises(ValueError, match=r"min_confidence must be from 0\.5 to 1"):
            CustomTagger(min_confidence=low).fit(X, ["a", "a"])
    fitted = CustomTagger().fit(X, ["a", "a"])
    with pytest.raises(ValueError, match="min_confidence"):
        fitted.set_params(min_confidence=0.2).predict(X)
    with pytest.raises(ValueError, match="scale must be 'auto' or a positive distance"):
        CustomTagger(scale=0).fit(X, ["a", "a"])
    with pytest.raises(ValueError, match="bandwidth"):
        CustomTagger(bandwidth=0).fit(X, ["a", "a"])


def test_no_propagated_tag_below_the_reach_and_wider_reaches_only_add() -> None:
    """Random libraries, tags, rejections and classes: every propagated confidence is at least the reach's minimum
    (never below the floor), and a wider reach keeps every tag of a narrower one with the same confidence."""
    rng = np.random.default_rng(7)
    for trial in range(5):
        X = rng.normal(size=(300, 8))
        X[:150] += rng.normal(size=8) * 3  # some structure: two clusters
        ids = [f"s{i}" for i in range(300)]
        index = LibraryIndex().fit(X, ids)
        chosen = rng.choice(300, 40, replace=False)
        user = {ids[i]: list(rng.choice(["a", "b", "c", "d"], rng.integers(1, 3), replace=False)) for i in chosen[:30]}
        rejected = {ids[i]: ["a"] for i in chosen[30:]}
        classes = {i: str(rng.choice(["Kick", "Snare"])) for i in ids} if trial % 2 else None
        tagger = CustomTagger(min_scale=0.05)
        results = {
            reach: propagate_tags(index, user, tagger, classes=classes, rejected=rejected, reach=reach)
            for reach in ("strict", "balanced", "wide")
        }
        given = 0
        for reach, result in results.items():
            for sound, scores in result.items():
                for score in scores:
                    if score.source == "propagated":
                        given += 1
                        assert score.confidence >= ctagger.reach_confidence(reach) - 1e-6 >= 0.5 - 1e-6
                        assert score.tag not in rejected.get(sound, [])
        assert given > 0
        for narrow, wide in (("strict", "balanced"), ("balanced", "wide")):
            for sound, scores in results[narrow].items():
                assert set(scores) <= set(results[wide][sound])


def test_scale_is_the_tags_own_spread_and_at_least_min_scale() -> None:
    X = fan(0, 3, [0, 2, 4, 6, 30])
    tagger = CustomTagger(min_scale=SMALL).fit(X, ["hat", "hat", "hat", "hat", "lone"])
    assert tagger.scales_ == {
        "hat": pytest.approx(dist(2), rel=2e-3),
        "lone": SMALL,
    }  # one example: no spread of its own
    assert CustomTagger(min_scale=0.01).fit(X, ["hat"] * 4 + ["lone"]).scales_ == {"hat": 0.01, "lone": 0.01}
    assert CustomTagger(scale=0.2).fit(X, ["hat"] * 4 + ["lone"]).scales_ == {"hat": 0.2, "lone": 0.2}
    # with classes, the spread is measured between examples of the same class
    gated = CustomTagger(min_scale=SMALL).fit(X[[0, 1, 3]], ["x", "x", "x"], classes=["A", "B", "A"])
    assert gated.scales_ == {"x": pytest.approx(dist(6), rel=2e-3)}  # A: 0 and 6 degrees; B alone


def test_class_gating_compares_only_within_a_class() -> None:
    X = fan(0, 3, [0, 2, 4, 6])
    tagger = CustomTagger(n_neighbors=3, min_scale=SMALL).fit(X, ["crash"] * 4, classes=["Cymbal"] * 4)
    q = fan(0, 3, [1, 3])
    assert tagger.predict(q, classes=["Cymbal", "Snare"]) == [["crash"], []]
    assert tagger.predict(q) == [["crash"], ["crash"]]  # no classes given: no gating


def library_index() -> LibraryIndex:
    """Hats h0..h5 two degrees apart, kicks k0..k5 ninety degrees away, one far sound."""
    X = np.vstack([fan(0, 3, [0, 2, 4, 6, 8, 10]), fan(1, 3, [0, 2, 4, 6, 8, 10]), [E3]])
    ids = [f"/lib/h{i}.wav" for i in range(6)] + [f"/lib/k{i}.wav" for i in range(6)] + ["/lib/far.wav"]
    return LibraryIndex().fit(X, ids)


def test_propagate_tags_on_library_index_and_explicit_tags_win() -> None:
    index = library_index()
    user = {
        "h0.wav": ["hat", "dusty"],
        "/lib/h1.wav": "hat",
        "h2.wav": "hat",
        "k0.wav": "kick",
        "k1.wav": "kick",
        "k2.wav": "kick",
        "h3.wav": ["snare"],  # the user says this hat-like sound is a snare: it stays a snare
        "h4.wav": [],  # an empty list is no tag: h4 still gets propagated tags
    }
    tagger = CustomTagger(n_neighbors=3, min_confidence=0.5, bandwidth=2.0, horizon=20.0, min_scale=dist(2))
    result = propagate_tags(index, user, tagger)
    assert set(result) == set(index.ids)
    assert result["/lib/h3.wav"] == [TagScore("snare", 1.0, "user")]
    assert result["/lib/h0.wav"] == [TagScore("hat", 1.0, "user"), TagScore("dusty", 1.0, "user")]
    # every scale is dist(2): the hats' and kicks' spread, and min_scale for the lone snare
    s = dist(2)

    def expect(snare: float, hats: list[float]) -> list[tuple[str, float]]:
        """The tags of a sound whose three nearest examples are the snare and two hats at these distances."""
        confidences = {"snare": vote([snare], hats, s, 2.0, 20.0), "hat": vote(hats, [snare], s, 2.0, 20.0)}
        return sorted(((t, c) for t, c in confidences.items() if c >= 0.5), key=lambda tc: -tc[1])

    # h5's three nearest examples: h3 (snare, 4°), h2 (hat, 6°), h1 (hat, 8°): the nearer snare wins
    h5 = [(t.tag, t.confidence) for t in result["/lib/h5.wav"]]
    assert h5 == [(t, pytest.approx(c, rel=2e-3)) for t, c in expect(dist(4), [dist(6), dist(8)])]
    assert [t for t, _ in h5] == ["snare"]
    # h4 (untagged by its empty list): h3 (snare, 2°), h2 (hat, 4°), h1 (hat, 6°)
    h4 = [(t.tag, t.confidence) for t in result["/lib/h4.wav"]]
    assert h4 == [(t, pytest.approx(c, rel=2e-3)) for t, c in expect(dist(2), [dist(4), dist(6)])]
    assert all(t.source == "propagated" for t in result["/lib/h4.wav"])
    assert [t.tag for t in result["/lib/k5.wav"]] == ["kick"]
    assert result["/lib/far.wav"] == []


def test_rejections_vote_against_their_tag_only() -> None:
    X = fan(0, 3, [0, 2, 4, 6])
    tagger = CustomTagger(n_neighbors=4, min_confidence=0.5, scale=dist(4), bandwidth=1.0, horizon=4.0)
    q = fan(0, 3, [5])
    s = dist(4)
    # two examples: crash (and 909) at 0° and 2°; without rejections the query gets both tags
    both = vote([dist(5), dist(3)], [], s, 1.0, 4.0)
    assert tagger.fit(X[:2], [["crash", "909"]] * 2).predict_confidence(q) == [
        {"909": pytest.approx(both, rel=2e-3), "crash": pytest.approx(both, rel=2e-3)}
    ]
    # the user removed "crash" from the sounds at 4° and 6°: two votes against crash, none against 909
    fitted = tagger.fit(X, [["crash", "909"]] * 2 + [[], []], rejected=[[], [], ["crash"], ["crash"]])
    assert fitted.n_examples_ == {"909": 2, "crash": 2} and fitted.n_rejections_ == {"909": 0, "crash": 2}
    crash = vote([dist(5), dist(3)], [dist(1), dist(1)], s, 1.0, 4.0)
    assert fitted.predict_confidence(q) == [{"909": pytest.approx(both, rel=2e-3)}]  # crash (< 0.5) is not given
    assert crash < 0.5
    # a rejection of a tag with no example, or of the row's own tag, counts for nothing
    same = tagger.fit(X[:3], [["crash", "909"]] * 2 + [["909"]], rejected=[["909"], [], ["ride"]])
    assert same.n_rejections_ == {"909": 0, "crash": 0}
    # (the third example, tagged 909 only, is a vote against crash: a user-tagged sound has exactly its tags)
    assert vote([dist(5), dist(3)], [dist(1)], s, 1.0, 4.0) < 0.5
    assert same.predict_confidence(q) == [
        {"909": pytest.approx(vote([dist(5), dist(3), dist(1)], [], s, 1.0, 4.0), rel=2e-3)}
    ]
    with pytest.raises(ValueError, match="2 vectors but 1 lists of rejected tags"):
        tagger.fit(X[:2], ["crash", "crash"], rejected=[["crash"]])
    with pytest.raises(ValueError, match="no tagged sounds"):
        tagger.fit(X[:2], [[], []], rejected=[["crash"], []])


def test_propagate_tags_never_gives_back_a_rejected_tag() -> None:
    index = library_index()
    user = {"h0.wav": "hat", "h1.wav": "hat", "k0.wav": "kick"}
    tagger = CustomTagger(n_neighbors=3, min_confidence=0.5, bandwidth=2.0, horizon=40.0, min_scale=SMALL)
    before = propagate_tags(index, user, tagger)
    assert [s.tag for s in before["/lib/h2.wav"]] == ["hat"] and [s.tag for s in before["/lib/h5.wav"]] == ["hat"]
    after = propagate_tags(index, user, tagger, rejected={"h2.wav": ["hat"], "/lib/h3.wav": "hat"})
    assert after["/lib/h2.wav"] == [] and after["/lib/h3.wav"] == []  # the user's "no" stays
    # h5's three nearest examples are now h3 (no hat, 4°), h2 (no hat, 6°), h1 (hat, 8°): not enough for hat
    assert after["/lib/h5.wav"] == []
    assert after["/lib/h0.wav"] == [TagScore("hat", 1.0, "user")]  # explicit tags are untouched
    # a rejection alone (no user tag anywhere) propagates nothing; an unknown name is a clear error
    assert all(v == [] for v in propagate_tags(index, {}, tagger, rejected={"h2.wav": "hat"}).values())
    with pytest.raises(UnknownSoundError, match=r"nope\.wav"):
        propagate_tags(index, user, tagger, rejected={"nope.wav": "hat"})


def test_propagate_tags_errors() -> None:
    index = library_index()
    with pytest.raises(UnknownSoundError, match=r"nope\.wav"):
        propagate_tags(index, {"nope.wav": "x"})
    with pytest.raises(EmptyLibraryError):
        propagate_tags(LibraryIndex(), {"h0.wav": "x"})
    assert all(v == [] for v in propagate_tags(index, {}).values())
    with pytest.raises(ValueError, match="reach"):
        propagate_tags(index, {"h0.wav": "x"}, reach="everything")
    with pytest.raises(RuntimeError, match="not fitted"):
        CustomTagger().predict(fan(0, 1, [0]))
    with pytest.raises(ValueError, match="no tagged sounds"):
        CustomTagger().fit(fan(0, 1, [0]), [[]])


def test_for_space_uses_the_scale_of_the_space() -> None:
    assert set(ctagger.SPACE_PARAMS) == set(vectors.SPACES)
    for space, params in ctagger.SPACE_PARAMS.items():
        tagger = CustomTagger.for_space(space)
        assert {k: tagger.get_params()[k] for k in params} == params
        assert tagger.min_confidence == ctagger.DEFAULT_MIN_CONFIDENCE
    # The default space's parameters are the class defaults; an unknown space gets the defaults too.
    assert CustomTagger.for_space(vectors.DEFAULT_SPACE).get_params() == CustomTagger().get_params()
    assert CustomTagger.for_space(None).get_params() == CustomTagger().get_params()
    assert CustomTagger.for_space(vectors.COMBINED, n_neighbors=2).n_neighbors == 2
    # propagate_tags without a tagger follows the index's space: a sound 0.1 cosine distance from a lone example
    # is a near copy in the CMVN-MFCC space (min scale 0.44) and far away in the MusiCNN space (0.029)
    X = np.array([[1.0, 0.0], [0.9, math.sqrt(1 - 0.81)]])
    mfcc = propagate_tags(vectors.make_index(vectors.MFCC).fit(X, ["a", "q"]), {"a": "boom"}, reach="wide")
    musicnn = propagate_tags(vectors.make_index(vectors.MUSICNN).fit(X, ["a", "q"]), {"a": "boom"}, reach="wide")
    assert [s.tag for s in mfcc["q"]] == ["boom"] and musicnn["q"] == []


# ---------------------------------------------------------------------- real recordings
HYDROGEN = Path("/usr/share/hydrogen/data/drumkits")


@pytest.fixture(scope="module")
def real_kits() -> LibraryIndex:
    """The default-space index of real recordings (Debian's hydrogen-drumkits, which ``make test`` installs): the
    TR-808 emulation kit, and five velocity layers of GMRockKit's kick, snare, first tom and closed hat."""
    files = sorted((HYDROGEN / "TR808EmulationKit").glob("*.flac"))
    for stem in ("Kick", "Snare", "Tom1", "HatClosed"):
        files += [HYDROGEN / "GMRockKit" / f"{stem}-{v}.wav" for v in ("Softest", "Soft", "Med", "Hard", "Hardest")]
    missing = [f for f in files if not f.is_file()]
    assert len(files) > 30 and not missing, f"hydrogen-drumkits is not installed (make test installs it): {missing}"
    ids, X = vectors.vectors_from_audio([str(f) for f in files])
    return vectors.make_index().fit(X, ids)


def instrument(sound_id: str) -> str:
    """The instrument of a sound of :func:`real_kits` by its file name."""
    name = Path(sound_id).name.lower()
    return next(
        i for i in ("kick", "snare", "tom", "hat", "clap", "cymbal", "conga", "cowbell", "shaker", "clave") if i in name
    )


def propagated(result: dict[str, list[TagScore]]) -> dict[str, dict[str, float]]:
    return {
        Path(k).name: {s.tag: s.confidence for s in v if s.source == "propagated"}
        for k, v in result.items()
        if any(s.source == "propagated" for s in v)
    }


def test_real_kits_a_kicks_tag_stays_on_kicks_without_classes(real_kits: LibraryIndex) -> None:
    """Issue 20: the package spread a 909 kick's tag onto snares and toms at confidence 1.0. Now, without any
    class information, a kick's tag reaches the other velocity layers of that kick and nothing else, at every
    reach, and every confidence is at least the reach's minimum."""
    user = {"Kick-Med.wav": "gm kick", "808_Kick_Long.flac": "909", "808_Hat_Closed.flac": "bright"}
    for reach in ("strict", "balanced", "wide"):
        got = propagated(propagate_tags(real_kits, user, reach=reach))
        assert {name for name, tags in got.items() if "gm kick" in tags} == {
            f"Kick-{v}.wav" for v in ("Softest", "Soft", "Hard", "Hardest")
        }, reach
        for name, tags in got.items():
            owner = {"gm kick": "kick", "909": "kick", "bright": "hat"}
            assert all(instrument(name) == owner[tag] for tag in tags), (name, tags)
            assert all(c >= ctagger.reach_confidence(reach) for c in tags.values())
    # the same kick tag with the instrument classes given: the same sounds
    classes = {i: instrument(i) for i in real_kits.ids}
    gated = propagated(propagate_tags(real_kits, {"Kick-Med.wav": "gm kick"}, classes=classes))
    assert set(gated) == {f"Kick-{v}.wav" for v in ("Softest", "Soft", "Hard", "Hardest")}


def test_real_kits_widening_the_reach_adds_the_other_layers_of_a_snare(real_kits: LibraryIndex) -> None:
    """Two layers of one snare tagged: the strict default may leave its other layers alone (precision first); the
    wide reach gives them the tag, and still nothing but that snare's layers."""
    user = {"Snare-Hard.wav": "rock snare", "Snare-Med.wav": "rock snare"}
    strict = propagated(propagate_tags(real_kits, user))
    wide = propagated(propagate_tags(real_kits, user, reach="wide"))
    assert set(strict) <= set(wide)
    assert {"Snare-Hardest.wav", "Snare-Soft.wav"} <= set(wide)
    assert all(name.startswith("Snare-") for name in wide)
    assert all(ctagger.CONFIDENCE_FLOOR <= c < 1 for tags in wide.values() for c in tags.values())

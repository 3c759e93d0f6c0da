"""Custom tagger: the design's call (listing 2) and the multi-tag k-NN propagation."""

from __future__ import annotations

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


def test_multi_tag_propagation_with_cut_off() -> None:
    hats = fan(0, 3, [0, 2, 4, 6, 8])  # neighbours 2 degrees apart: spread 1 - cos 2° ≈ 0.0006
    kicks = fan(1, 3, [0, 2, 4, 6, 8])  # 90 degrees from the hats
    X = np.vstack([hats, kicks])
    tags = [["hat", "909"]] * 3 + [["hat"]] * 2 + [["kick", "909"]] * 5
    tagger = CustomTagger(n_neighbors=5, min_confidence=0.5, cutoff_scale=50, weights="uniform").fit(X, tags)
    assert tagger.tags_ == ["909", "hat", "kick"]
    assert tagger.cutoffs_["hat"] == pytest.approx(50 * (1 - np.cos(np.deg2rad(2))), rel=1e-3)
    queries = np.vstack([fan(0, 3, [4.5]), fan(1, 3, [3]), [E3]])
    hat_q, kick_q, far_q = tagger.predict_confidence(queries)
    assert hat_q == {"hat": pytest.approx(1.0), "909": pytest.approx(0.6)}
    assert list(hat_q) == ["hat", "909"]  # highest confidence first
    assert kick_q == {"909": pytest.approx(1.0), "kick": pytest.approx(1.0)}
    assert far_q == {}  # beyond every cut-off: no tag at all
    assert tagger.predict(queries)[2] == []
    # A higher confidence bar drops the minority tag.
    assert CustomTagger(5, 0.7, cutoff_scale=50, weights="uniform").fit(X, tags).predict(queries[:1]) == [["hat"]]
    # The cut-off scales with the examples' own spread: a query 20 degrees off the hats is too far here...
    off = fan(0, 3, [-20])
    assert tagger.predict(off) == [[]]
    # ...but not when the hat examples themselves are spread 10 degrees apart.
    wide = CustomTagger(n_neighbors=5, cutoff_scale=50).fit(fan(0, 3, [0, 10, 20, 30, 40]), ["hat"] * 5)
    assert wide.predict(off) == [["hat"]]


def test_fixed_cutoff_reproduces_the_design_rule() -> None:
    X = fan(0, 1, [0, 90])
    tagger = CustomTagger(cutoff=0.002, n_neighbors=2, min_confidence=1e-9).fit(X, ["a", "b"])
    near = np.array([[1.0, 0.05, 0, 0]])  # cosine distance ~0.00125 to the first example
    off = np.array([[1.0, 0.1, 0, 0]])  # ~0.005
    assert tagger.predict(near) == [["a"]] and tagger.predict(off) == [[]]


def test_class_gating_compares_only_within_a_class() -> None:
    X = fan(0, 3, [0, 2, 4, 6])
    tagger = CustomTagger(n_neighbors=3, cutoff_scale=10).fit(X, ["crash"] * 4, classes=["Cymbal"] * 4)
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
    result = propagate_tags(
        index, user, CustomTagger(n_neighbors=3, min_confidence=0.3, cutoff_scale=50, weights="uniform")
    )
    assert set(result) == set(index.ids)
    assert result["/lib/h3.wav"] == [TagScore("snare", 1.0, "user")]
    assert result["/lib/h0.wav"] == [TagScore("hat", 1.0, "user"), TagScore("dusty", 1.0, "user")]
    # h5's three nearest examples: h3 (snare, 4°), h2 (hat, 6°), h1 (hat, 8°).
    h5 = result["/lib/h5.wav"]
    assert [(s.tag, s.source) for s in h5] == [("hat", "propagated"), ("snare", "propagated")]
    assert h5[0].confidence == pytest.approx(2 / 3, abs=1e-5) and h5[1].confidence == pytest.approx(1 / 3, abs=1e-5)
    # h4 (untagged by its empty list): h3 (snare, 2°), h2 (hat, 4°), h1 (hat, 6°) -> hat, snare.
    assert [s.tag for s in result["/lib/h4.wav"]] == ["hat", "snare"]
    assert [s.tag for s in result["/lib/k5.wav"]] == ["kick"]
    assert result["/lib/far.wav"] == []


def test_rejections_vote_against_their_tag_only() -> None:
    X = fan(0, 3, [0, 2, 4, 6])
    tagger = CustomTagger(n_neighbors=4, min_confidence=0.3, cutoff_scale=10, weights="uniform")
    q = fan(0, 3, [5])
    # two examples: crash (and 909) at 0° and 2°; without rejections the query gets both tags
    assert tagger.fit(X[:2], [["crash", "909"]] * 2).predict_confidence(q) == [
        {"909": pytest.approx(1.0), "crash": pytest.approx(1.0)}
    ]
    # the user removed "crash" from the sounds at 4° and 6°: two votes against crash, none against 909
    fitted = tagger.fit(X, [["crash", "909"]] * 2 + [[], []], rejected=[[], [], ["crash"], ["crash"]])
    assert fitted.n_examples_ == {"909": 2, "crash": 2} and fitted.n_rejections_ == {"909": 0, "crash": 2}
    assert fitted.predict_confidence(q) == [{"909": pytest.approx(1.0), "crash": pytest.approx(0.5)}]
    # a rejection of a tag with no example, or of the row's own tag, counts for nothing
    same = tagger.fit(X[:3], [["crash", "909"]] * 2 + [["909"]], rejected=[["909"], [], ["ride"]])
    assert same.n_rejections_ == {"909": 0, "crash": 0}
    assert same.predict_confidence(q) == [{"909": pytest.approx(1.0), "crash": pytest.approx(2 / 3)}]
    with pytest.raises(ValueError, match="2 vectors but 1 lists of rejected tags"):
        tagger.fit(X[:2], ["crash", "crash"], rejected=[["crash"]])
    with pytest.raises(ValueError, match="no tagged sounds"):
        tagger.fit(X[:2], [[], []], rejected=[["crash"], []])


def test_propagate_tags_never_gives_back_a_rejected_tag() -> None:
    index = library_index()
    user = {"h0.wav": "hat", "h1.wav": "hat", "k0.wav": "kick"}
    tagger = CustomTagger(n_neighbors=3, min_confidence=0.3, cutoff_scale=50, weights="uniform")
    before = propagate_tags(index, user, tagger)
    assert [s.tag for s in before["/lib/h2.wav"]] == ["hat"] and [s.tag for s in before["/lib/h5.wav"]] == ["hat"]
    after = propagate_tags(index, user, tagger, rejected={"h2.wav": ["hat"], "/lib/h3.wav": "hat"})
    assert after["/lib/h2.wav"] == [] and after["/lib/h3.wav"] == []  # the user's "no" stays
    # h5's three nearest examples are now h3 (no hat, 4°), h2 (no hat, 6°), h1 (hat, 8°)
    assert [(s.tag, s.confidence) for s in after["/lib/h5.wav"]] == [("hat", pytest.approx(1 / 3, abs=1e-5))]
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
    with pytest.raises(RuntimeError, match="not fitted"):
        CustomTagger().predict(fan(0, 1, [0]))
    with pytest.raises(ValueError, match="no tagged sounds"):
        CustomTagger().fit(fan(0, 1, [0]), [[]])


def test_for_space_uses_the_parameters_calibrated_for_the_space() -> None:
    combined = CustomTagger.for_space(vectors.COMBINED)
    assert {k: combined.get_params()[k] for k in ctagger.SPACE_PARAMS[vectors.COMBINED]} == (
        ctagger.SPACE_PARAMS[vectors.COMBINED]
    )
    # The default space's calibrated parameters are the class defaults; an unknown space gets the defaults too.
    assert CustomTagger.for_space(vectors.DEFAULT_SPACE).get_params() == CustomTagger().get_params()
    assert CustomTagger.for_space(None).get_params() == CustomTagger().get_params()
    musicnn = CustomTagger.for_space(vectors.MUSICNN).get_params()
    assert {k: musicnn[k] for k in ctagger.SPACE_PARAMS[vectors.MUSICNN]} == ctagger.SPACE_PARAMS[vectors.MUSICNN]
    assert CustomTagger.for_space(vectors.COMBINED, n_neighbors=2).n_neighbors == 2
    assert set(ctagger.SPACE_PARAMS) == set(vectors.SPACES)


def test_propagate_tags_defaults_follow_the_index_space() -> None:
    """A query 2.3 degrees from the nearest of five hats spaced 2 degrees apart: inside 1.5 x the spread
    (the MusiCNN space's cut-off), outside 1.0 x the spread (the combined space's)."""
    assert ctagger.SPACE_PARAMS[vectors.MUSICNN]["cutoff_scale"] == 1.5
    assert ctagger.SPACE_PARAMS[vectors.COMBINED]["cutoff_scale"] == 1.0
    X = np.vstack([fan(0, 3, [0, 2, 4, 6, 8]), fan(0, 3, [-2.3])])
    ids = [f"h{i}" for i in range(5)] + ["q"]
    seeds = {f"h{i}": "hat" for i in range(5)}
    musicnn = propagate_tags(vectors.make_index(vectors.MUSICNN).fit(X, ids), seeds)
    combined = propagate_tags(vectors.make_index(vectors.COMBINED).fit(X, ids), seeds)
    assert [s.tag for s in musicnn["q"]] == ["hat"]
    assert combined["q"] == []
    # An explicit tagger wins over the space's parameters.
    wide = propagate_tags(
        vectors.make_index(vectors.COMBINED).fit(X, ids), seeds, CustomTagger(n_neighbors=3, cutoff_scale=1.5)
    )
    assert [s.tag for s in wide["q"]] == ["hat"]

"""Recommender: the design's call (listing 3), exact distances, rank merging, one-sound similarity, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drumsamp_models import recommender, utils, vectors
from drumsamp_models.index import EmptyLibraryError, LibraryIndex, UnknownSoundError
from drumsamp_models.recommender import Recommendation, Recommender, fuse_rankings
from tests.audio_factory import kick, noise_burst, tone, write


@pytest.fixture
def rec_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Ten one-shots of different lengths in ``./Sample_Lib`` of a fresh working directory."""
    monkeypatch.chdir(tmp_path)
    lib = Path("Sample_Lib")
    files = [
        write(lib / "kick_1.wav", kick(0.3, seed=1)),
        write(lib / "kick_2.wav", kick(0.5, seed=2)),
        write(lib / "kick_3.wav", kick(0.9, seed=3)),
        write(lib / "hat_1.wav", noise_burst(0.1, decay=50, seed=4)),
        write(lib / "hat_2.wav", noise_burst(0.2, decay=40, seed=5)),
        write(lib / "hat_3.wav", noise_burst(0.4, decay=20, seed=6)),
        write(lib / "tone_1.wav", tone(300, 0.5, decay=5)),
        write(lib / "tone_2.wav", tone(600, 1.5, decay=2)),
        write(lib / "tone_3.wav", tone(1200, 0.25, decay=10)),
        write(lib / "long.wav", tone(150, 2.5, decay=1)),
    ]
    return [str(f) for f in files]


def run_listing_3(favourites: list[str], exclude: bool = True, n: int = 8) -> list[str]:
    """Listing 3 of the design, as written."""
    audio_files = Path("./Sample_Lib/").glob("**/*.wav")
    audio_files = [str(f) for f in audio_files]
    recommendation_path = "./recommendation_batches"
    utils.save_recommendation_batches_to_disk(audio_files, recommendation_path)
    recommendation_files = Path("./recommendation_batches").glob("**/*.npz")
    recommendation_files = [str(f) for f in recommendation_files]
    assert len(recommendation_files) == 10
    recommendations = recommender.get_n_most_similar_sounds_mult(n, favourites, "./recommendation_batches", exclude)
    return recommendations


def design_ranking(favourite: str, files: list[str]) -> list[tuple[str, float]]:
    """Brute force: every sound by the design's zero-padding distance to ``favourite``, nearest first."""
    feats = {f: vectors.load_cached(Path("recommendation_batches") / utils.feature_file_name(f)).data for f in files}
    dists = [(f, vectors.design_distance(feats[favourite], feats[f])) for f in files if f != favourite]
    return sorted(dists, key=lambda p: p[1])


def test_listing_3_runs_as_written(rec_library: list[str]) -> None:
    result = run_listing_3(["kick_1.wav", "Sample_Lib/hat_1.wav"])
    assert len(result) == 8 and len(set(result)) == 8
    assert set(result) <= set(rec_library)  # original audio paths, as given to the batch writer
    assert "Sample_Lib/kick_1.wav" not in result and "Sample_Lib/hat_1.wav" not in result


def test_single_favourite_is_ranked_by_the_designs_distance(rec_library: list[str]) -> None:
    run_listing_3(["kick_1.wav"])
    for fav in ("Sample_Lib/kick_1.wav", "Sample_Lib/long.wav"):  # shortest and longest sound
        want = design_ranking(fav, rec_library)
        got = recommender.get_n_most_similar_sounds_mult(9, [fav], "recommendation_batches", True)
        assert got == [f for f, _ in want]


def test_favourites_are_included_on_request(rec_library: list[str]) -> None:
    result = run_listing_3(["kick_2.wav", "tone_2.wav"], exclude=False, n=4)
    # Each favourite is at distance 0 from itself: both come first.
    assert set(result[:2]) == {"Sample_Lib/kick_2.wav", "Sample_Lib/tone_2.wav"}
    assert len(result) == 4
    assert run_listing_3(["kick_2.wav"], exclude=True, n=20)[-1] != "Sample_Lib/kick_2.wav"
    assert len(run_listing_3(["kick_2.wav"], exclude=True, n=20)) == 9


def test_favourites_by_every_name_form(rec_library: list[str]) -> None:
    run_listing_3(["hat_2.wav"])
    npz = str(Path("recommendation_batches") / utils.feature_file_name("Sample_Lib/hat_2.wav"))
    forms = ["hat_2.wav", "Sample_Lib/hat_2.wav", str(Path("Sample_Lib/hat_2.wav").resolve()), npz]
    results = [recommender.get_n_most_similar_sounds_mult(5, [f], "recommendation_batches", True) for f in forms]
    assert all(r == results[0] for r in results)


def test_seed_recommender_errors(rec_library: list[str], tmp_path: Path) -> None:
    run_listing_3(["hat_2.wav"])
    with pytest.raises(UnknownSoundError, match=r"snare_99\.wav"):
        recommender.get_n_most_similar_sounds_mult(3, ["snare_99.wav"], "recommendation_batches", True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyLibraryError, match="no recommendation batches"):
        recommender.get_n_most_similar_sounds_mult(3, ["hat_2.wav"], tmp_path / "empty", True)
    with pytest.raises(ValueError, match="no favourites"):
        recommender.get_n_most_similar_sounds_mult(3, [], "recommendation_batches", True)


# ---------------------------------------------------------------------- on a library index
def plane(degrees: list[float]) -> np.ndarray:
    """Unit vectors in the plane at the given angles."""
    rad = np.deg2rad(degrees)
    return np.stack([np.cos(rad), np.sin(rad)], axis=1)


def test_many_favourites_get_a_mix() -> None:
    # Favourite A sits in a dense cluster of 20 sounds (0.1° apart); favourites B and C have a few
    # neighbours each, a little farther away. Nearest-distance ranking alone would return A's cluster only.
    dense = [0.1 * (i + 1) for i in range(20)]
    X = plane([0, *dense, 90, 92, 93, 180, 183, 184])
    ids = ["A"] + [f"a{i}" for i in range(20)] + ["B", "b1", "b2", "C", "c1", "c2"]
    index = LibraryIndex().fit(X, ids)
    recs = Recommender(n_recommendations=6).fit(index).recommend(["A", "B", "C"])
    names = [r.sound for r in recs]
    assert {"b1", "c1"} <= set(names) and {"b2", "c2"} <= set(names)
    assert sum(n.startswith("a") for n in names) == 2
    assert not {"A", "B", "C"} & set(names)
    dists = [r.distance for r in recs]
    assert dists == sorted(dists)  # most similar first
    by = {r.sound: r.because_of for r in recs}
    assert by["b1"] == "B" and by["c2"] == "C" and by["a0"] == "A"


def test_recommend_exclusions_and_similar_to() -> None:
    ids = ["/l/x0.wav", "/l/x10.wav", "/l/x20.wav", "/l/x35.wav", "/l/y.wav"]
    index = LibraryIndex().fit(plane([0, 10, 20, 35, 90]), ids)
    rec = Recommender(n_recommendations=2).fit(index)
    assert [r.sound for r in rec.recommend(["x0.wav"])] == ["/l/x10.wav", "/l/x20.wav"]
    assert [r.sound for r in rec.recommend(["x0.wav"], exclude=["x10.wav"])] == ["/l/x20.wav", "/l/x35.wav"]
    keep = Recommender(n_recommendations=2, exclude_favourites=False).fit(index)
    assert [r.sound for r in keep.recommend(["/l/x0.wav"])] == ["/l/x0.wav", "/l/x10.wav"]
    similar = rec.similar_to("x20.wav", 3)
    assert [r.sound for r in similar] == ["/l/x10.wav", "/l/x35.wav", "/l/x0.wav"]
    assert similar[-1].distance == pytest.approx(1 - np.cos(np.deg2rad(20)), abs=1e-6)
    assert all(r.because_of == "/l/x20.wav" for r in similar)
    assert [r.sound for r in rec.similar_to("y.wav", 10)] == ["/l/x35.wav", "/l/x20.wav", "/l/x10.wav", "/l/x0.wav"]


def test_index_recommender_errors() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        Recommender().recommend(["x"])
    with pytest.raises(EmptyLibraryError):
        Recommender().fit(LibraryIndex()).recommend(["x"])
    rec = Recommender().fit(LibraryIndex().fit(plane([0, 10]), ["a.wav", "b.wav"]))
    with pytest.raises(UnknownSoundError, match=r"c\.wav"):
        rec.recommend(["c.wav"])
    with pytest.raises(UnknownSoundError, match=r"c\.wav"):
        rec.similar_to("c.wav")
    with pytest.raises(ValueError, match="no favourites"):
        rec.recommend([])


def test_fuse_rankings_prefers_best_rank_then_distance() -> None:
    rankings = [[("p", 0.1), ("q", 0.2), ("r", 0.3)], [("s", 0.5), ("p", 0.6), ("t", 0.7)]]
    got = fuse_rankings(rankings, ["F1", "F2"], 3)
    assert got == [Recommendation("p", 0.1, "F1"), Recommendation("q", 0.2, "F1"), Recommendation("s", 0.5, "F2")]


def test_recommender_on_the_combined_space_tells_envelopes_apart() -> None:
    """Three sounds with the same MusiCNN vector: only the CMVN-MFCC part of the combined space says which
    two share their temporal envelope (a closed and an open hat look alike to MusiCNN)."""
    rng = np.random.default_rng(3)
    emb = rng.standard_normal(200).astype(np.float32)
    base = rng.standard_normal((6, 20)).astype(np.float32)
    closed_a = base
    closed_b = base + 0.1 * rng.standard_normal((6, 20)).astype(np.float32)
    open_hat = np.vstack([base, rng.standard_normal((40, 20)).astype(np.float32)])
    X_musicnn = np.stack([vectors.musicnn_vector(emb[None, :])] * 3)
    X = vectors.combined_vectors([emb] * 3, [closed_a, closed_b, open_hat])
    ids = ["closed_a.wav", "closed_b.wav", "open.wav"]
    combined = Recommender(1).fit(vectors.make_index(vectors.COMBINED).fit(X, ids))
    assert [r.sound for r in combined.similar_to("closed_a.wav")] == ["closed_b.wav"]
    musicnn = Recommender(2).fit(vectors.make_index(vectors.MUSICNN).fit(X_musicnn, ids))
    # MusiCNN alone sees no difference: both other sounds lie at distance 0.
    assert [r.distance for r in musicnn.similar_to("closed_a.wav")] == pytest.approx([0.0, 0.0], abs=1e-6)

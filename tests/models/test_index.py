"""LibraryIndex: exact neighbours, IVF recall, add/remove/save/load, clear errors; fixed-size vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drumsamp_models import vectors
from drumsamp_models.index import (
    EmptyLibraryError,
    IndexFileError,
    LibraryIndex,
    UnknownSoundError,
    default_index_path,
)


def angles(*degrees: float) -> np.ndarray:
    """Unit vectors in the plane at the given angles."""
    rad = np.deg2rad(degrees)
    return np.stack([np.cos(rad), np.sin(rad)], axis=1).astype(np.float32)


# Hand-made set: angles 0, 10, 30, 90, 180 degrees; cosine distance = 1 - cos(angle difference).
TINY_IDS = ["a0", "a10", "a30", "a90", "a180"]
TINY = angles(0, 10, 30, 90, 180)


def clustered(n: int, dim: int = 32, clusters: int = 20, seed: int = 0) -> np.ndarray:
    """Unit vectors around random cluster centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    x = centres[rng.integers(0, clusters, n)] + 0.3 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_neighbours_on_hand_made_set() -> None:
    index = LibraryIndex().fit(TINY, TINY_IDS)
    dist, ids = index.kneighbors(angles(4), 3)
    assert list(ids[0]) == ["a0", "a10", "a30"]
    expected = 1 - np.cos(np.deg2rad([4, 6, 26]))
    np.testing.assert_allclose(dist[0], expected, atol=1e-6)
    # Scale does not matter (cosine): a long vector in the same direction finds the same sounds.
    _, ids = index.kneighbors(100 * angles(95), 2)
    assert list(ids[0]) == ["a90", "a30"]


def test_kneighbors_of_all_sounds_excludes_each_sound_itself() -> None:
    index = LibraryIndex().fit(TINY, TINY_IDS)
    dist, ids = index.kneighbors(None, 2)
    assert ids.shape == (5, 2)
    assert list(ids[0]) == ["a10", "a30"]
    assert list(ids[4]) == ["a90", "a30"]
    for row, own in enumerate(TINY_IDS):
        assert own not in ids[row]
    np.testing.assert_allclose(dist[1, 0], 1 - np.cos(np.deg2rad(10)), atol=1e-6)


def test_exclude_and_k_larger_than_library() -> None:
    index = LibraryIndex().fit(TINY, TINY_IDS)
    _, ids = index.kneighbors(angles(0), 10, exclude=["a0", "a10", "unknown-is-ignored"])
    assert list(ids[0]) == ["a30", "a90", "a180"]


def test_vectors_are_normalised_and_zero_vectors_are_far_from_everything() -> None:
    index = LibraryIndex().fit(np.vstack([TINY, np.zeros((1, 2), np.float32)]), [*TINY_IDS, "silence"])
    np.testing.assert_allclose(np.linalg.norm(index.vectors(["a30"])), 1.0, atol=1e-6)
    dist, ids = index.kneighbors(angles(0), 6)
    found = dict(zip(ids[0], dist[0], strict=True))
    assert found["silence"] == pytest.approx(1.0) and found["a90"] == pytest.approx(1.0, abs=1e-6)
    assert ids[0, -1] == "a180" and dist[0, -1] == pytest.approx(2.0)


def test_add_remove_and_replace() -> None:
    index = LibraryIndex().fit(TINY[:3], TINY_IDS[:3])
    index.add(TINY[3:], TINY_IDS[3:])
    assert len(index) == 5 and "a180" in index
    index.remove(["a10"])
    assert "a10" not in index and len(index) == 4
    _, ids = index.kneighbors(angles(9), 1)
    assert ids[0, 0] == "a0"
    # Adding an id again replaces its vector.
    index.add(angles(270), ["a0"])
    _, ids = index.kneighbors(angles(9), 1)
    assert ids[0, 0] == "a30"
    assert sorted(index.ids) == ["a0", "a180", "a30", "a90"]


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = LibraryIndex(space="test").fit(TINY, TINY_IDS)
    index.remove(["a90"])
    index.add(angles(45), ["a45 ünïcødé name.wav"])
    path = index.save(default_index_path(tmp_path / "lib", "test"))
    assert path == tmp_path / "lib" / ".drumsamp" / "index-test.npz"
    loaded = LibraryIndex.load(path)
    assert loaded.ids == index.ids and loaded.space == "test" and loaded.algorithm_ == "exact"
    for got, want in zip(loaded.kneighbors(None, 3), index.kneighbors(None, 3), strict=True):
        np.testing.assert_array_equal(got, want)
    # The loaded index stays incremental.
    loaded.add(angles(91), ["a91"]).remove(["a0"])
    _, ids = loaded.kneighbors(angles(90), 1)
    assert ids[0, 0] == "a91" and "a0" not in loaded


def test_ivf_recall_add_remove_and_persist(tmp_path: Path) -> None:
    X = clustered(3000)
    ids = [f"s{i}" for i in range(len(X))]
    exact = LibraryIndex(algorithm="exact").fit(X, ids)
    ivf = LibraryIndex(algorithm="ivf", n_lists=32, n_probe=8).fit(X, ids)
    assert ivf.algorithm_ == "ivf"
    queries = clustered(50, seed=1)
    _, want = exact.kneighbors(queries, 10)
    dist, got = ivf.kneighbors(queries, 10)
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want, strict=True)])
    assert recall >= 0.9
    assert np.all(np.diff(dist, axis=1) >= -1e-6)
    # Incremental add/remove without retraining.
    ivf.add(queries[:1], ["new"])
    assert ivf.kneighbors(queries[:1], 1)[1][0, 0] == "new"
    ivf.remove(["new", "s0"])
    assert "new" not in ivf and "s0" not in ivf and len(ivf) == 2999
    loaded = LibraryIndex.load(ivf.save(tmp_path / "ivf.npz"))
    assert loaded.algorithm_ == "ivf" and len(loaded) == 2999
    for a, b in zip(loaded.kneighbors(queries, 5), ivf.kneighbors(queries, 5), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.vectors(["s1"])[0], X[1], atol=1e-3)  # float16 storage


def test_auto_switches_to_ivf_past_the_threshold() -> None:
    X = clustered(1200)
    ids = [f"s{i}" for i in range(len(X))]
    index = LibraryIndex(ivf_threshold=1000).fit(X[:900], ids[:900])
    assert index.algorithm_ == "exact"
    index.add(X[900:], ids[900:])
    assert index.algorithm_ == "ivf" and len(index) == 1200
    _, got = index.kneighbors(X[1100:1101], 1)
    assert got[0, 0] == "s1100"


def test_empty_library_and_unknown_names_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EmptyLibraryError, match="no sounds"):
        LibraryIndex().kneighbors(angles(0))
    empty = LibraryIndex().fit(np.zeros((0, 2), np.float32), [])
    with pytest.raises(EmptyLibraryError, match="no sounds"):
        empty.kneighbors(angles(0))
    index = LibraryIndex().fit(TINY, TINY_IDS)
    with pytest.raises(EmptyLibraryError, match="no candidate"):
        index.kneighbors(angles(0), exclude=TINY_IDS)
    with pytest.raises(UnknownSoundError, match=r"nope\.wav"):
        index.remove(["nope.wav"])
    index.remove(["nope.wav"], missing="ignore")
    with pytest.raises(UnknownSoundError, match="no such sound"):
        index.vectors(["nope.wav"])
    with pytest.raises(IndexFileError, match="no such index file"):
        LibraryIndex.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not an index")
    with pytest.raises(IndexFileError, match="not a drumsamp_models index"):
        LibraryIndex.load(tmp_path / "junk.npz")


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        LibraryIndex().fit(TINY[:2], ["x", "x"])
    with pytest.raises(ValueError, match="2 ids"):
        LibraryIndex().fit(TINY, ["x", "y"])
    index = LibraryIndex().fit(TINY, TINY_IDS)
    with pytest.raises(ValueError, match="3 features"):
        index.kneighbors(np.ones((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        index.add(np.array([[np.nan, 1.0]]), ["bad"])


def test_resolve_by_path_or_unique_base_name() -> None:
    ids = ["/lib/a/kick.wav", "/lib/b/kick.wav", "/lib/a/snare.wav"]
    index = LibraryIndex().fit(angles(0, 10, 90), ids)
    assert index.resolve("/lib/a/kick.wav") == "/lib/a/kick.wav"
    assert index.resolve("/lib/a/../a/snare.wav") == "/lib/a/snare.wav"
    assert index.resolve("snare.wav") == "/lib/a/snare.wav"
    with pytest.raises(UnknownSoundError, match="ambiguous"):
        index.resolve("kick.wav")
    with pytest.raises(UnknownSoundError, match="no such sound"):
        index.resolve("/elsewhere/snare.wav")


# ---------------------------------------------------------------------- fixed-size vectors
def test_mfcc_vectors_give_the_designs_zero_padding_distance() -> None:
    rng = np.random.default_rng(0)
    frames = 16
    short = [rng.standard_normal((n, 20)).astype(np.float32) for n in (1, 5, 16)]
    long = [rng.standard_normal((n, 20)).astype(np.float32) for n in (17, 40)]
    for a in short:
        for b in short + long:
            # Reference: zero-pad the shorter to the longer, cosine distance of the flattened arrays.
            n = max(len(a), len(b))
            pa, pb = np.zeros((n, 20)), np.zeros((n, 20))
            pa[: len(a)], pb[: len(b)] = a, b
            ref = 1 - pa.ravel() @ pb.ravel() / (np.linalg.norm(pa) * np.linalg.norm(pb))
            assert vectors.design_distance(a, b) == pytest.approx(ref, abs=1e-9)
            got = 1 - vectors.mfcc_vector(a, frames) @ vectors.mfcc_vector(b, frames)
            assert got == pytest.approx(ref, abs=1e-5)
    # Two sounds both longer than `frames` lose their frames past it: no longer the design's distance.
    a, b = long
    assert 1 - vectors.mfcc_vector(a, frames) @ vectors.mfcc_vector(b, frames) != pytest.approx(
        vectors.design_distance(a, b), abs=1e-3
    )


def test_mfcc_space_index_reproduces_design_distances() -> None:
    rng = np.random.default_rng(1)
    seqs = [rng.standard_normal((n, 20)).astype(np.float32) for n in (3, 8, 12, 20)]
    index = vectors.make_index(vectors.MFCC).fit(vectors.mfcc_vectors(seqs, 32), ["a", "b", "c", "d"])
    dist, ids = index.kneighbors(vectors.mfcc_vector(seqs[0], 32), 4)
    ref = {k: vectors.design_distance(seqs[0], s) for k, s in zip("abcd", seqs, strict=True)}
    for d, i in zip(dist[0], ids[0], strict=True):
        assert d == pytest.approx(ref[i], abs=1e-5)
    assert list(ids[0]) == sorted(ref, key=ref.__getitem__)


def test_musicnn_vectors_from_audio(library: list[Path]) -> None:
    ids, X = vectors.vectors_from_audio(library[:3], vectors.MUSICNN)
    assert ids == [str(p) for p in library[:3]]
    assert X.shape == (3, 200)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(X[0], X[1])
    with pytest.raises(ValueError, match="unknown feature space"):
        vectors.make_index("chroma")


def test_combined_space_is_the_weighted_sum_of_both_cosines() -> None:
    rng = np.random.default_rng(2)
    emb = [rng.standard_normal((n, 200)).astype(np.float32) for n in (1, 2, 1, 3)]  # per-patch embeddings
    seqs = [rng.standard_normal((n, 20)).astype(np.float32) for n in (5, 9, 30, 12)]
    w = 0.3
    X = vectors.combined_vectors(emb, seqs, w, frames=16)
    assert X.shape == (4, 200 + 16 * 20)
    m = np.stack([vectors.musicnn_vector(e) for e in emb])
    for i in range(4):
        for j in range(4):
            if min(len(seqs[i]), len(seqs[j])) > 16:
                continue
            ref = (1 - w) * float(m[i] @ m[j]) + w * (1 - vectors.design_distance(seqs[i], seqs[j]))
            assert float(X[i] @ X[j]) == pytest.approx(ref, abs=1e-5)
    short = [i for i, s in enumerate(seqs) if len(s) <= 16]
    np.testing.assert_allclose(np.linalg.norm(X[short], axis=1), 1.0, atol=1e-5)
    # w = 0 is the MusiCNN space, w = 1 the CMVN-MFCC space.
    np.testing.assert_allclose(vectors.combined_vectors(emb, seqs, 0.0, 16)[:, :200], m, atol=1e-6)
    np.testing.assert_allclose(
        vectors.combined_vectors(emb, seqs, 1.0, 16)[:, 200:], vectors.mfcc_vectors(seqs, 16), atol=1e-6
    )
    # A single 200-d vector is accepted as well as per-patch embeddings.
    np.testing.assert_allclose(vectors.combined_vector(m[1], seqs[1], w, 16), X[1], atol=1e-6)
    with pytest.raises(ValueError, match="weight"):
        vectors.combined_vector(m[0], seqs[0], 1.5)
    with pytest.raises(ValueError, match="MFCC sequences"):
        vectors.combined_vectors(emb, seqs[:2])
    index = vectors.make_index(vectors.COMBINED).fit(X, list("abcd"))
    assert index.space == vectors.COMBINED and index.normalize
    _, ids = index.kneighbors(None, 1)
    sims = X @ X.T / np.outer(np.linalg.norm(X, axis=1), np.linalg.norm(X, axis=1))
    np.fill_diagonal(sims, -np.inf)
    assert list(ids[:, 0]) == [list("abcd")[j] for j in sims.argmax(axis=1)]


def test_combined_vectors_from_audio(library: list[Path]) -> None:
    ids, X = vectors.vectors_from_audio(library[:3], vectors.COMBINED)
    _, m = vectors.vectors_from_audio(library[:3], vectors.MUSICNN)
    _, f = vectors.vectors_from_audio(library[:3], vectors.MFCC)
    assert ids == [str(p) for p in library[:3]]
    w = vectors.COMBINED_MFCC_WEIGHT
    np.testing.assert_allclose(X, np.hstack([np.sqrt(1 - w) * m, np.sqrt(w) * f]), atol=1e-5)


@pytest.mark.parametrize("algorithm", ["exact", "ivf"])
def test_any_dimension_is_padded_for_faiss_and_answers_as_unpadded(algorithm: str, tmp_path: Path) -> None:
    """236-d (the default space) is stored 240 wide: faiss' SIMD code needs a multiple of 8."""
    X = clustered(3000, dim=236, clusters=30, seed=4)
    ids = [f"s{i}" for i in range(len(X))]
    index = LibraryIndex(algorithm=algorithm, n_probe=64).fit(X, ids)
    assert index.dim_ == 236 and index._index.d == 240
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert index.vectors(ids[:3]).shape == (3, 236)
    np.testing.assert_allclose(index.vectors(ids[:3]), Xn[:3], atol=1e-3)
    dist, found = index.kneighbors(X[:20], 5)
    sims = Xn[:20] @ Xn.T
    expected = np.argsort(-sims, axis=1)[:, :5]
    hits = np.mean([len(set(f) & {ids[j] for j in e}) / 5 for f, e in zip(found, expected, strict=True)])
    assert hits >= (1.0 if algorithm == "exact" else 0.95)
    np.testing.assert_allclose(dist[:, 0], 1 - np.sort(sims, axis=1)[:, -1], atol=2e-3)
    index.add(X[:1] * 2, ["extra"])  # incremental adds are padded too
    assert index.kneighbors(X[:1], 2)[1][0].tolist().count("extra") == 1
    loaded = LibraryIndex.load(index.save(tmp_path / "i.npz"))
    assert loaded.kneighbors(X[:20], 5)[1].tolist() == index.kneighbors(X[:20], 5)[1].tolist()
    with pytest.raises(ValueError, match="236-d"):
        index.kneighbors(np.zeros((1, 240)), 1)

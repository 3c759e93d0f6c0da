"""Recommendation variety: maximal-marginal-relevance re-ranking, velocity layers by name, classes, reasons."""

from __future__ import annotations

import numpy as np
import pytest

from drumsamp_models import vectors
from drumsamp_models.index import LibraryIndex
from drumsamp_models.recommender import Recommender, diversify, fuse_rankings, layer_key


def plane(degrees: list[float]) -> np.ndarray:
    """Unit vectors in the plane at the given angles."""
    rad = np.deg2rad(degrees)
    return np.stack([np.cos(rad), np.sin(rad)], axis=1)


def names(recs: list) -> list[str]:
    return [r.sound for r in recs]


PLAIN = {"diversity": 0.0, "duplicate_distance": None, "layer_distance": None}


def test_layer_key_groups_velocity_layers_and_round_robins_only() -> None:
    same = [
        ("Kit/BD_03.aiff", "Kit/BD_07.aiff"),
        ("Kit/Kick-Soft.wav", "Kit/Kick-Hardest.wav"),
        ("Kit/hihat-closed-long.wav", "Kit/hihat-closed.wav"),
        ("Kit/kick_v3_rr2.wav", "Kit/kick.wav"),
        ("Kit/SnareAccent.wav", "kit/snare.WAV"),
        ("Kit/Snare-0.wav", "Kit/Snare-9.wav"),
    ]
    for a, b in same:
        assert layer_key(a) == layer_key(b), (a, b)
    different = [
        ("Kit/Tom1-Soft.wav", "Kit/Tom2-Soft.wav"),
        ("Kit/tom-high.wav", "Kit/tom-low.wav"),
        ("Kit/Snare1.wav", "Kit/Snare2.wav"),
        ("KitA/kick.wav", "KitB/kick.wav"),
        ("Kit/HH_01.aiff", "Kit/HH2_01.aiff"),
    ]
    for a, b in different:
        assert layer_key(a) != layer_key(b), (a, b)
    assert layer_key("Kit/p.wav") == "kit/p"  # a name made only of layer words keeps them


def test_plain_setting_is_the_rank_merging() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 8))
    ids = [f"s{i}" for i in range(40)]
    index = LibraryIndex().fit(X, ids)
    plain = Recommender(6, **PLAIN).fit(index)
    favs = ["s0", "s1", "s2"]
    dists, found = index.kneighbors(index.vectors(favs), 6, exclude=set(favs))
    rankings = [[(i, float(d)) for d, i in zip(dists[r], found[r], strict=True)] for r in range(3)]
    assert plain.recommend(favs) == fuse_rankings(rankings, favs, 6)
    assert Recommender().get_params()["diversity"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="diversity"):
        Recommender(diversity=1.5).fit(index).recommend(["s0"])


def test_velocity_layers_of_the_favourite_do_not_fill_the_list() -> None:
    # The favourite's kick has 6 more layers right beside it (1-3°); other kits' kicks lie 8-30° away.
    layers = [f"Kits/A/Kick-{v}.wav" for v in ("Softest", "Soft", "Med", "Hard", "Hardest", "Accent")]
    others = [f"Kits/{k}/kick.wav" for k in "BCDEFGHI"]
    angles = [1, 1.5, 2, 2.5, 3, 3.5] + [8 + 4 * i for i in range(8)]
    ids = ["Kits/A/Kick-Ghost.wav", *layers, *others]
    index = LibraryIndex().fit(plane([0, *angles]), ids)
    before = Recommender(6, **PLAIN).fit(index).recommend([ids[0]])
    assert names(before) == layers  # the echo the re-ranking removes
    after = Recommender(6).fit(index).recommend([ids[0]])
    assert names(after) == others[:6]
    assert all(r.because_of == ids[0] for r in after)
    assert [r.distance for r in after] == sorted(r.distance for r in after)
    # Without names the layers are still near-duplicates by distance alone when a radius says so.
    anonymous = [f"s{i}" for i in range(len(ids))]
    index2 = LibraryIndex().fit(plane([0, *angles]), anonymous)
    by_distance = Recommender(6, duplicate_distance=1 - np.cos(np.deg2rad(3.8))).fit(index2).recommend(["s0"])
    assert names(by_distance) == anonymous[7:13]
    # Once nothing else is left, the layers come, last.
    many = Recommender(12).fit(index).recommend([ids[0]])
    assert names(many)[:8] == others and set(names(many)[8:]) <= set(layers)


def test_mmr_spreads_over_clusters_and_near_duplicates_of_each_other() -> None:
    # One favourite; two tight clusters of candidates (a: towards y, b: towards z, a little farther) and one sound
    # c on the other side. Plain ranking takes the whole nearer cluster; MMR takes one of each first.
    rng = np.random.default_rng(1)
    fav, y, z = np.eye(3)
    X = [fav]
    X += [fav + 0.5 * y + 1e-3 * rng.standard_normal(3) for _ in range(3)]
    X += [fav + 0.55 * z + 1e-3 * rng.standard_normal(3) for _ in range(2)]
    X += [fav - 0.6 * y]
    ids = ["fav", "a1", "a2", "a3", "b1", "b2", "c1"]
    index = LibraryIndex().fit(np.stack(X), ids)
    plain = names(Recommender(3, **PLAIN).fit(index).recommend(["fav"]))
    assert set(plain) == {"a1", "a2", "a3"}
    varied = Recommender(3, diversity=0.5, duplicate_distance=None, layer_distance=None).fit(index)
    got = names(varied.recommend(["fav"]))
    assert got[0] in {"a1", "a2", "a3"} and got[1] in {"b1", "b2"} and got[2] == "c1"
    # A near-duplicate radius alone does the same: the members of a cluster lie within 1e-4 of each other.
    radius = Recommender(3, diversity=0.0, duplicate_distance=1e-4, layer_distance=None).fit(index)
    got = names(radius.recommend(["fav"]))
    assert got[0] in {"a1", "a2", "a3"} and got[1] in {"b1", "b2"} and got[2] == "c1"


def test_own_class_first_and_each_favourite_named() -> None:
    # Favourite K (a kick) and S (a snare); K's nearest are mostly snares by the tagger's classes.
    angles = [0, 2, 4, 6, 12, 14, 90, 92, 94, 96]
    ids = ["K", "s1", "s2", "s3", "k1", "k2", "S", "s4", "s5", "s6"]
    classes = {"K": "Kick", "k1": "Kick", "k2": "Kick", "S": "Snare"} | {f"s{i}": "Snare" for i in range(1, 7)}
    index = LibraryIndex().fit(plane(angles), ids)
    rec = Recommender(4).fit(index)
    found = rec.recommend(["K", "S"], classes=classes)
    by = {r.sound: r.because_of for r in found}
    assert {s for s, f in by.items() if f == "K"} == {"k1", "k2"}
    assert all(classes[s] == classes[by[s]] for s in by)
    assert len(found) == 4 and set(by.values()) == {"K", "S"}
    # Without classes K takes its nearest, the snares.
    assert {r.sound for r in rec.recommend(["K"], 2)} == {"s1", "s2"}
    # A favourite without a class has no preference; an unknown sound's class is none either.
    assert names(rec.recommend(["K"], 2, classes={"S": "Snare"})) == names(rec.recommend(["K"], 2))


def test_favourites_may_be_kept_and_are_never_their_own_duplicates() -> None:
    ids = ["/l/x0.wav", "/l/x1.wav", "/l/x20.wav", "/l/y.wav"]
    index = LibraryIndex().fit(plane([0, 0.5, 20, 90]), ids)
    keep = Recommender(2, exclude_favourites=False, duplicate_distance=0.01).fit(index)
    assert names(keep.recommend(["/l/x0.wav"])) == ["/l/x0.wav", "/l/x20.wav"]  # x1 is x0's near-duplicate


def test_diversify_takes_turns_and_reports_demoted_picks() -> None:
    pool = plane([10, 11, 100, 101])
    favs = plane([0, 90])
    candidates = np.array([[0, 1], [2, 3]])
    sims = np.array([[pool[0] @ favs[0], pool[1] @ favs[0]], [pool[2] @ favs[1], pool[3] @ favs[1]]])
    picks = diversify(sims, candidates, pool, 4, 0.0, favs)
    assert [c for _, c, _ in picks] == [0, 2, 1, 3] and [r for r, _, _ in picks] == [0, 1, 0, 1]
    same = np.array([[True, False], [True, True]])
    picks = diversify(sims, candidates, pool, 4, 0.0, favs, same_class=same, duplicate_distance=0.001)
    assert [(c, demoted) for _, c, demoted in picks] == [(0, False), (2, False), (3, True), (1, True)]


def test_recommendations_on_real_audio_skip_the_favourites_layers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Generated velocity layers of one kick (brighter with velocity) and kicks of other kits, analysed for real."""
    from tests.audio_factory import write

    sr = 44100
    t = np.arange(int(0.5 * sr)) / sr

    def kick(base: float, sweep: float, decay: float, velocity: float, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        phase = 2 * np.pi * np.cumsum(base + sweep * velocity * np.exp(-t * 30)) / sr
        y = np.sin(phase) * np.exp(-t * decay) + 0.25 * velocity * rng.standard_normal(t.size) * np.exp(-t * 150)
        return (0.9 * y / np.max(np.abs(y))).astype(np.float32)

    files = {}
    for v, word in ((0.7, "Soft"), (0.8, "Med"), (0.9, "Hard"), (1.0, "Hardest")):
        files[f"A/Kick-{word}.wav"] = kick(50, 110, 8, v, 1)
    for i in range(8):
        files[f"K{i}/kick.wav"] = kick(40 + 8 * i, 50 + 30 * i, 4 + 3 * i, 0.8, 10 + i)
    for name, y in files.items():
        write(tmp_path / name, y, sr)
    ids, X = vectors.vectors_from_audio([str(tmp_path / n) for n in files])
    index = vectors.make_index().fit(X, ids)
    fav = str(tmp_path / "A/Kick-Med.wav")
    layers = {str(tmp_path / f"A/Kick-{w}.wav") for w in ("Soft", "Hard", "Hardest")}
    nearest = Recommender(3, **PLAIN).fit(index).recommend([fav])
    assert set(names(nearest)) == layers  # the layers are the nearest sounds
    varied = Recommender(4).fit(index).recommend([fav])
    assert not set(names(varied)) & layers and len(varied) == 4
    assert all(r.because_of == fav for r in varied)

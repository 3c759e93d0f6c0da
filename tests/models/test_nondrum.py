"""The non-drum gate: fitting, persistence, joint calibration and how the Tagger applies it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drumsamp_models import descriptors
from drumsamp_models.nondrum import NonDrumGate, gate_features
from drumsamp_models.tagger import UNKNOWN, Head, Tagger, calibrated_threshold
from drumsamp_models.training import calibrate_with_gate
from tests.audio_factory import kick, write

DIM = 200 + len(descriptors.NAMES)


def _two_clusters(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0.5, 1.0, (n, DIM)), rng.normal(-0.5, 1.0, (n, DIM))])
    return x, np.r_[np.ones(n, bool), np.zeros(n, bool)]


def _constant_gate(p_non_drum: float, threshold: float = 0.5, hidden: int = 4) -> NonDrumGate:
    """A gate that gives every sound the same non-drum probability."""
    logit = float(np.log(p_non_drum / (1 - p_non_drum)))
    return NonDrumGate(
        np.zeros(DIM), np.ones(DIM), np.zeros((DIM, hidden)), np.zeros(hidden), np.zeros(hidden), logit, threshold
    )


def test_gate_features_put_unit_embedding_beside_standardised_descriptors() -> None:
    emb = np.full((2, 200), 3.0)
    described = np.stack([descriptors.scaler()[0]] * 2)  # the train-kit mean: standardises to 0
    x = gate_features(emb, described)
    assert x.shape == (2, DIM)
    np.testing.assert_allclose(np.linalg.norm(x[:, :200], axis=1), 1.0)
    np.testing.assert_allclose(x[:, 200:], 0.0, atol=1e-5)
    assert gate_features(emb[0], described[0]).shape == (DIM,)


def test_fit_separates_drums_from_non_drums_and_round_trips(tmp_path: Path) -> None:
    x, non_drum = _two_clusters()
    gate = NonDrumGate.fit(x, non_drum, hidden=8, alpha=1.0)
    p = gate.probability(x)
    assert p.shape == (len(x),) and ((p >= 0) & (p <= 1)).all()
    assert np.mean((p > 0.5) == non_drum) > 0.95
    held, held_labels = _two_clusters(seed=1)
    assert np.mean((gate.probability(held) > 0.5) == held_labels) > 0.9  # generalises to new draws

    calibrated = gate.with_thresholds(0.8, 0.37, {"head": "abc"})
    calibrated.save(tmp_path / "gate.npz")
    loaded = NonDrumGate.load(tmp_path / "gate.npz")
    np.testing.assert_allclose(loaded.probability(held), calibrated.probability(held))
    assert (loaded.threshold, loaded.head_threshold, loaded.meta) == (0.8, 0.37, {"head": "abc"})
    assert loaded.fingerprint == calibrated.fingerprint != gate.fingerprint


def test_fit_needs_both_kinds_of_sound() -> None:
    x, _ = _two_clusters()
    with pytest.raises(ValueError, match="both drum and non-drum"):
        NonDrumGate.fit(x, np.zeros(len(x), bool))
    with pytest.raises(ValueError, match="one label per row"):
        NonDrumGate.fit(x, np.zeros(3, bool))


def test_joint_calibration_uses_the_gate_where_the_threshold_cannot_reject() -> None:
    # 20 drums with confident likelihoods except one; 10 non-drums, 6 of them confident (the gate sees them)
    maxl = np.r_[np.full(19, 0.9), 0.45, np.full(4, 0.3), np.full(6, 0.95)]
    gate = np.r_[np.full(19, 0.1), 0.2, np.full(4, 0.5), np.full(6, 0.7)]
    is_drum = np.r_[np.ones(20, bool), np.zeros(10, bool)]
    t1, t2 = calibrate_with_gate(maxl, gate, is_drum, max_drum_rejection=0.05)
    rejected = (maxl < t1) | (gate > t2)
    assert rejected[~is_drum].all() and rejected[is_drum].mean() <= 0.05
    t1, t2 = calibrate_with_gate(maxl, gate, is_drum, max_drum_rejection=0.0)
    rejected = (maxl < t1) | (gate > t2)
    assert not rejected[is_drum].any() and rejected[~is_drum].all()
    with pytest.raises(ValueError, match="both drum and non-drum"):
        calibrate_with_gate(maxl, gate, np.ones(30, bool))


def test_tagger_says_unknown_when_the_gate_rejects(tmp_path: Path) -> None:
    path = write(tmp_path / "kick.wav", kick(0.4, 44100), 44100)
    reject_all = Tagger(gate=_constant_gate(0.99)).predict_file(path)
    assert reject_all.tag == UNKNOWN and reject_all.non_drum == pytest.approx(0.99)
    assert reject_all.as_dict()["non_drum"] == pytest.approx(0.99)
    assert reject_all.descriptors is None  # measured for the gate, returned only with describe=True
    pass_all = Tagger(gate=_constant_gate(0.01), unknown_threshold=0.0).predict_file(path)
    assert pass_all.tag != UNKNOWN and pass_all.likelihoods == reject_all.likelihoods
    off = Tagger(gate=False, unknown_threshold=0.0).predict_file(path)
    assert off.non_drum is None and "non_drum" not in off.as_dict() and off.tag == pass_all.tag
    # pre-computed patches: the shipped head and the gate need descriptors
    tagger = Tagger(gate=_constant_gate(0.99), unknown_threshold=0.0)
    patches = tagger.load_patches(path)
    (described,) = tagger.predict_features([patches], described=[descriptors.describe_file(path)])
    assert described.non_drum == pytest.approx(0.99) and described.tag == UNKNOWN
    with pytest.raises(ValueError, match="descriptors"):
        tagger.predict_features([patches])
    with pytest.raises(ValueError, match="differ in length"):
        tagger.predict_features([patches], described=[])
    # with a head that takes embeddings only, the gate skips sounds without descriptors
    shipped = tagger.head
    plain_head = Head(shipped.w1[:200], shipped.b1, shipped.w2, shipped.b2, shipped.classes)
    plain_tagger = Tagger(head=plain_head, gate=_constant_gate(0.99), unknown_threshold=0.0)
    plain, gated = plain_tagger.predict_features([patches, patches], described=[None, descriptors.describe_file(path)])
    assert plain.non_drum is None and plain.tag != UNKNOWN
    assert gated.non_drum == pytest.approx(0.99) and gated.tag == UNKNOWN


def test_gate_threshold_pairs_with_its_own_head_only() -> None:
    head = Head.shipped()
    gate = _constant_gate(0.5).with_thresholds(0.5, 0.123, {"head": head.fingerprint})
    assert calibrated_threshold(head, gate) == 0.123 == Tagger(gate=gate).unknown_threshold
    other = gate.with_thresholds(0.5, 0.123, {"head": "another head"})
    assert calibrated_threshold(head, other) == head.meta["unknown_threshold"] == Tagger(gate=other).unknown_threshold
    assert calibrated_threshold(head) == head.meta["unknown_threshold"] == Tagger(gate=False).unknown_threshold


def test_shipped_gate_was_calibrated_with_the_shipped_head() -> None:
    gate = NonDrumGate.shipped()
    assert gate is not None and gate.w1.shape == (DIM, gate.meta["hidden"]) and gate.w2.shape == (gate.meta["hidden"],)
    assert gate.meta["head"] == Head.shipped().fingerprint
    assert 0.2 <= gate.head_threshold <= 0.95 and 0.05 <= gate.threshold <= 1.0
    assert gate.meta["drums_to_unknown"] <= 0.05  # the calibration's budget, out of fold
    assert Tagger().gate.fingerprint == gate.fingerprint and Tagger().unknown_threshold == gate.head_threshold


def test_fit_learns_what_no_straight_line_separates() -> None:
    """XOR: non-drums where two features share a sign, drums where they differ. No straight line does better
    than chance on it (a logistic regression scores 0.56 on these held-out points); the gate's hidden layer
    separates it. Four more features are noise; the others are constant."""
    rng = np.random.default_rng(3)
    x = np.zeros((400, DIM))
    x[:, :2] = rng.uniform(-1.0, 1.0, (400, 2))
    x[:, 2:6] = rng.normal(0.0, 1.0, (400, 4))
    non_drum = x[:, 0] * x[:, 1] > 0
    gate = NonDrumGate.fit(x[:300], non_drum[:300], hidden=16, alpha=1.0)
    assert np.mean((gate.probability(x[300:]) > 0.5) == non_drum[300:]) > 0.9


def test_fit_is_deterministic_for_a_seed() -> None:
    x, non_drum = _two_clusters()
    a, b = (NonDrumGate.fit(x, non_drum, hidden=8, seed=5) for _ in range(2))
    assert a.fingerprint == b.fingerprint
    assert NonDrumGate.fit(x, non_drum, hidden=8, seed=6).fingerprint != a.fingerprint

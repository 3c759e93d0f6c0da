"""Envelope and spectral-shape descriptors, and the ``musicnn+descriptors`` similarity space built on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drumsamp_models import batches, descriptors, tagger, utils, vectors
from drumsamp_models.errors import AudioError, FeatureFileError
from drumsamp_models.tagger import Tagger
from tests.audio_factory import kick, noise_burst, tone, write

SR = descriptors.SAMPLE_RATE


def named(values: np.ndarray) -> dict[str, float]:
    return dict(zip(descriptors.NAMES, values.tolist(), strict=True))


def test_one_finite_value_per_name_whatever_the_signal() -> None:
    signals = {
        "kick": kick(0.5, SR),
        "silence": np.zeros(SR // 2, np.float32),
        "empty": np.zeros(0, np.float32),
        "one sample": np.ones(1, np.float32),
        "long tone": tone(200, 5.0, SR),
    }
    for name, y in signals.items():
        d = descriptors.describe(y, SR)
        assert d.shape == (len(descriptors.NAMES),) == (36,), name
        assert d.dtype == np.float32 and np.isfinite(d).all(), name
    with pytest.raises(ValueError, match="mono"):
        descriptors.describe(np.zeros((100, 2), np.float32), SR)


def test_descriptors_ignore_the_level() -> None:
    y = noise_burst(0.4, SR, decay=15.0, seed=3)
    np.testing.assert_allclose(descriptors.describe(0.05 * y, SR), descriptors.describe(y, SR), atol=1e-3)


def test_decay_attack_and_brightness_are_measured() -> None:
    closed = named(descriptors.describe(noise_burst(0.15, SR, decay=60.0, seed=1), SR))
    ringing = named(descriptors.describe(noise_burst(2.0, SR, decay=3.0, seed=1), SR))
    assert ringing["log_dur_20db"] > closed["log_dur_20db"] + 1.0
    assert ringing["env_320ms"] > -20 > closed["env_320ms"]
    assert closed["env_1280ms"] == descriptors.FLOOR_DB  # the sound has ended by then

    low = named(descriptors.describe(tone(60, 1.0, SR, decay=4.0), SR))
    assert low["attack_band_0_100hz_db"] > -1.0  # nearly all the energy below 100 Hz
    assert low["attack_log_centroid"] < np.log(200) < closed["attack_log_centroid"]
    assert low["attack_log_flatness"] < closed["attack_log_flatness"]  # a sine is tonal, noise is flat

    swell = np.concatenate([np.linspace(0, 1, SR // 5), np.ones(SR // 10)]).astype(np.float32)
    swell *= tone(1000, 0.3, SR)
    assert named(descriptors.describe(swell, SR))["log_attack"] > closed["log_attack"] + 1.0


def test_other_sample_rates_are_resampled() -> None:
    y32 = noise_burst(0.5, SR, decay=10.0, seed=2)
    y44 = noise_burst(0.5, 44_100, decay=10.0, seed=2)
    d32, d44 = named(descriptors.describe(y32, SR)), named(descriptors.describe(y44, 44_100))
    assert d44["log_dur_20db"] == pytest.approx(d32["log_dur_20db"], abs=0.1)
    assert d44["body_band_6400_12800hz_db"] == pytest.approx(d32["body_band_6400_12800hz_db"], abs=0.5)


def test_describe_file_names_a_bad_file(tmp_path: Path) -> None:
    good = write(tmp_path / "hat.wav", noise_burst(0.2, 44_100))
    np.testing.assert_allclose(
        descriptors.describe_file(good), descriptors.describe(noise_burst(0.2, 44_100), 44_100), atol=0.05
    )
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioError, match=r"broken\.wav"):
        descriptors.describe_file(bad)


def test_shipped_scaler_matches_the_descriptors() -> None:
    mean, std = descriptors.scaler()
    assert mean.shape == std.shape == (36,) and (std > 0).all()
    # The train kits' mean sound standardises to zero; a shape error is refused.
    np.testing.assert_allclose(descriptors.standardize(mean), 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="36 descriptors"):
        descriptors.standardize(np.zeros(35))
    fp = descriptors.fingerprint()
    assert len(fp) == 40 and fp == descriptors.fingerprint()


def test_described_space_is_the_weighted_sum_of_two_cosines() -> None:
    rng = np.random.default_rng(0)
    emb = [rng.standard_normal((n, 200)).astype(np.float32) for n in (1, 2, 1)]
    raw = [descriptors.describe(y, SR) for y in (kick(0.5, SR), noise_burst(0.3, SR), tone(300, 1.0, SR, 3.0))]
    w = vectors.DESCRIPTOR_WEIGHT
    X = vectors.described_vectors(emb, raw)
    assert X.shape == (3, 236)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    m = np.stack([vectors.musicnn_vector(e) for e in emb])
    z = descriptors.standardize(np.stack(raw))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    for i in range(3):
        for j in range(3):
            assert float(X[i] @ X[j]) == pytest.approx((1 - w) * m[i] @ m[j] + w * z[i] @ z[j], abs=1e-5)
    np.testing.assert_allclose(vectors.described_vector(m[1], raw[1]), X[1], atol=1e-6)
    np.testing.assert_allclose(vectors.described_vectors(emb, raw, 0.0)[:, :200], m, atol=1e-6)
    with pytest.raises(ValueError, match="weight"):
        vectors.described_vector(m[0], raw[0], -0.1)
    with pytest.raises(ValueError, match="descriptor rows"):
        vectors.described_vectors(emb, raw[:2])
    assert vectors.DEFAULT_SPACE == vectors.DESCRIBED
    index = vectors.make_index().fit(X, list("abc"))
    assert index.space == vectors.DESCRIBED and index.normalize


def test_described_vectors_from_audio_batches_and_tagger_agree(library: list[Path], tmp_path: Path) -> None:
    files = library[:3]
    ids, X = vectors.vectors_from_audio(files)
    assert ids == [str(p) for p in files] and X.shape == (3, 236)
    report = utils.save_classification_batches_to_disk([str(p) for p in files], tmp_path / "cls")
    batch_ids, Xb = vectors.vectors_from_batches(report.feature_files)
    assert batch_ids == ids
    np.testing.assert_allclose(Xb, X, atol=1e-5)
    stored = batches.load_batch(report.feature_files[0])
    np.testing.assert_allclose(stored.descriptors, descriptors.describe_file(files[0]), atol=1e-5)

    results = Tagger(describe=True).predict(files).results
    np.testing.assert_allclose(results[str(files[1])].descriptors, descriptors.describe_file(files[1]), atol=1e-5)
    assert Tagger().predict(files[:1]).results[str(files[0])].descriptors is None


def test_feature_file_without_descriptors_is_refused_by_name(library: list[Path], tmp_path: Path) -> None:
    report = utils.save_classification_batches_to_disk([str(library[0])], tmp_path / "cls")
    path = report.feature_files[0]
    with np.load(path) as npz:
        old = {k: npz[k] for k in npz.files if k != "descriptors"}
    np.savez(path, **old)  # as written by version 0.3
    assert batches.load_batch(path).descriptors is None
    with pytest.raises(FeatureFileError, match="no descriptors") as err:
        vectors.vectors_from_batches([path])
    assert path in str(err.value)
    _, m = vectors.vectors_from_batches([path], vectors.MUSICNN)  # the other spaces still read it
    assert m.shape == (1, 200)
    with pytest.raises(FeatureFileError, match="no descriptors") as err:  # the shipped head takes them too
        tagger.predict_tags_on_computed_mels([path])
    assert path in str(err.value)

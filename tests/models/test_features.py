"""MusiCNN front end against librosa, patching of short and long clips, CMVN statistics."""

from __future__ import annotations

import numpy as np
import pytest

from drumsamp_models import features
from tests.audio_factory import kick, noise_burst, tone


def reference_mel(y: np.ndarray) -> np.ndarray:
    """MusiCNN's front end written out with librosa directly, in float64."""
    import librosa

    s = librosa.feature.melspectrogram(y=y.astype(np.float64), sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    return np.log10(10000 * s + 1)


@pytest.mark.parametrize(
    "y", [kick(1.0, 16000), noise_burst(2.0, 16000), tone(3000, 0.7, 16000)], ids=["kick", "noise", "tone"]
)
def test_mel_matches_direct_librosa(y: np.ndarray) -> None:
    mel = features.musicnn_mel(y)
    assert mel.dtype == np.float32
    assert mel.shape == (1 + len(y) // 256, 96)
    np.testing.assert_allclose(mel, reference_mel(y), rtol=1e-4, atol=1e-4)


def test_mel_rejects_other_rates() -> None:
    with pytest.raises(ValueError, match="16000"):
        features.musicnn_mel(tone(sr=22050), sr=22050)


def test_loud_sounds_stay_finite_and_distinct() -> None:
    # Full-scale drums give mel power above float16's range: the original code turned them into inf.
    t = np.arange(16000) / 16000
    square = np.sign(np.sin(2 * np.pi * 80 * t)).astype(np.float32)
    saw = (2 * ((t * 110) % 1) - 1).astype(np.float32)
    a, b = features.musicnn_mel(square), features.musicnn_mel(saw)
    assert np.isfinite(a).all() and np.isfinite(b).all()
    # The original's float16 computation overflows on this input ...
    power = np.power(10.0, reference_mel(square)) - 1
    with np.errstate(over="ignore"):
        assert np.isinf(np.float16(10000) * (power / 10000).astype(np.float16)).any()
    # ... where ours keeps values beyond float16's range (10000·S > 65504).
    assert a.max() > np.log10(65504 + 1)
    assert not np.allclose(a, b)


@pytest.mark.parametrize(
    ("seconds", "n_patches"), [(0.2, 1), (1.0, 1), (3.0, 1), (5.0, 2), (7.0, 2), (8.0, 3), (9.0, 3)]
)
def test_patch_counts(seconds: float, n_patches: int) -> None:
    y = noise_burst(seconds, 16000, decay=0.1)
    patches = features.musicnn_patches(y)
    assert patches.shape == (n_patches, 187, 96)
    assert patches.dtype == np.float32


def test_short_clip_is_zero_padded_to_one_patch() -> None:
    y = kick(1.0, 16000)
    mel = features.musicnn_mel(y)
    patch = features.musicnn_patches(y)[0]
    np.testing.assert_array_equal(patch[: len(mel)], mel)
    assert not patch[len(mel) :].any()


def test_long_clip_patches_are_successive_windows() -> None:
    y = noise_burst(8.0, 16000, decay=0.3)
    mel = features.musicnn_mel(y)  # 501 frames: two full patches and a 127-frame tail
    patches = features.musicnn_patches(y)
    np.testing.assert_array_equal(patches[0], mel[0:187])
    np.testing.assert_array_equal(patches[1], mel[187:374])
    np.testing.assert_array_equal(patches[2][:127], mel[374:501])
    assert not patches[2][127:].any()


def test_short_tail_is_dropped() -> None:
    mel = np.arange(7 * 187 // 2 * 96, dtype=np.float32).reshape(-1, 96)  # 654 frames = 3 patches + 93
    assert features.mel_patches(mel).shape[0] == 4
    assert features.mel_patches(mel[:-1]).shape[0] == 3


def test_cmvn_mfcc_statistics() -> None:
    y = kick(1.5, 22050) + noise_burst(1.5, 22050, decay=3)
    feats = features.cmvn_mfcc(y)
    assert feats.shape == (1 + len(y) // 512, 20)
    assert feats.dtype == np.float32
    np.testing.assert_allclose(feats.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(feats.std(axis=0), 1, atol=1e-3)


def test_cmvn_matches_its_definition() -> None:
    import librosa

    y = tone(500, 1.0, 22050, decay=4)
    raw = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=20).T
    expected = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    np.testing.assert_allclose(features.cmvn_mfcc(y), expected, rtol=1e-4, atol=1e-4)


def test_cmvn_guards_constant_coefficients() -> None:
    x = np.ones((10, 20), dtype=np.float32)
    x[:, 3] = np.arange(10)
    out = features.cmvn(x)
    assert np.isfinite(out).all()
    assert not out[:, 0].any()  # constant coefficient: centred, not divided by zero
    np.testing.assert_allclose(out[:, 3].std(), 1, rtol=1e-5)


def test_cmvn_of_one_frame_is_finite() -> None:
    assert np.isfinite(features.cmvn(np.random.default_rng(0).normal(size=(1, 20)))).all()

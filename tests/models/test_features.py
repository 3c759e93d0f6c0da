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


def test_wide_band_front_end_sees_above_8_khz_with_frames_of_the_same_duration(tmp_path) -> None:
    from drumsamp_models import audio
    from tests.audio_factory import write

    path = write(tmp_path / "hat.wav", tone(12000, 0.5, 44100, amp=0.1))  # above MusiCNN's 8 kHz limit
    plain, wide = features.FrontEnd(), features.FrontEnd(peak_normalize=True, sample_rate=32000)
    mel_plain = plain.patches(audio.load(path, plain.sample_rate))[0]
    mel_wide = wide.patches(audio.load(path, wide.sample_rate))[0]
    assert mel_plain.max() < 0.1  # gone: filtered out when decoding at 16 kHz
    assert mel_wide.max() > 2.0 and int(mel_wide[5].argmax()) > 80  # 12 kHz lands in the top bands
    active = [int(np.flatnonzero(m.any(axis=1))[-1]) + 1 for m in (mel_plain, mel_wide)]
    assert active[1] == features.musicnn_mel(np.zeros(8000, np.float32)).shape[0] == 32  # 0.5 s: 32 frames

    below = tone(1000, 1.0, 48000, amp=0.5)  # a sound below 8 kHz gets about the same input level
    narrow_mel = features.musicnn_mel(audio.resample(below, 48000, 16000))
    wide_mel = features.musicnn_mel(audio.resample(below, 48000, 32000), 32000)
    assert narrow_mel.shape == wide_mel.shape
    assert abs(float(narrow_mel.max() - wide_mel.max())) < 0.5

    assert features.FrontEnd.from_meta(wide.as_meta()) == wide
    assert features.FrontEnd.from_meta({}) == plain
    with pytest.raises(ValueError, match="multiple of 16000"):
        features.FrontEnd(sample_rate=22050)
    with pytest.raises(ValueError, match="multiple of 16000"):
        features.musicnn_mel(np.zeros(100, np.float32), 44100)


@pytest.mark.parametrize("n", [1, 700, 1023, 1024, 1025, 9_999, 96_017, 224_511])
def test_patches_and_descriptors_share_one_stft_and_match_the_separate_analyses(n: int) -> None:
    from drumsamp_models import descriptors

    front = features.FrontEnd(peak_normalize=True, sample_rate=32000)
    rng = np.random.default_rng(n)
    y = (0.3 * rng.standard_normal(n) * np.exp(-np.arange(n) / 4000)).astype(np.float32)
    patches, described = front.patches_and_descriptors(y)
    np.testing.assert_allclose(patches, front.patches(y), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(described, descriptors.describe(y, 32000))


def test_patches_and_descriptors_of_a_front_end_that_cannot_share() -> None:
    from drumsamp_models import descriptors

    y = kick(0.5, 16000)
    for front in (features.FrontEnd(), features.FrontEnd(peak_normalize=False, sample_rate=32000)):
        signal = y if front.sample_rate == 16000 else kick(0.5, 32000)
        patches, described = front.patches_and_descriptors(signal)
        np.testing.assert_array_equal(patches, front.patches(signal))
        np.testing.assert_array_equal(described, descriptors.describe(signal, front.sample_rate))


def test_mel_from_a_given_power_spectrogram() -> None:
    import librosa

    y = noise_burst(1.0, 16000)
    power = np.abs(librosa.stft(y, n_fft=512, hop_length=256)) ** 2
    np.testing.assert_array_equal(features.musicnn_mel(None, power=power), features.musicnn_mel(y))
    with pytest.raises(ValueError, match="257 bins"):
        features.musicnn_mel(None, power=power[:100])
    with pytest.raises(ValueError, match="signal or its power"):
        features.musicnn_mel(None)

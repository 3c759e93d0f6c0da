"""Features computed from decoded audio: MusiCNN's mel front end and CMVN-normalised MFCCs."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "MFCC_SR",
    "MUSICNN_HOP",
    "MUSICNN_N_FFT",
    "MUSICNN_N_MELS",
    "MUSICNN_SR",
    "N_MFCC",
    "PATCH_FRAMES",
    "FrontEnd",
    "cmvn",
    "cmvn_mfcc",
    "mel_patches",
    "mfcc",
    "musicnn_mel",
    "musicnn_patches",
]

MUSICNN_SR = 16000
MUSICNN_N_FFT = 512
MUSICNN_HOP = 256
MUSICNN_N_MELS = 96
PATCH_FRAMES = 187
"""Frames in one MusiCNN input patch (about 2.99 s at 16 kHz, hop 256)."""
MIN_TAIL_FRAMES = PATCH_FRAMES // 2
"""A trailing partial patch is kept (zero-padded) only when it holds at least this many frames."""

MFCC_SR = 22050
N_MFCC = 20


@functools.cache
def _mel_basis(sr: int, n_fft: int) -> np.ndarray:
    """The 96 Slaney mel filters of :func:`musicnn_mel` at ``sr``, (96, 1 + n_fft // 2), float32 (built once)."""
    import librosa

    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=MUSICNN_N_MELS, dtype=np.float32)
    basis.flags.writeable = False
    return basis


def musicnn_mel(y: np.ndarray | None, sr: int = MUSICNN_SR, power: np.ndarray | None = None) -> np.ndarray:
    """MusiCNN's input representation of a signal: ``log10(10000·mel + 1)``, shape (frames, 96).

    At 16 kHz: the original extractor's parameters (n_fft 512, hop 256, 96 Slaney mels, power 2,
    centred frames), computed in float32 throughout (the original's float16 cast overflows). At
    ``k × 16`` kHz (the tagger's wide-band front end, :class:`FrontEnd`) window and hop grow ``k``
    times, so a frame still lasts 16 ms, the 96 bands span 0 to ``k × 8`` kHz, and the power is
    divided by ``k`` to keep the input level of the 16 kHz analysis. ``power``: the signal's
    ``|STFT|²`` with that window and hop (1 + n_fft // 2, frames) when already computed (``y`` unused).
    """
    k, rest = divmod(sr, MUSICNN_SR)
    if rest or k < 1:
        raise ValueError(f"musicnn_mel expects audio at a multiple of {MUSICNN_SR} Hz, got {sr} Hz")
    n_fft = MUSICNN_N_FFT * k
    if power is None:
        import librosa

        if y is None:
            raise ValueError("musicnn_mel needs the signal or its power spectrogram")
        stft = librosa.stft(np.asarray(y, dtype=np.float32), n_fft=n_fft, hop_length=MUSICNN_HOP * k)
        power = np.abs(stft) ** 2
    elif power.shape[0] != 1 + n_fft // 2:
        raise ValueError(f"expected a power spectrogram of {1 + n_fft // 2} bins, got shape {power.shape}")
    mel = (_mel_basis(sr, n_fft) @ power).T.astype(np.float32, copy=False)
    return np.log10(np.float32(10000.0 / k) * mel + np.float32(1.0))


def mel_patches(mel: np.ndarray, patch_frames: int = PATCH_FRAMES) -> np.ndarray:
    """Cut a (frames, bands) log-mel into successive, non-overlapping patches: (n, patch_frames, bands).

    A clip shorter than one patch is zero-padded (silence in this log scale) to one patch. In a
    longer clip, a trailing remainder of at least half a patch becomes one more zero-padded patch;
    a shorter remainder is dropped, as in the original extractor.
    """
    mel = np.asarray(mel, dtype=np.float32)
    frames, bands = mel.shape
    n_full, tail = divmod(frames, patch_frames)
    n = n_full + (1 if (n_full == 0 or tail >= MIN_TAIL_FRAMES) else 0)
    out = np.zeros((n, patch_frames, bands), dtype=np.float32)
    usable = min(frames, n * patch_frames)
    out.reshape(-1, bands)[:usable] = mel[:usable]
    return out


def musicnn_patches(y: np.ndarray, sr: int = MUSICNN_SR, peak_normalize: bool = False) -> np.ndarray:
    """MusiCNN input patches for a signal at ``sr`` (16 kHz or a multiple): ``mel_patches(musicnn_mel(y, sr))``.

    With ``peak_normalize`` the signal is first scaled to a peak of 1 (0 dBFS): the Drumsample
    Tagger's front end, which makes its input independent of the recording level.
    """
    if peak_normalize:
        import librosa

        y = librosa.util.normalize(np.asarray(y, dtype=np.float32))
    return mel_patches(musicnn_mel(y, sr))


@dataclass(frozen=True)
class FrontEnd:
    """How the Drumsample Tagger turns a sound into MusiCNN input patches (its head records the settings).

    ``peak_normalize``: scale the sound to a 0 dBFS peak first, so that the input does not depend on the
    recording level. ``sample_rate``: decode at this multiple of 16 kHz and analyse with
    :func:`musicnn_mel` at that rate: frames and patches keep their duration (16 ms, 187 frames = 3 s)
    while the 96 mel bands reach up to half the rate. MusiCNN's own 16 kHz input ends at 8 kHz; at
    32 kHz the bands reach 16 kHz, where hi-hats and cymbals have their energy, at the same network cost.
    """

    peak_normalize: bool = False
    sample_rate: int = MUSICNN_SR

    def __post_init__(self) -> None:
        if self.sample_rate < MUSICNN_SR or self.sample_rate % MUSICNN_SR:
            raise ValueError(f"sample_rate must be a multiple of {MUSICNN_SR} Hz, got {self.sample_rate}")

    def patches(self, y: np.ndarray) -> np.ndarray:
        """MusiCNN input patches (n, 187, 96) of a mono signal decoded at :attr:`sample_rate`."""
        return musicnn_patches(y, self.sample_rate, peak_normalize=self.peak_normalize)

    def patches_and_descriptors(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`patches` and :func:`~drumsamp_models.descriptors.describe` of the same signal, with one STFT
        where the two analyses meet: the peak-normalised 32 kHz front end's frames (window 1024, hop 512) are
        every fourth frame of the descriptors' (window 1024, hop 128) of the same normalised sound."""
        from . import descriptors

        k = self.sample_rate // MUSICNN_SR
        step, rest = divmod(MUSICNN_HOP * k, descriptors.HOP)
        shared = (
            self.peak_normalize
            and self.sample_rate == descriptors.SAMPLE_RATE
            and MUSICNN_N_FFT * k == descriptors.N_FFT
            and not rest
        )
        if not shared:
            return self.patches(y), descriptors.describe(y, self.sample_rate)
        described, power = descriptors.describe_with_power(y, self.sample_rate)
        frames = 1 + len(y) // (MUSICNN_HOP * k)  # the descriptors zero-pad a sound shorter than one window
        mel = musicnn_mel(None, self.sample_rate, power=power[:, ::step][:, :frames])
        return mel_patches(mel), described

    def as_meta(self) -> dict[str, Any]:
        """The settings as JSON-friendly metadata."""
        return {"peak_normalize": self.peak_normalize, "sample_rate": self.sample_rate}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> FrontEnd:
        """The front end a head's metadata describes (the design's plain front end when it says nothing)."""
        return cls(bool(meta.get("peak_normalize", False)), int(meta.get("sample_rate", MUSICNN_SR)))


def mfcc(y: np.ndarray, sr: int = MFCC_SR, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCCs with librosa's defaults, one row per frame: shape (frames, n_mfcc), float32."""
    import librosa

    return librosa.feature.mfcc(y=np.asarray(y, dtype=np.float32), sr=sr, n_mfcc=n_mfcc).T.astype(
        np.float32, copy=False
    )


def cmvn(features: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Cepstral mean and variance normalisation over time, per coefficient, of a (frames, n) array.

    A coefficient that never varies (a one-frame clip, pure silence) is only centred, not scaled.
    """
    x = np.asarray(features, dtype=np.float32)
    mean = x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True)
    std = np.where(std > eps, std, np.float32(1.0))
    return ((x - mean) / std).astype(np.float32, copy=False)


def cmvn_mfcc(y: np.ndarray, sr: int = MFCC_SR, n_mfcc: int = N_MFCC) -> np.ndarray:
    """The design's similarity feature: CMVN-normalised 20-coefficient MFCCs, shape (frames, 20)."""
    return cmvn(mfcc(y, sr, n_mfcc))

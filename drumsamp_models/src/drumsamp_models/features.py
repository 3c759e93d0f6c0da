"""Features computed from decoded audio: MusiCNN's mel front end and CMVN-normalised MFCCs."""

from __future__ import annotations

import numpy as np

__all__ = [
    "MFCC_SR",
    "MUSICNN_HOP",
    "MUSICNN_N_FFT",
    "MUSICNN_N_MELS",
    "MUSICNN_SR",
    "N_MFCC",
    "PATCH_FRAMES",
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


def musicnn_mel(y: np.ndarray, sr: int = MUSICNN_SR) -> np.ndarray:
    """MusiCNN's input representation of a 16 kHz signal: ``log10(10000·mel + 1)``, shape (frames, 96).

    Same parameters as the original extractor (n_fft 512, hop 256, 96 Slaney mels, power 2,
    centred frames), computed in float32 throughout (the original's float16 cast overflows).
    """
    import librosa

    if sr != MUSICNN_SR:
        raise ValueError(f"musicnn_mel expects {MUSICNN_SR} Hz audio, got {sr} Hz")
    mel = librosa.feature.melspectrogram(
        y=np.asarray(y, dtype=np.float32),
        sr=MUSICNN_SR,
        n_fft=MUSICNN_N_FFT,
        hop_length=MUSICNN_HOP,
        n_mels=MUSICNN_N_MELS,
    ).T.astype(np.float32, copy=False)
    return np.log10(np.float32(10000.0) * mel + np.float32(1.0))


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


def musicnn_patches(y: np.ndarray, sr: int = MUSICNN_SR) -> np.ndarray:
    """MusiCNN input patches for a 16 kHz signal: ``mel_patches(musicnn_mel(y))``."""
    return mel_patches(musicnn_mel(y, sr))


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

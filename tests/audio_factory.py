"""Small real test sounds generated in code: decaying sines and noise bursts with known properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

# (extension, libsndfile format, subtype, lossless?)
FORMATS: list[tuple[str, str, str, bool]] = [
    ("wav", "WAV", "PCM_U8", True),
    ("wav", "WAV", "PCM_16", True),
    ("wav", "WAV", "PCM_24", True),
    ("wav", "WAV", "PCM_32", True),
    ("wav", "WAV", "FLOAT", True),
    ("aiff", "AIFF", "PCM_16", True),
    ("flac", "FLAC", "PCM_24", True),
    ("ogg", "OGG", "VORBIS", False),
    ("mp3", "MP3", "MPEG_LAYER_III", False),
]


def tone(
    freq: float = 440.0, seconds: float = 1.0, sr: int = 44100, decay: float = 0.0, amp: float = 0.5
) -> np.ndarray:
    """A sine of ``freq`` Hz, optionally exponentially decaying (``decay`` per second)."""
    t = np.arange(round(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t) * np.exp(-decay * t)).astype(np.float32)


def kick(seconds: float = 0.5, sr: int = 44100, seed: int = 0) -> np.ndarray:
    """A kick-like one-shot: pitch-dropping sine with a click of noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    freq = 50 + 100 * np.exp(-t * 30)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    y = np.sin(phase) * np.exp(-t * 8) + 0.3 * rng.standard_normal(t.size) * np.exp(-t * 200)
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


def noise_burst(
    seconds: float = 0.3, sr: int = 44100, decay: float = 20.0, seed: int = 0, amp: float = 0.7
) -> np.ndarray:
    """A decaying white-noise burst (hat- or snare-like)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    return (amp * rng.uniform(-1, 1, t.size) * np.exp(-decay * t)).astype(np.float32)


def write(path: Path, y: np.ndarray, sr: int = 44100, fmt: str = "WAV", subtype: str = "PCM_16") -> Path:
    """Write ``y`` (frames or frames x channels) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, sr, format=fmt, subtype=subtype)
    return path


def one_shot_library(folder: Path, n: int = 6, sr: int = 44100) -> list[Path]:
    """A small folder of different one-shots (kicks, noise bursts, tones) as 16-bit WAV."""
    files = []
    for i in range(n):
        if i % 3 == 0:
            y = kick(0.3 + 0.1 * i, sr, seed=i)
        elif i % 3 == 1:
            y = noise_burst(0.2 + 0.05 * i, sr, decay=10 + 5 * i, seed=i)
        else:
            y = tone(200 + 150 * i, 0.4, sr, decay=6)
        files.append(write(folder / f"sound_{i:02d}.wav", y, sr))
    return files

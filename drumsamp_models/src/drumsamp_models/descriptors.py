"""Envelope and spectral-shape descriptors of a drum sound: a fixed 36-d vector per sound.

What MusiCNN's time-pooled embedding blurs and a producer hears first: how long a sound rings (closed
against open hats, crash against ride), how it starts, and where its energy sits in frequency (rimshot
against snare, 808 against acoustic kick). Every value is level-independent (the sound is peak-normalised
and the envelope is measured relative to its peak):

- ``env_<t>ms``: level in dB relative to the peak, ``t`` = 10 … 1280 ms after the loudest frame
  (-90 dB once the sound has ended);
- ``log_dur_20db`` / ``log_dur_40db``: log seconds from the peak until the level stays below -20 / -40 dB;
- ``log_attack``: log seconds from the first frame above -20 dB to the peak;
- ``log_zcr``: log zero-crossing rate of the first 100 ms after the peak;
- for the ``attack`` spectrum (first 100 ms after the peak) and the ``body`` spectrum (everything after
  the peak): log spectral centroid and bandwidth (Hz), log spectral flatness, and the share of energy in
  nine octave-wide bands (dB) from 0 to 16 kHz.

:func:`standardize` scales them with the mean and standard deviation measured on the train kits of the
drum dataset (shipped in ``weights/descriptor_scaler.npz``, made by ``tools/fit_descriptor_scaler.py``).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
from importlib import resources

import librosa
import numpy as np

from . import audio

__all__ = [
    "BAND_EDGES",
    "ENVELOPE_TIMES",
    "NAMES",
    "SAMPLE_RATE",
    "VERSION",
    "describe",
    "describe_file",
    "describe_with_power",
    "fingerprint",
    "scaler",
    "standardize",
]

SAMPLE_RATE = 32_000
"""Descriptors are measured at 32 kHz (the tagger's wide-band rate): bands reach 16 kHz."""
N_FFT = 1024
HOP = 128
"""4 ms frames: the attack of a kick is a few frames long."""
ENVELOPE_TIMES = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28)
BAND_EDGES = (0, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 16001)
ATTACK_SECONDS = 0.1
FLOOR_DB = -90.0
VERSION = 1
SCALER_FILE = "descriptor_scaler.npz"

_SPECTRUM_NAMES = ["log_centroid", "log_bandwidth", "log_flatness"] + [
    f"band_{lo}_{hi}hz_db" for lo, hi in itertools.pairwise(BAND_EDGES)
]
NAMES: tuple[str, ...] = (
    *(f"env_{round(t * 1000)}ms" for t in ENVELOPE_TIMES),
    "log_dur_20db",
    "log_dur_40db",
    "log_attack",
    "log_zcr",
    *(f"attack_{n}" for n in _SPECTRUM_NAMES),
    *(f"body_{n}" for n in _SPECTRUM_NAMES),
)


def _spectrum_shape(power: np.ndarray, freqs: np.ndarray) -> list[float]:
    """Log centroid, log bandwidth, log flatness and octave-band shares (dB) of a power spectrum."""
    spec = power + 1e-12
    p = spec / spec.sum()
    centroid = float((p * freqs).sum())
    bandwidth = float(np.sqrt((p * (freqs - centroid) ** 2).sum()))
    flatness = float(np.exp(np.mean(np.log(spec))) / np.mean(spec))
    bands = np.array([p[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in itertools.pairwise(BAND_EDGES)])
    shape = [np.log(centroid + 1.0), np.log(bandwidth + 1.0), np.log(flatness + 1e-9)]
    return [*shape, *(10 * np.log10(bands + 1e-9))]


def describe(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The (36,) float32 descriptors of a mono signal (resampled to :data:`SAMPLE_RATE` when needed).

    Silence and empty signals give finite values (the envelope of a silent sound is flat at 0 dB).
    """
    return describe_with_power(y, sr)[0]


def describe_with_power(y: np.ndarray, sr: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """:func:`describe`, and the power spectrogram it measured them on: ``|STFT|²`` (``N_FFT``, ``HOP``, centred
    frames, shape (1 + N_FFT // 2, frames)) of the sound at :data:`SAMPLE_RATE`, peak-normalised, zero-padded
    to at least one window. The tagger's mel front end reuses it instead of computing its own STFT."""
    x = np.asarray(y, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected a mono signal, got shape {x.shape}")
    if sr != SAMPLE_RATE:
        x = audio.resample(x, sr, SAMPLE_RATE)
    if len(x) < N_FFT:  # a sound shorter than one window: zero-pad it to one window
        x = np.pad(x, (0, N_FFT - len(x)))
    peak = float(np.max(np.abs(x)))
    x = x / peak if peak > 0 else x
    power = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP)) ** 2
    rms = np.sqrt(power.mean(axis=0) + 1e-12)
    db = 20 * np.log10(rms / rms.max() + 1e-9)
    top = int(np.argmax(db))
    frame = HOP / SAMPLE_RATE
    after = top + (np.asarray(ENVELOPE_TIMES) / frame).astype(int)
    envelope = np.where(after < len(db), db[np.minimum(after, len(db) - 1)], FLOOR_DB)

    def log_duration(threshold: float) -> float:
        above = np.flatnonzero(db[top:] > threshold)
        return float(np.log((above[-1] + 1 if above.size else 1) * frame))

    rise = np.flatnonzero(db[: top + 1] > -20.0)
    attack = float(np.log((top - rise[0] + 1) * frame))
    start = top * HOP
    head = x[start : start + int(ATTACK_SECONDS * SAMPLE_RATE)]
    zcr = float(np.mean(np.abs(np.diff(np.signbit(head).astype(np.int8))))) if len(head) > 1 else 0.0
    freqs = librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=N_FFT)
    attack_frames = power[:, top : top + int(ATTACK_SECONDS / frame) + 1].sum(axis=1)
    body_frames = power[:, top:].sum(axis=1)
    values = [
        *np.maximum(envelope, FLOOR_DB),
        log_duration(-20.0),
        log_duration(-40.0),
        attack,
        np.log(zcr + 1e-6),
        *_spectrum_shape(attack_frames, freqs),
        *_spectrum_shape(body_frames, freqs),
    ]
    return np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=0.0, neginf=FLOOR_DB), power


def describe_file(path: str | os.PathLike[str], **load_kw: object) -> np.ndarray:
    """:func:`describe` of an audio file; a bad file raises :class:`~drumsamp_models.errors.AudioError`."""
    return describe(audio.load(path, SAMPLE_RATE, **load_kw), SAMPLE_RATE)  # type: ignore[arg-type]


@functools.cache
def scaler() -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of each descriptor on the train kits, as shipped in the package."""
    ref = resources.files("drumsamp_models").joinpath("weights", SCALER_FILE)
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as npz:
        names = tuple(str(n) for n in npz["names"])
        if names != NAMES or int(npz["version"]) != VERSION:
            raise ValueError(f"{path}: descriptor scaler does not match descriptors version {VERSION}")
        return npz["mean"].astype(np.float32), np.maximum(npz["std"].astype(np.float32), 1e-6)


def standardize(descriptors: np.ndarray) -> np.ndarray:
    """Descriptors (36,) or (n, 36) minus the train-kit mean, divided by the train-kit standard deviation."""
    d = np.asarray(descriptors, dtype=np.float32)
    if d.shape[-1] != len(NAMES):
        raise ValueError(f"expected {len(NAMES)} descriptors per sound, got shape {d.shape}")
    mean, std = scaler()
    return (d - mean) / std


@functools.cache
def fingerprint() -> str:
    """SHA-1 of the descriptor version and the shipped scaler: changes whenever the descriptor space does."""
    mean, std = scaler()
    digest = hashlib.sha1(f"descriptors-v{VERSION}".encode())
    digest.update(mean.tobytes())
    digest.update(std.tobytes())
    return digest.hexdigest()

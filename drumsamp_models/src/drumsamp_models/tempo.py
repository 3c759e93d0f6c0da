"""Loop tempo: the BPM of a drum loop, with half- and double-tempo errors handled.

Three steps, each a function in the style of librosa:

1. **Rhythm** (:func:`analyse`): spectral-flux onset envelopes (5.8 ms frames) of the whole band and of a few
   bands where drums differ (kick, drum body, snare noise, hats), and the autocorrelation of the whole-band one.
2. **Candidates** (:func:`candidate_tempi`): for each tempo, the mean autocorrelation at every multiple of its beat
   (:func:`periodicity`: a comb over the beats, the half bar, the bar, ...). Its best peaks in one octave are the
   tempo *families*; every octave of a peak (×½, ×2, ...) inside ``[min_bpm, max_bpm]`` is a candidate, refined to
   the comb's maximum and, when the loop's duration holds a whole number of its beats (a loop cut to repeat
   seamlessly), snapped to ``60 * beats / duration`` (:func:`snap_to_length`).
3. **Metrical level** (:class:`TempoRanker`): a small network scores each candidate by what the beat of a drum loop
   looks like at that tempo (:func:`features`): how much happens on its off-beat eighths, sixteenths and
   thirty-seconds compared with its beats, the average bar of each drum band on a sixteenth grid (where kicks,
   snares and hats fall), how strongly the onsets repeat at one and two beats, whether the loop is a whole number
   of bars at that tempo and how many, and the tempo itself. The best-scored candidate wins: this is what picks one
   of the half- and double-tempo candidates of a family. The ranker ships in ``weights/tempo_ranker.npz``, fitted
   by ``tools/fit_tempo.py`` on loops of the drum dataset's train and val kits and patterns.

:func:`estimate_bpm` returns ``None`` for a sound shorter than half a second or without onsets. Accuracy on rendered
and real loops: ``bench/tempo_quality.py`` (``docs/evaluation.md``, "Loop tempo").
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import librosa
import numpy as np

from . import audio

__all__ = [
    "FEATURES",
    "MAX_BPM",
    "MIN_BPM",
    "RANKER_FILE",
    "SAMPLE_RATE",
    "Rhythm",
    "TempoRanker",
    "analyse",
    "candidate_tempi",
    "estimate_bpm",
    "estimate_bpm_file",
    "features",
    "periodicity",
    "ranker",
    "snap_to_length",
]

SAMPLE_RATE = 22050
"""Rate of the analysis (the signal is resampled to it)."""
N_FFT = 1024
HOP = 128
FRAME_RATE = SAMPLE_RATE / HOP
"""Onset-envelope frames per second (5.8 ms frames: 2 % of a beat at 180 BPM is 6.7 ms)."""
MIN_BPM = 70.0
MAX_BPM = 180.0
"""The tempo range :func:`estimate_bpm` answers in by default: where drum loops mostly lie."""
MIN_SECONDS = 0.5
MAX_SECONDS = 30.0
"""Sounds shorter than ``MIN_SECONDS`` have no tempo; longer than ``MAX_SECONDS``, only their start is analysed."""
MAX_LAG_SECONDS = 8.0
SNAP_TOLERANCE = 0.01
"""A candidate is snapped to the loop's length when that moves it by at most this share (1 %)."""
FAMILY_PEAKS = 4
RANKER_FILE = "tempo_ranker.npz"
_ARRAYS = ("mean", "scale", "w1", "b1", "w2")

# Mel bands of the level envelopes (Hz) and linear bands of the bar profiles (Hz).
LEVEL_BANDS = {"all": (30.0, 11000.0), "low": (30.0, 150.0), "mid": (150.0, 3000.0), "high": (3000.0, 11000.0)}
PROFILE_BANDS = {"kick": (30.0, 120.0), "body": (150.0, 400.0), "noise": (1000.0, 5000.0), "hats": (6000.0, 11000.0)}
PROFILE_RANGE_DB = 60.0
"""The profile bands' onsets are measured within this range below their loudest frame."""
_LEVELS = ("8th", "16th", "32nd")
_OCTAVE = 80.0 * 2.0 ** (np.arange(0, 1000) / 1000)  # one octave of tempi, 0.07 % apart

FEATURES: tuple[str, ...] = (
    *(f"{band}_{level}" for band in LEVEL_BANDS for level in _LEVELS),
    "acf_beat",
    "acf_2beats",
    "comb",
    "log_bpm",
    "log_bpm_sq",
    "bars_off",
    "log_bars",
    "log_bars_sq",
    *(f"{band}_bar_{step:02d}" for band in PROFILE_BANDS for step in range(16)),
)
"""What :func:`features` measures for one candidate tempo, in order."""


@dataclass(frozen=True)
class Rhythm:
    """One sound's onset envelopes (one value per frame; level bands ``all``, ``low``, ``mid``, ``high`` and profile
    bands ``kick``, ``body``, ``noise``, ``hats``), the autocorrelation of ``all``, the frame of the first strong
    onset (taken as a downbeat) and the sound's duration in seconds."""

    envelopes: dict[str, np.ndarray]
    acf: np.ndarray
    start: int
    duration: float


def analyse(y: np.ndarray, sr: int) -> Rhythm | None:
    """The :class:`Rhythm` of a mono signal, or None when it is shorter than ``MIN_SECONDS`` or has no onsets."""
    y = np.asarray(y, dtype=np.float32)
    duration = len(y) / sr
    if duration < MIN_SECONDS:
        return None
    if sr != SAMPLE_RATE:
        y = audio.resample(y, sr, SAMPLE_RATE)
    y = y[: int(MAX_SECONDS * SAMPLE_RATE)]
    if len(y) < N_FFT or not np.any(y):
        return None
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
    mel_freqs = librosa.mel_frequencies(n_mels=64, fmin=30.0, fmax=11000.0)
    mel = librosa.feature.melspectrogram(S=power, sr=SAMPLE_RATE, n_mels=64, fmin=30.0, fmax=11000.0)
    level = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    flux = np.maximum(0.0, np.diff(level, axis=1, prepend=level[:, :1]))
    kernel = np.ones(64) / 64  # 370 ms: what rises above its surroundings is an onset
    envelopes: dict[str, np.ndarray] = {}
    for name, (lo, hi) in LEVEL_BANDS.items():
        band = flux[(mel_freqs >= lo) & (mel_freqs <= hi)].mean(axis=0)
        envelopes[name] = np.maximum(0.0, band - np.convolve(band, kernel, mode="same"))
    freqs = librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=N_FFT)
    for name, (lo, hi) in PROFILE_BANDS.items():
        band_db = 10.0 * np.log10(1e-10 + power[(freqs >= lo) & (freqs < hi)].sum(axis=0))
        band_db = np.maximum(band_db, band_db.max() - PROFILE_RANGE_DB)  # noise and dither below: no onsets
        envelopes[name] = np.maximum(0.0, np.diff(band_db, prepend=band_db[:1]))
    whole = envelopes["all"]
    if whole.max() <= 0.0:
        return None
    centred = whole - whole.mean()
    spectrum = np.fft.rfft(centred, 2 * len(centred))
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[: len(centred)]
    acf = acf / acf[0] if acf[0] > 0 else acf
    start = int(np.argmax(whole > 0.3 * whole.max()))
    return Rhythm(envelopes, acf, start, duration)


def _at(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``values`` linearly interpolated at fractional ``positions`` (NaN beyond the end)."""
    positions = np.asarray(positions, dtype=np.float64)
    out = np.full(positions.shape, np.nan)
    inside = positions < len(values) - 1
    index = positions[inside].astype(np.int64)
    frac = positions[inside] - index
    out[inside] = values[index] * (1.0 - frac) + values[index + 1] * frac
    return out


def periodicity(rhythm: Rhythm, bpm: np.ndarray | float) -> np.ndarray:
    """The comb score of each tempo: the mean autocorrelation at every multiple of its beat period (up to 80 % of
    the envelope or ``MAX_LAG_SECONDS``)."""
    tempi = np.atleast_1d(np.asarray(bpm, dtype=np.float64))
    period = FRAME_RATE * 60.0 / tempi
    max_lag = min(0.8 * len(rhythm.acf), MAX_LAG_SECONDS * FRAME_RATE)
    count = np.maximum(1, np.floor(max_lag / period)).astype(np.int64)
    multiples = np.arange(1, int(count.max()) + 1)
    values = _at(rhythm.acf, period[:, None] * multiples[None, :])
    values[multiples[None, :] > count[:, None]] = np.nan
    with np.errstate(invalid="ignore"):
        means = np.nanmean(values, axis=1) if np.isfinite(values).any() else np.zeros(len(tempi))
    return np.nan_to_num(means, nan=0.0)


def snap_to_length(bpm: float, duration: float, tolerance: float = SNAP_TOLERANCE) -> float:
    """``60 * beats / duration`` for the whole number of beats the loop holds at ``bpm``, when that is within
    ``tolerance`` (a share) of ``bpm``; else ``bpm`` unchanged."""
    beats = round(duration * bpm / 60.0)
    if beats < 1:
        return bpm
    snapped = 60.0 * beats / duration
    return snapped if abs(snapped - bpm) <= tolerance * bpm else bpm


def _refine(rhythm: Rhythm, bpm: float) -> float:
    """The comb's maximum within 2 % of ``bpm`` (0.01 % steps), snapped to the loop's length when it fits."""
    local = bpm * (1.0 + np.linspace(-0.02, 0.02, 401))
    best = float(local[int(np.argmax(periodicity(rhythm, local)))])
    return snap_to_length(best, rhythm.duration)


def candidate_tempi(rhythm: Rhythm, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM) -> list[float]:
    """Every octave inside ``[min_bpm, max_bpm]`` of the best ``FAMILY_PEAKS`` periodicity peaks of one octave,
    refined to the comb's maximum and snapped to the loop's length; the strongest family first."""
    comb = periodicity(rhythm, _OCTAVE)
    n = len(comb)
    peaks = [i for i in range(n) if comb[i] >= comb[i - 1] and comb[i] >= comb[(i + 1) % n]]
    peaks.sort(key=lambda i: -comb[i])
    found: list[float] = []
    for i in peaks[:FAMILY_PEAKS]:
        for octave in range(-4, 5):
            bpm = float(_OCTAVE[i]) * 2.0**octave
            if not min_bpm * 0.98 <= bpm <= max_bpm * 1.02:
                continue
            refined = _refine(rhythm, bpm)
            if min_bpm <= refined <= max_bpm and all(abs(refined / b - 1) >= 0.005 for b in found):
                found.append(refined)
    return found


def _windows(envelope: np.ndarray, start: int, step: float, late: np.ndarray) -> np.ndarray:
    """The envelope's maximum around each grid point ``start + j * step`` (±2 frames, ``late[j]`` frames more after)."""
    j = np.arange(len(late))
    t = start + j * step
    lo = np.clip(np.round(t - 2).astype(np.int64), 0, len(envelope) - 1)
    hi = np.clip(np.round(t + 2 + late).astype(np.int64) + 1, 1, len(envelope))
    return np.array([envelope[a:b].max() for a, b in zip(lo, hi, strict=True)])


def _levels(envelope: np.ndarray, start: int, period: float) -> list[float]:
    """Log ratios of the mean onset strength on the off-beat eighths, sixteenths and thirty-seconds of a beat
    ``period`` (frames) to that on its beats, counted from ``start``."""
    step = period / 8.0
    if start >= len(envelope) - 1:
        return [0.0, 0.0, 0.0]
    j = np.arange(int((len(envelope) - 1 - start) // step) + 1)
    # Swing delays an off-beat: eighths by up to a sixth of a beat (a shuffle), sixteenths and thirty-seconds by up
    # to half their step, so the window of each off-beat reaches that much later.
    late = np.select([j % 8 == 4, j % 4 == 2, j % 2 == 1], [period / 6.0, period / 8.0, period / 16.0], 0.0)
    peaks = _windows(envelope, start, step, late)
    eps = 1e-3 + 0.05 * float(peaks.max())

    def mean(mask: np.ndarray) -> float:
        return float(peaks[mask].mean()) if mask.any() else 0.0

    beat = mean(j % 8 == 0)
    return [float(np.log((mean(sel) + eps) / (beat + eps))) for sel in (j % 8 == 4, j % 4 == 2, j % 2 == 1)]


def _bar_profile(envelope: np.ndarray, start: int, period: float) -> np.ndarray:
    """The mean onset strength on each sixteenth of a 4-beat bar of beat ``period`` (frames), scaled to a maximum
    of 1: where the band's hits fall in the bar at that tempo."""
    step = period / 4.0
    if start >= len(envelope) - 1:
        return np.zeros(16)
    j = np.arange(int((len(envelope) - 2 - start) // step) + 1)
    peaks = _windows(envelope, start, step, np.where(j % 2 == 1, period / 8.0, 0.0))
    sums = np.bincount(j % 16, weights=peaks, minlength=16)
    counts = np.bincount(j % 16, minlength=16)
    profile = sums / np.maximum(counts, 1)
    return profile / (profile.max() + 1e-9)


def features(rhythm: Rhythm, bpm: float) -> np.ndarray:
    """The :data:`FEATURES` of one candidate tempo.

    Per level band (``all``, ``low``, ``mid``, ``high``): log ratio of the onset strength on the off-beat eighths,
    sixteenths and thirty-seconds to that on the beats. Then the autocorrelation at one and two beats, the comb
    score (:func:`periodicity`), log2(bpm / 120) and its square, how far the loop's length is from a whole number
    of 4-beat bars (0 to 0.5; 0.5 below one bar), log2 of that number of bars and its square; and per profile band
    the average bar on a sixteenth grid (16 values).
    """
    period = FRAME_RATE * 60.0 / bpm
    values: list[float] = []
    for band in LEVEL_BANDS:
        values += _levels(rhythm.envelopes[band], rhythm.start, period)
    acf_beat, acf_2beats = np.nan_to_num(_at(rhythm.acf, np.array([period, 2 * period])))
    log_bpm = float(np.log2(bpm / 120.0))
    bars = rhythm.duration * bpm / 240.0
    bars_off = abs(bars - round(bars)) if round(bars) >= 1 else 0.5
    log_bars = float(np.log2(max(bars, 0.25)))
    comb = float(periodicity(rhythm, bpm)[0])
    values += [float(acf_beat), float(acf_2beats), comb, log_bpm, log_bpm**2, bars_off, log_bars, log_bars**2]
    profiles = [_bar_profile(rhythm.envelopes[band], rhythm.start, period) for band in PROFILE_BANDS]
    return np.concatenate([np.asarray(values, dtype=np.float64), *profiles])


@dataclass(frozen=True)
class TempoRanker:
    """Scores candidate tempi from their standardised :func:`features`: the mean over several one-hidden-layer
    networks (ReLU) of a scalar; only differences between the candidates of one sound matter.

    Fitted RankNet-style (:meth:`fit`): for pairs (the true tempo, a wrong candidate of the same loop), the logistic
    loss of the score difference.
    """

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray  # (networks, features, hidden)
    b1: np.ndarray  # (networks, hidden)
    w2: np.ndarray  # (networks, hidden)
    meta: dict[str, Any] = field(default_factory=dict)

    def score(self, rows: np.ndarray) -> np.ndarray:
        """The score of each (n, features) row."""
        z = (np.atleast_2d(np.asarray(rows, dtype=np.float64)) - self.mean) / self.scale
        hidden = np.maximum(np.einsum("nd,mdh->mnh", z, self.w1) + self.b1[:, None, :], 0.0)
        return np.einsum("mnh,mh->n", hidden, self.w2) / len(self.w2)

    @classmethod
    def fit(
        cls, right: np.ndarray, wrong: np.ndarray, *, hidden: int = 16, alpha: float = 0.01, nets: int = 5, **meta: Any
    ) -> TempoRanker:
        """Fit on pairs: row ``i`` of ``right`` (the true tempo's features) must score above row ``i`` of ``wrong``
        (a wrong candidate's of the same loop). ``alpha`` is the L2 penalty; ``nets`` networks, the ``k``-th from
        seed ``k``; ``meta`` is kept with the weights."""
        from scipy.optimize import minimize

        a, b = np.asarray(right, dtype=np.float64), np.asarray(wrong, dtype=np.float64)
        both = np.concatenate([a, b])
        mean, scale = both.mean(axis=0), both.std(axis=0)
        scale[scale == 0] = 1.0
        a, b = (a - mean) / scale, (b - mean) / scale
        n, d = a.shape
        cut = (d * hidden, d * hidden + hidden)

        def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
            w1, b1, w2 = params[: cut[0]].reshape(d, hidden), params[cut[0] : cut[1]], params[cut[1] :]
            pre_a, pre_b = a @ w1 + b1, b @ w1 + b1
            act_a, act_b = np.maximum(pre_a, 0.0), np.maximum(pre_b, 0.0)
            margin = (act_a - act_b) @ w2
            loss = np.logaddexp(0.0, -margin).mean() + 0.5 * alpha * (np.sum(w1**2) + np.sum(w2**2))
            g = -0.5 * (1.0 - np.tanh(0.5 * margin)) / n  # d loss / d margin
            g_a, g_b = np.outer(g, w2) * (pre_a > 0), -np.outer(g, w2) * (pre_b > 0)
            grad = [
                (a.T @ g_a + b.T @ g_b + alpha * w1).ravel(),
                g_a.sum(0) + g_b.sum(0),
                (act_a - act_b).T @ g + alpha * w2,
            ]
            return float(loss), np.concatenate(grad)

        layers: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for seed in range(nets):
            rng = np.random.default_rng(seed)
            start = np.concatenate(
                [
                    rng.normal(0.0, np.sqrt(1.0 / d), d * hidden),
                    np.zeros(hidden),
                    rng.normal(0.0, np.sqrt(1.0 / hidden), hidden),
                ]
            )
            res = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 3000})
            layers.append((res.x[: cut[0]].reshape(d, hidden), res.x[cut[0] : cut[1]], res.x[cut[1] :]))
        w1, b1, w2 = (np.stack(parts) for parts in zip(*layers, strict=True))
        return cls(mean, scale, w1, b1, w2, meta)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ranker to an ``.npz`` (arrays, the feature names and JSON metadata)."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        np.savez(path, **arrays, features=np.array(FEATURES), meta=np.array(json.dumps(self.meta, sort_keys=True)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TempoRanker:
        """Read a ranker written by :meth:`save`; ValueError when it was fitted on other features."""
        with np.load(path, allow_pickle=False) as npz:
            if tuple(str(name) for name in npz["features"]) != FEATURES:
                raise ValueError(f"{path}: the ranker was fitted on other features than this version computes")
            arrays = {key: npz[key].astype(np.float64) for key in _ARRAYS}
            return cls(**arrays, meta=json.loads(str(npz["meta"])))


@functools.cache
def ranker() -> TempoRanker:
    """The ranker shipped in the package (``weights/tempo_ranker.npz``), loaded once."""
    ref = resources.files("drumsamp_models").joinpath("weights", RANKER_FILE)
    with resources.as_file(ref) as path:
        return TempoRanker.load(path)


def estimate_bpm(y: np.ndarray, sr: int, *, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM) -> float | None:
    """The tempo of a drum loop (mono signal ``y`` at ``sr`` Hz) in BPM within ``[min_bpm, max_bpm]`` (two
    decimals), or None when the sound is too short or has no onsets."""
    if not 0 < min_bpm < max_bpm:
        raise ValueError(f"expected 0 < min_bpm < max_bpm, got {min_bpm} and {max_bpm}")
    rhythm = analyse(y, sr)
    if rhythm is None:
        return None
    tempi = candidate_tempi(rhythm, min_bpm, max_bpm)
    if not tempi:
        return None
    scores = ranker().score(np.stack([features(rhythm, bpm) for bpm in tempi]))
    return round(tempi[int(np.argmax(scores))], 2)


def estimate_bpm_file(
    path: str | os.PathLike[str], *, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM
) -> float | None:
    """:func:`estimate_bpm` of an audio file, decoded with :func:`drumsamp_models.audio.load` (whose errors it
    raises)."""
    return estimate_bpm(audio.load(path, sr=SAMPLE_RATE), SAMPLE_RATE, min_bpm=min_bpm, max_bpm=max_bpm)

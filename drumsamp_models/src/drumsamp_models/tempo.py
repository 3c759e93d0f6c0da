"""Loop tempo: the BPM of a drum loop, with half- and double-tempo errors handled.

A loop's tempo is found in three steps, in the style of librosa's composable functions:

1. **Rhythm** (:func:`analyse`): spectral-flux onset envelopes (64 mel bands, 5.8 ms frames) of the whole band
   and of a low (kick), mid (snare) and high (hats) band, and the autocorrelation of the whole-band envelope.
2. **Periodicity** (:func:`periodicity`): for each tempo, the mean autocorrelation at every multiple of its beat
   period (a comb over the beats, the half bar, the bar, ...). Its best peaks in one octave (80-160 BPM) are the
   *tempo families*: every octave of a peak (×½, ×2, ...) inside ``[min_bpm, max_bpm]`` is a candidate, refined to
   the comb's exact maximum and, when the loop's duration holds a whole number of its beats (a loop cut to loop
   seamlessly), snapped to ``60 * beats / duration``.
3. **Metrical level** (:func:`choose`): a linear ranker (:data:`WEIGHTS`, fitted by ``tools/fit_tempo.py`` on
   loops of the dataset's train and val kits) scores each candidate by what the beat level of a drum loop looks
   like: how much happens on its off-beat eighths, sixteenths and thirty-seconds compared with its beats (per band),
   how strongly the onsets repeat at one and two beats, whether the loop is a whole number of bars at that tempo and
   how many, and the tempo itself (drum loops lie mostly between 70 and 180 BPM). The best-scored candidate wins:
   this is what turns the half- and double-tempo candidates of one family into one answer.

:func:`estimate_bpm` returns ``None`` for a sound too short or without a repeating rhythm. Accuracy on rendered and
real loops is measured by ``bench/tempo_quality.py`` (``docs/evaluation.md``, "Loop tempo").
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import librosa
import numpy as np

from . import audio

__all__ = [
    "FEATURES",
    "MAX_BPM",
    "MIN_BPM",
    "SAMPLE_RATE",
    "WEIGHTS",
    "Candidate",
    "Rhythm",
    "analyse",
    "candidate_tempi",
    "candidates",
    "choose",
    "estimate_bpm",
    "estimate_bpm_file",
    "features",
    "periodicity",
    "score",
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
"""The tempo range of drum loops that :func:`estimate_bpm` answers in by default (one octave and a third)."""
BANDS = {"low": (30.0, 150.0), "mid": (150.0, 3000.0), "high": (3000.0, 11000.0)}
MIN_SECONDS = 0.5
MAX_SECONDS = 30.0
"""Sounds shorter than this have no tempo; longer ones are analysed over their first ``MAX_SECONDS``."""
MAX_LAG_SECONDS = 8.0
SNAP_TOLERANCE = 0.01
"""A candidate is snapped to the loop's length when that moves it by at most this share (1 %)."""
FAMILY_PEAKS = 4
_OCTAVE = 80.0 * 2.0 ** (np.arange(0, 1000) / 1000)  # one octave of tempi, 0.07 % apart
_GRID_BANDS = ("all", "low", "mid", "high")

FEATURES: tuple[str, ...] = (
    *(f"{band}_{level}" for band in _GRID_BANDS for level in ("8th", "16th", "32nd")),
    "acf_beat",
    "acf_2beats",
    "comb",
    "log_bpm",
    "log_bpm_sq",
    "bars_off",
    "log_bars",
    "log_bars_sq",
)
"""What :func:`features` measures for one candidate tempo (see :func:`features`)."""

# Fitted by tools/fit_tempo.py (pairwise logistic regression on the train and val kits' loops); only differences
# between candidates matter, so the weights apply to the raw features and there is no intercept.
WEIGHTS: dict[str, float] = {name: 0.0 for name in FEATURES}


@dataclass(frozen=True)
class Rhythm:
    """The onset envelopes of one sound (``all``, ``low``, ``mid``, ``high``; one value per frame), the
    autocorrelation of the whole-band one, the frame of the first strong onset and the duration in seconds."""

    envelopes: dict[str, np.ndarray]
    acf: np.ndarray
    start: int
    duration: float


@dataclass(frozen=True)
class Candidate:
    """One candidate tempo with its ranker score."""

    bpm: float
    score: float


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
    mel = librosa.feature.melspectrogram(S=power, sr=SAMPLE_RATE, n_mels=64, fmin=30.0, fmax=11000.0)
    freqs = librosa.mel_frequencies(n_mels=64, fmin=30.0, fmax=11000.0)
    level = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    flux = np.maximum(0.0, np.diff(level, axis=1, prepend=level[:, :1]))
    bands = {"all": np.ones(len(freqs), dtype=bool)}
    bands.update({name: (freqs >= lo) & (freqs < hi) for name, (lo, hi) in BANDS.items()})
    kernel = np.ones(64) / 64  # 370 ms: what rises above its surroundings is an onset
    envelopes = {}
    for name, rows in bands.items():
        band = flux[rows].mean(axis=0)
        envelopes[name] = np.maximum(0.0, band - np.convolve(band, kernel, mode="same"))
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
    lags = period[:, None] * multiples[None, :]
    values = _at(rhythm.acf, lags)
    values[multiples[None, :] > count[:, None]] = np.nan
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(np.nanmean(values, axis=1), nan=0.0)


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


def _grid_levels(envelope: np.ndarray, start: int, period: float) -> list[float]:
    """Log ratios of the mean onset strength on the off-beat eighths, sixteenths and thirty-seconds of a beat
    ``period`` (frames) to that on its beats, from ``start``; late off-beat sixteenths (swing) count."""
    step = period / 8.0
    if step <= 0 or start >= len(envelope):
        return [0.0, 0.0, 0.0]
    j = np.arange(int((len(envelope) - 1 - start) // step) + 1)
    t = start + j * step
    # Swing delays an off-beat: eighths by up to a sixth of a beat (a shuffle), sixteenths and thirty-seconds by up
    # to half their step, so the window of each off-beat reaches that much later.
    late = np.select([j % 8 == 4, j % 4 == 2, j % 2 == 1], [period / 6.0, period / 8.0, period / 16.0], 0.0)
    lo = np.clip(np.round(t - 2).astype(np.int64), 0, len(envelope) - 1)
    hi = np.clip(np.round(t + 2 + late).astype(np.int64) + 1, 1, len(envelope))
    peaks = np.array([envelope[a:b].max() for a, b in zip(lo, hi, strict=True)])
    eps = 1e-3 + 0.05 * float(peaks.max())

    def mean(mask: np.ndarray) -> float:
        return float(peaks[mask].mean()) if mask.any() else 0.0

    beat = mean(j % 8 == 0)
    return [float(np.log((mean(sel) + eps) / (beat + eps))) for sel in (j % 8 == 4, j % 4 == 2, j % 2 == 1)]


def features(rhythm: Rhythm, bpm: float) -> np.ndarray:
    """The :data:`FEATURES` of one candidate tempo.

    Per band (``all``, ``low``, ``mid``, ``high``): log ratio of the onset strength on the off-beat eighths,
    sixteenths and thirty-seconds to that on the beats. Then the autocorrelation at one and two beats, the comb
    score (:func:`periodicity`), log2(bpm / 120) and its square, how far the loop's length is from a whole number
    of 4-beat bars (0 to 0.5; 0.5 below one bar) and log2 of that number of bars and its square.
    """
    period = FRAME_RATE * 60.0 / bpm
    values: list[float] = []
    for band in _GRID_BANDS:
        values += _grid_levels(rhythm.envelopes[band], rhythm.start, period)
    acf_beat, acf_2beats = np.nan_to_num(_at(rhythm.acf, np.array([period, 2 * period])))
    log_bpm = float(np.log2(bpm / 120.0))
    bars = rhythm.duration * bpm / 240.0
    whole = round(bars)
    bars_off = abs(bars - whole) if whole >= 1 else 0.5
    log_bars = float(np.log2(max(bars, 0.25)))
    comb = float(periodicity(rhythm, bpm)[0])
    values += [float(acf_beat), float(acf_2beats), comb, log_bpm, log_bpm**2, bars_off, log_bars, log_bars**2]
    return np.asarray(values, dtype=np.float64)


def score(values: np.ndarray) -> float:
    """The ranker's score of a candidate's :func:`features` (higher: more likely the loop's tempo)."""
    return float(sum(WEIGHTS[name] * value for name, value in zip(FEATURES, values, strict=True)))


def candidate_tempi(rhythm: Rhythm, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM) -> list[float]:
    """Every octave inside ``[min_bpm, max_bpm]`` of the best :data:`FAMILY_PEAKS` periodicity peaks, refined to
    the comb's maximum and snapped to the loop's length (:func:`snap_to_length`)."""
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


def candidates(rhythm: Rhythm, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM) -> list[Candidate]:
    """The :func:`candidate_tempi` with their ranker scores, best first."""
    scored = [Candidate(bpm, score(features(rhythm, bpm))) for bpm in candidate_tempi(rhythm, min_bpm, max_bpm)]
    return sorted(scored, key=lambda c: -c.score)


def choose(found: list[Candidate]) -> float | None:
    """The best-scored candidate's tempo, or None without candidates."""
    return max(found, key=lambda c: c.score).bpm if found else None


def estimate_bpm(y: np.ndarray, sr: int, *, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM) -> float | None:
    """The tempo of a drum loop (mono signal ``y`` at ``sr`` Hz) in BPM, between ``min_bpm`` and ``max_bpm``, or
    None when the sound is too short or has no repeating rhythm."""
    if not 0 < min_bpm < max_bpm:
        raise ValueError(f"expected 0 < min_bpm < max_bpm, got {min_bpm} and {max_bpm}")
    rhythm = analyse(y, sr)
    if rhythm is None:
        return None
    bpm = choose(candidates(rhythm, min_bpm, max_bpm))
    return None if bpm is None else round(bpm, 2)


def estimate_bpm_file(
    path: str | os.PathLike[str], *, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM
) -> float | None:
    """:func:`estimate_bpm` of an audio file (decoded with :func:`drumsamp_models.audio.load`, whose errors it
    raises)."""
    return estimate_bpm(audio.load(path, sr=SAMPLE_RATE), SAMPLE_RATE, min_bpm=min_bpm, max_bpm=max_bpm)

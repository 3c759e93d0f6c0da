"""Near-duplicate sounds: the same recording under another name, whatever happened to its file.

A fingerprint (:func:`fingerprint`, 2 580 bytes) keeps what survives a change of gain, sample rate, lossy
re-encoding (MP3, OGG/Vorbis), bit depth or container (WAV, FLAC, AIFF), a mono mix and trimming of silence or
a few milliseconds at the start, and what differs between two recordings of one drum (velocity layers, round
robins): two 64 ms excerpts of the waveform at 16 kHz, one at the onset and one at the loudest sample, each
spectrally flattened (half-octave bands, square-root whitening) so that a kick's click weighs against its body;
the onset-aligned level envelope (16 ms frames, 8 s); the sound's length.

:func:`similarity` is the phase-insensitive correlation of the best-matching excerpts over lags of ±10 ms,
normalised over the part both files hold (a trimmed start is not held against a match), times an envelope
agreement factor; sounds whose lengths disagree are 0. :func:`find_duplicate_groups` joins the pairs at or
above a threshold into groups, comparing only pairs that pass a cheap prefilter: lengths that agree, and excerpts
whose magnitude spectra (which bound their correlation at any lag) are close. Figures: ``docs/evaluation.md``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soxr

__all__ = [
    "DEFAULT_THRESHOLD",
    "SAMPLE_RATE",
    "VERSION",
    "Fingerprinter",
    "duplicate_pairs",
    "duration",
    "find_duplicate_groups",
    "fingerprint",
    "groups_from_pairs",
    "similarity",
]

VERSION = 1
SAMPLE_RATE = 16_000
"""Fingerprints are taken at 16 kHz: the excerpts hold everything up to 8 kHz."""
DEFAULT_THRESHOLD = 0.96
"""Pairs at or above this similarity are duplicates (chosen on hydrogen kits, never on the benchmark's sounds)."""

EXCERPT = 1024  # samples per excerpt: 64 ms
PRE = 128  # samples of an excerpt before its anchor: 8 ms
MAX_LAG = 160  # alignment search: +-10 ms
MIN_OVERLAP = EXCERPT // 2  # samples both excerpts must hold at a lag for it to count
ONSET_DB = -30.0  # the onset: the first sample within 30 dB of the peak
END_DB = -50.0  # the length: from the first to the last 8 ms frame within 50 dB of the loudest frame
LENGTH_HOP = 128  # 8 ms
ENV_HOP = 256  # envelope frames: 16 ms
ENV_FRAMES = 512  # 8.2 s after the onset
ENV_FLOOR_DB = -40.0  # envelopes are compared above this level (relative to their own loudest frame)
ENV_FULL_DB = 2.0  # mean envelope difference (dB) up to which the factor is 1 ...
ENV_ZERO_DB = 6.0  # ... and from which it is 0
ENV_MIN_FRAMES = 8  # the mean is taken over at least 128 ms
BAND_EDGES = np.geomspace(25.0, SAMPLE_RATE / 2, 17)  # 16 half-octave bands
WHITEN_BETA = 0.5
WHITEN_FLOOR_DB = -40.0
MU = 255.0
LENGTH_RATIO = 1.5  # lengths further apart than this ratio ...
LENGTH_SLACK = 0.05  # ... and this many seconds are different sounds
BOUND_SKIP = 80  # prefilter: the excerpts' magnitude spectra leave out 5 ms after the anchor (a trimmed attack) ...
BOUND_MIN = 0.85  # ... and a pair is compared when the cosine of either excerpt's reaches this
BLOCK = 256  # sounds per block of the prefilter
BATCH = 256  # pairs scored at once

_HEADER = struct.Struct("<4sBBHfIHH")  # magic, version, flags, reserved, length (s), peak offset, valid x 2
_MAGIC = b"DSFP"
_EMPTY = 1  # flag: silent or empty signal, similar to nothing
_N_BANDS = len(BAND_EDGES) - 1
_SIZE = _HEADER.size + ENV_FRAMES + 2 * EXCERPT


@dataclass(frozen=True)
class _Parsed:
    """A batch of fingerprints: their header fields, and their bytes for what is decoded on demand."""

    raw: np.ndarray  # (n, _SIZE) uint8
    empty: np.ndarray  # (n,) bool
    length: np.ndarray  # (n,) seconds
    peak_offset: np.ndarray  # (n,) samples from the onset anchor to the peak anchor
    valid: np.ndarray  # (n, 2) leading samples of each excerpt that lie before the file's start


def _mu_encode(x: np.ndarray) -> np.ndarray:
    """Mu-law int8 of a signal scaled to a peak of 1."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak <= 0.0:
        return np.zeros(len(x), dtype=np.int8)
    y = np.sign(x) * np.log1p(MU * np.abs(x / peak)) / np.log1p(MU)
    return np.clip(np.rint(y * 127.0), -127, 127).astype(np.int8)


def _mu_decode(q: np.ndarray) -> np.ndarray:
    """The float32 signal of :func:`_mu_encode`'s bytes (up to its scale)."""
    y = q.astype(np.float32) / 127.0
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU).astype(np.float32)


def _band_power(segment: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segment's spectrum, its bins' frequencies and its mean power per band."""
    spectrum = np.fft.rfft(segment.astype(np.float64))
    freqs = np.fft.rfftfreq(len(segment), 1.0 / SAMPLE_RATE)
    power = np.abs(spectrum) ** 2
    which = np.clip(np.searchsorted(BAND_EDGES, freqs, side="right") - 1, 0, _N_BANDS - 1)
    counts = np.bincount(which, minlength=_N_BANDS)
    bands = np.bincount(which, weights=power, minlength=_N_BANDS) / np.maximum(counts, 1)
    return spectrum, freqs, bands


def _whiten(segment: np.ndarray) -> np.ndarray:
    """Divide the spectrum by the square root of its smoothed (half-octave) magnitude, floored at -40 dB."""
    spectrum, freqs, bands = _band_power(segment)
    centres = np.sqrt(BAND_EDGES[:-1] * BAND_EDGES[1:])
    magnitude = np.sqrt(np.interp(np.log(np.maximum(freqs, 1.0)), np.log(centres), bands))
    floor = max(float(magnitude.max()), 1e-12) * 10.0 ** (WHITEN_FLOOR_DB / 20.0)
    gain = 1.0 / np.maximum(magnitude, floor) ** WHITEN_BETA
    return np.fft.irfft(spectrum * gain, len(segment)).astype(np.float32)


def _segment(x: np.ndarray, anchor: int) -> tuple[np.ndarray, int]:
    """The ``EXCERPT`` samples from ``anchor - PRE`` (zeros before the file's start) and how many leading samples
    lie before the start."""
    start = anchor - PRE
    segment = np.zeros(EXCERPT, dtype=np.float32)
    lo, hi = max(start, 0), min(start + EXCERPT, len(x))
    segment[lo - start : hi - start] = x[lo:hi]
    return segment, lo - start


def _excerpt(segment: np.ndarray, valid: int) -> np.ndarray:
    """The whitened segment, zero before the file's start."""
    white = _whiten(segment)
    white[:valid] = 0.0
    return white


def _frames_db(x: np.ndarray, hop: int) -> np.ndarray:
    """Level per frame of ``hop`` samples in dB (the last frame zero-padded)."""
    n = -(-len(x) // hop)
    padded = np.zeros(n * hop, dtype=np.float32)
    padded[: len(x)] = x
    return 10.0 * np.log10(np.mean(padded.reshape(n, hop) ** 2, axis=1, dtype=np.float64) + 1e-12)


def _from_signal(x: np.ndarray) -> np.ndarray:
    """The fingerprint of a mono signal at ``SAMPLE_RATE``."""
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if not np.isfinite(peak) or peak <= 0.0:
        header = _HEADER.pack(_MAGIC, VERSION, _EMPTY, 0, 0.0, 0, 0, 0)
        return np.frombuffer(header + bytes(_SIZE - _HEADER.size), dtype=np.uint8).copy()
    x = (x / peak).astype(np.float32)
    onset = int(np.argmax(np.abs(x) >= 10.0 ** (ONSET_DB / 20.0)))
    loudest = int(np.argmax(np.abs(x)))
    levels = _frames_db(x, LENGTH_HOP)
    live = np.flatnonzero(levels >= levels.max() + END_DB)
    length = (live[-1] - live[0] + 1) * LENGTH_HOP / SAMPLE_RATE
    start = onset - ENV_HOP // 2
    window = np.zeros(ENV_HOP * ENV_FRAMES, dtype=np.float32)
    lo, hi = max(start, 0), min(start + len(window), len(x))
    window[lo - start : hi - start] = x[lo:hi]
    envelope = _frames_db(window, ENV_HOP)
    envelope_q = np.clip(np.rint(-2.0 * (envelope - envelope.max())), 0, 255).astype(np.uint8)
    onset_segment, valid_first = _segment(x, onset)
    loudest_segment, valid_second = _segment(x, loudest)
    first, second = _excerpt(onset_segment, valid_first), _excerpt(loudest_segment, valid_second)
    header = _HEADER.pack(_MAGIC, VERSION, 0, 0, float(length), loudest - onset, valid_first, valid_second)
    body = b"".join([header, envelope_q.tobytes(), _mu_encode(first).tobytes(), _mu_encode(second).tobytes()])
    return np.frombuffer(body, dtype=np.uint8).copy()


class Fingerprinter:
    """Builds a fingerprint from a signal that arrives block by block (``audio.scan(..., sink=...)``).

    Memory: the signal resampled to 16 kHz mono (64 kB per second), freed by :meth:`result`.
    """

    def __init__(self) -> None:
        self._stream: soxr.ResampleStream | None = None
        self._parts: list[np.ndarray] = []
        self._rate = 0

    def begin(self, samplerate: int) -> None:
        """Start (again) with a signal at ``samplerate`` Hz: anything fed before is dropped."""
        self._rate = int(samplerate)
        self._parts = []
        self._stream = None
        if self._rate != SAMPLE_RATE:
            self._stream = soxr.ResampleStream(self._rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def feed(self, mono: np.ndarray) -> None:
        """Add the next block of the mono signal (copied: the caller may reuse its array)."""
        if not self._rate:
            raise RuntimeError("Fingerprinter.feed() before begin()")
        block = np.asarray(mono, dtype=np.float32)
        if self._stream is None:
            self._parts.append(block.copy())
        else:
            self._parts.append(self._stream.resample_chunk(block, last=False))

    def result(self) -> np.ndarray:
        """The fingerprint of everything fed since :meth:`begin` (uint8 bytes; ``.tobytes()`` to store)."""
        if not self._rate:
            raise RuntimeError("Fingerprinter.result() before begin()")
        if self._stream is not None:
            self._parts.append(self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
        x = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.float32)
        self._parts, self._stream, self._rate = [], None, 0
        return _from_signal(x)


def fingerprint(y: np.ndarray, sr: int) -> np.ndarray:
    """The fingerprint of a signal: ``y`` (frames,) or (frames, channels) at ``sr`` Hz, channels mixed to mono.

    A uint8 array of about 2.6 kB; store ``.tobytes()`` and give the bytes (or the array) to :func:`similarity`.
    """
    signal = np.asarray(y, dtype=np.float32)
    if signal.ndim == 2:
        signal = signal.mean(axis=1, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError("fingerprint() needs a signal of shape (frames,) or (frames, channels)")
    builder = Fingerprinter()
    builder.begin(sr)
    builder.feed(signal)
    return builder.result()


def _as_array(fp: bytes | np.ndarray) -> np.ndarray:
    """A fingerprint as uint8, checked."""
    data = np.frombuffer(fp, dtype=np.uint8) if isinstance(fp, bytes | bytearray | memoryview) else np.asarray(fp)
    if data.dtype != np.uint8 or data.ndim != 1 or len(data) != _SIZE or data[:4].tobytes() != _MAGIC:
        raise ValueError(f"not a duplicates fingerprint of version {VERSION} ({_SIZE} bytes starting {_MAGIC!r})")
    if data[4] != VERSION:
        raise ValueError(f"fingerprint version {data[4]}, this is version {VERSION}: compute it again")
    return data


def duration(fp: bytes | np.ndarray) -> float:
    """The sound's length in the fingerprint: seconds from its first to its last 8 ms within 50 dB of its loudest."""
    return float(_HEADER.unpack(_as_array(fp)[: _HEADER.size].tobytes())[4])


_FIELDS = np.dtype(
    [
        ("magic", "S4"),
        ("version", "u1"),
        ("flags", "u1"),
        ("reserved", "<u2"),
        ("length", "<f4"),
        ("peak_offset", "<u4"),
        ("valid", "<u2", (2,)),
    ]
)
_ENV_AT = _HEADER.size
_EXCERPTS_AT = _ENV_AT + ENV_FRAMES


def _parse(fps: Sequence[bytes | np.ndarray]) -> _Parsed:
    """Check fingerprints and read their headers."""
    raw = np.stack([_as_array(fp) for fp in fps]) if len(fps) else np.zeros((0, _SIZE), dtype=np.uint8)
    head = np.ascontiguousarray(raw[:, : _HEADER.size]).view(_FIELDS)[:, 0]
    return _Parsed(
        raw=raw,
        empty=(head["flags"] & _EMPTY).astype(bool),
        length=head["length"].astype(np.float64),
        peak_offset=head["peak_offset"].astype(np.int64),
        valid=head["valid"].astype(np.int64).reshape(-1, 2),
    )


def _excerpts(p: _Parsed, rows: np.ndarray, k: int) -> np.ndarray:
    """Excerpt ``k`` (0: onset, 1: loudest sample) of the fingerprints ``rows``: (len(rows), EXCERPT), unit norm."""
    at = _EXCERPTS_AT + k * EXCERPT
    excerpts = _mu_decode(p.raw[rows, at : at + EXCERPT].view(np.int8))
    return excerpts / np.maximum(np.linalg.norm(excerpts, axis=1, keepdims=True), 1e-12)


def _envelopes(p: _Parsed, rows: np.ndarray) -> np.ndarray:
    """The onset-aligned envelopes (dB below their loudest frame) of the fingerprints ``rows``."""
    return -0.5 * p.raw[rows, _ENV_AT : _ENV_AT + ENV_FRAMES].astype(np.float32)


def _lengths_agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether lengths (seconds) could be one sound's: within ``LENGTH_RATIO`` or ``LENGTH_SLACK`` of each other."""
    longer, shorter = np.maximum(a, b), np.minimum(a, b)
    return (longer <= LENGTH_RATIO * shorter) | (longer - shorter <= LENGTH_SLACK)


_LAGS = np.arange(-MAX_LAG, MAX_LAG + 1)


def _excerpt_scores(p: _Parsed, i: np.ndarray, j: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best normalised phase-insensitive correlation of excerpt ``k`` of pairs (i, j) over the lags, and its lag."""
    size = 2 * EXCERPT
    ui, at_i = np.unique(i, return_inverse=True)
    uj, at_j = np.unique(j, return_inverse=True)
    xa, xb = _excerpts(p, ui, k), _excerpts(p, uj, k)
    cross = np.zeros((len(i), size), dtype=np.complex64)
    np.multiply(np.fft.rfft(xa, size)[at_i], np.conj(np.fft.rfft(xb, size))[at_j], out=cross[:, : size // 2 + 1])
    cross[:, 1 : size // 2] *= 2.0  # one-sided: the inverse is the analytic signal of the correlation
    envelope = np.abs(np.fft.ifft(cross, axis=1)[:, _LAGS % size])  # [tau]: sum_m a[m + tau] b[m]
    ca = np.zeros((len(ui), EXCERPT + 1))
    cb = np.zeros((len(uj), EXCERPT + 1))
    np.cumsum(xa.astype(np.float64) ** 2, axis=1, out=ca[:, 1:])
    np.cumsum(xb.astype(np.float64) ** 2, axis=1, out=cb[:, 1:])
    va, vb = p.valid[i, k][:, None], p.valid[j, k][:, None]
    lo = np.maximum(va, vb + _LAGS)
    hi = np.maximum(np.minimum(EXCERPT, EXCERPT + _LAGS), lo)
    ra, rb = at_i[:, None], at_j[:, None]
    ea = ca[ra, hi] - ca[ra, lo]
    eb = cb[rb, hi - _LAGS] - cb[rb, lo - _LAGS]
    score = envelope / np.sqrt(np.maximum(ea * eb, 1e-24))
    score[(hi - lo < MIN_OVERLAP) | (ea <= 0) | (eb <= 0)] = 0.0
    best = np.argmax(score, axis=1)
    return np.minimum(score[np.arange(len(i)), best], 1.0), _LAGS[best]


def _envelope_factor(p: _Parsed, i: np.ndarray, j: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """1 when the onset-aligned envelopes of pairs (i, j) agree within ``ENV_FULL_DB`` after the best gain, 0 from
    ``ENV_ZERO_DB``; ``shift`` (samples) aligns them: i's envelope at t + shift is j's at t (+-1 frame searched).

    Frames where either envelope is above ``ENV_FLOOR_DB`` count, a frame beyond the other's end as a miss; the
    mean difference is taken over at least ``ENV_MIN_FRAMES`` frames, so that a short sound's one noisy frame (a
    codec's pre-echo) does not decide."""
    frames = np.clip(np.rint(shift / ENV_HOP).astype(np.int64), -ENV_FRAMES, ENV_FRAMES)
    reach = int(np.abs(frames).max()) + 1 if len(frames) else 1
    t = np.arange(-reach, ENV_FRAMES + reach)[None, :]
    floor = ENV_FLOOR_DB - 1.0
    rows = np.arange(len(i))[:, None]
    env_i, env_j = _envelopes(p, i), _envelopes(p, j)
    b = np.where((t >= 0) & (t < ENV_FRAMES), env_j[:, t[0] % ENV_FRAMES], floor)
    best = np.full(len(i), np.inf)
    for extra in (-1, 0, 1):
        ia = t + (frames + extra)[:, None]
        a = np.where((ia >= 0) & (ia < ENV_FRAMES), env_i[rows, ia % ENV_FRAMES], floor)
        both = (a > ENV_FLOOR_DB) & (b > ENV_FLOOR_DB)
        diff = np.where(both, a - b, np.nan)
        offset = np.nan_to_num(np.nanmedian(np.where(both.any(axis=1)[:, None], diff, 0.0), axis=1))
        ca = np.maximum(a, ENV_FLOOR_DB)
        cb = np.maximum(b + offset[:, None], ENV_FLOOR_DB)
        used = (ca > ENV_FLOOR_DB) | (cb > ENV_FLOOR_DB)
        mean = np.sum(np.abs(ca - cb) * used, axis=1) / np.maximum(used.sum(axis=1), ENV_MIN_FRAMES)
        best = np.minimum(best, np.where(both.any(axis=1), mean, np.inf))
    return np.clip((ENV_ZERO_DB - best) / (ENV_ZERO_DB - ENV_FULL_DB), 0.0, 1.0)


def _pair_similarity(
    p: _Parsed, i: np.ndarray, j: np.ndarray, excerpts: tuple[np.ndarray, np.ndarray] | None = None, floor: float = 0.0
) -> np.ndarray:
    """:func:`similarity` of the pairs (i[k], j[k]) of a parsed batch.

    ``excerpts``: which pairs to compare by their onset and by their loudest-sample excerpts (default: all);
    pairs whose waveform score stays below ``floor`` keep that score (no envelope comparison)."""
    out = np.zeros(len(i))
    ok = ~p.empty[i] & ~p.empty[j] & _lengths_agree(p.length[i], p.length[j])
    scores = np.zeros((2, len(i)))
    lags = np.zeros((2, len(i)), dtype=np.int64)
    for k in (0, 1):
        use = ok if excerpts is None else ok & excerpts[k]
        if use.any():
            scores[k, use], lags[k, use] = _excerpt_scores(p, i[use], j[use], k)
    use_peak = scores[1] > scores[0]
    wave = np.maximum(scores[0], scores[1])
    # a[m + lag] matches b[m] in excerpts starting PRE before their anchors: a's onset-anchored envelope at t + shift
    # is b's at t, shift = lag + (peak - onset)_a - (peak - onset)_b for the loudest-sample excerpts.
    shift = np.where(use_peak, lags[1] + p.peak_offset[i] - p.peak_offset[j], lags[0])
    judge = ok & (wave > 0.0) & (wave >= floor)
    out[ok] = wave[ok]
    if judge.any():
        out[judge] = wave[judge] * _envelope_factor(p, i[judge], j[judge], shift[judge])
    return out


def similarity(a: bytes | np.ndarray, b: bytes | np.ndarray) -> float:
    """How surely two fingerprints are one recording, from 0 to 1 (at least ``DEFAULT_THRESHOLD``: duplicates)."""
    parsed = _parse([a, b])
    return float(_pair_similarity(parsed, np.array([0]), np.array([1]))[0])


def _magnitudes(p: _Parsed) -> np.ndarray:
    """(n, 3, bins) float16 unit-norm magnitude spectra of the onset excerpt, of the onset excerpt without its first
    ``BOUND_SKIP`` samples after the anchor (a trimmed attack), and of the loudest-sample excerpt: the cosine of two
    bounds (about) their correlation at any lag, so it prefilters."""
    n = len(p.length)
    mags = np.zeros((n, 3, EXCERPT // 2 + 1), dtype=np.float16)
    for start in range(0, n, 1024):
        rows = np.arange(start, min(n, start + 1024))
        onset, loudest = _excerpts(p, rows, 0), _excerpts(p, rows, 1)
        trimmed = onset.copy()
        trimmed[:, : PRE + BOUND_SKIP] = 0.0
        part = np.abs(np.fft.rfft(np.stack([onset, trimmed, loudest], axis=1), axis=2))
        mags[rows] = part / np.maximum(np.linalg.norm(part, axis=2, keepdims=True), 1e-12)
    return mags


def _candidates(p: _Parsed) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs (i < j) worth comparing: lengths that agree and an excerpt whose magnitude spectra's cosine reaches
    ``BOUND_MIN``; with, per pair, which of the two excerpts reached it."""
    n = len(p.length)
    order = np.argsort(p.length, kind="stable")
    lengths = p.length[order]
    # Sorted by length, the partners of position q lie in (q, limit[q]).
    limit = np.searchsorted(lengths, np.maximum(lengths * LENGTH_RATIO, lengths + LENGTH_SLACK), side="right")
    live = ~p.empty[order]
    mags = _magnitudes(p)[order]
    found: list[tuple[np.ndarray, ...]] = []
    for q0 in range(0, n, BLOCK):
        q1 = min(n, q0 + BLOCK)
        end = int(limit[q0:q1].max())
        if end <= q0 + 1:
            continue
        block = mags[q0:q1].astype(np.float32)
        window = mags[q0 + 1 : end].astype(np.float32)
        near = [block[:, k] @ window[:, k].T for k in range(3)]
        onset = np.maximum(near[0], near[1]) >= BOUND_MIN
        loudest = near[2] >= BOUND_MIN
        q = np.arange(q0, q1)[:, None]
        r = np.arange(q0 + 1, end)[None, :]
        mask = (r > q) & (r < limit[q0:q1, None]) & live[q0:q1, None] & live[None, q0 + 1 : end] & (onset | loudest)
        qi, ri = np.nonzero(mask)
        found.append((qi + q0, ri + q0 + 1, onset[qi, ri], loudest[qi, ri]))
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty.astype(bool), empty.astype(bool)
    qi, ri, first, second = (np.concatenate(parts) for parts in zip(*found, strict=True))
    i, j = order[qi], order[ri]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    sort = np.lexsort((hi, lo))
    return lo[sort], hi[sort], first[sort], second[sort]


def duplicate_pairs(
    fingerprints: Sequence[bytes | np.ndarray], threshold: float = DEFAULT_THRESHOLD
) -> list[tuple[int, int, float]]:
    """Every pair ``(i, j, similarity)`` with ``i < j`` at or above ``threshold``, most similar first."""
    parsed = _parse(fingerprints)
    ci, cj, first, second = _candidates(parsed)
    out: list[tuple[int, int, float]] = []
    for start in range(0, len(ci), BATCH):
        part = slice(start, start + BATCH)
        i, j = ci[part], cj[part]
        scores = _pair_similarity(parsed, i, j, (first[part], second[part]), floor=threshold)
        keep = scores >= threshold
        out.extend(zip(i[keep].tolist(), j[keep].tolist(), scores[keep].tolist(), strict=True))
    out.sort(key=lambda t: (-t[2], t[0], t[1]))
    return out


def groups_from_pairs(n: int, pairs: Sequence[tuple[int, int, float]]) -> list[tuple[list[int], float]]:
    """Connected components of ``n`` items joined by ``pairs``: ``(members, similarity)`` for each group of two or
    more, ``similarity`` being its weakest joining pair (that of the last join when pairs are taken most similar
    first); most similar groups first, members in index order."""
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    weakest: dict[int, float] = {}
    for i, j, score in sorted(pairs, key=lambda t: -t[2]):
        ri, rj = root(i), root(j)
        if ri == rj:
            continue
        parent[rj] = ri
        weakest[ri] = min(score, weakest.pop(ri, score), weakest.pop(rj, score))
    members: dict[int, list[int]] = {}
    for x in range(n):
        members.setdefault(root(x), []).append(x)
    groups = [(items, weakest[r]) for r, items in members.items() if len(items) > 1]
    groups.sort(key=lambda g: (-g[1], g[0][0]))
    return groups


def find_duplicate_groups(
    fingerprints: Sequence[bytes | np.ndarray], threshold: float = DEFAULT_THRESHOLD
) -> list[list[int]]:
    """Groups (indices into ``fingerprints``) of sounds joined by pairs at or above ``threshold``; groups of two or
    more, the most similar first."""
    return [items for items, _ in groups_from_pairs(len(fingerprints), duplicate_pairs(fingerprints, threshold))]

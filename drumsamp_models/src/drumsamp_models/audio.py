"""Audio decoding: any file libsndfile reads (WAV, AIFF, FLAC, OGG/Vorbis, MP3, ...) to mono float32.

Every failure is raised as a subclass of :class:`~drumsamp_models.errors.AudioError` that names the
file and the reason; no decoder traceback escapes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import soundfile as sf
import soxr

from .errors import (
    AudioError,
    AudioTooLongError,
    EmptyAudioError,
    NotAudioError,
    SampleRateTooHighError,
    SilentAudioError,
    TooManyChannelsError,
    UnreadableAudioError,
)

__all__ = [
    "DEFAULT_MAX_DURATION",
    "DEFAULT_MAX_SAMPLERATE",
    "AudioInfo",
    "BlockSink",
    "ScanResult",
    "describe_error",
    "info",
    "load",
    "load_with_rate",
    "peaks",
    "resample",
    "scan",
    "to_mono",
]

DEFAULT_MAX_DURATION = 60.0
"""Longest accepted file, in seconds."""
DEFAULT_MAX_CHANNELS = 8
DEFAULT_MAX_SAMPLERATE = 384000
"""Highest accepted sample rate, in Hz; checked from the header before any decoding."""
DEFAULT_SILENCE_DB = -90.0
"""A file whose peak stays below this level (about one 16-bit LSB) is digital silence."""

# First bytes of the containers we expect; a file starting with one of these that libsndfile cannot
# open is corrupt, anything else is "not audio".
_AUDIO_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"RIFF", "WAV"),
    (b"RF64", "WAV (RF64)"),
    (b"FORM", "AIFF"),
    (b"fLaC", "FLAC"),
    (b"OggS", "OGG"),
    (b"ID3", "MP3"),
    (b"\xff\xfb", "MP3"),
    (b"\xff\xf3", "MP3"),
    (b"\xff\xf2", "MP3"),
)
# libsndfile's report on a header whose data chunk is longer than the file: "data : 88200 (should be 44078)".
_SHORT_CHUNK = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# Sizes that streaming writers leave in a header they never finalise: not a truncation.
_PLACEHOLDER_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 7}
# MP3 frame counts in headers are estimates; below this share of the announced length we call it truncated.
_MP3_MIN_SHARE = 0.9
_SUPPORTED = "WAV, AIFF, FLAC, OGG/Vorbis or MP3"
# Frames decoded at a time: beyond the mono output, decoding holds one block of this many frames x channels.
_BLOCK_FRAMES = 65536
# Without a duration limit, most frames of mono output allocated on the header's word alone; more grow as decoded.
_MAX_PREALLOC = 1 << 24


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says about it."""

    path: str
    samplerate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        """Length in seconds according to the header."""
        return self.frames / self.samplerate if self.samplerate else 0.0


@dataclass(frozen=True)
class ScanResult(AudioInfo):
    """A file's header plus what a full decode found: the frames decoded and the mono signal's peak (linear).

    ``peaks`` holds, for each bucket count asked of :func:`scan`, the (count, 2) float32 ``[min, max]`` pairs of
    the mono signal at the file's own rate, exactly as :func:`peaks` computes them from the decoded signal.
    """

    decoded_frames: int
    peak: float
    peaks: Mapping[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @property
    def decoded_duration(self) -> float:
        """Length in seconds of the decoded signal."""
        return self.decoded_frames / self.samplerate if self.samplerate else 0.0


class BlockSink(Protocol):
    """Receives the mono signal that :func:`scan` decodes, block by block (e.g. ``duplicates.Fingerprinter``)."""

    def begin(self, samplerate: int) -> None:
        """A decode at ``samplerate`` Hz starts: forget anything fed before (a file may be decoded twice)."""

    def feed(self, mono: np.ndarray) -> None:
        """The next block of the mono signal; the array is reused afterwards (copy what you keep)."""


def _sniff(path: str) -> str | None:
    """Container name guessed from the first bytes, or None if it looks like no audio format."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return None
    for magic, name in _AUDIO_MAGIC:
        if head.startswith(magic):
            return name
    return None


def _open(path: str) -> sf.SoundFile:
    """Open with libsndfile, translating its failures into our error classes."""
    if not os.path.exists(path):
        raise UnreadableAudioError(path, "no such file")
    if os.path.isdir(path):
        raise UnreadableAudioError(path, "is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        raise UnreadableAudioError(path, "permission denied")
    if os.path.getsize(path) == 0:
        raise EmptyAudioError(path, "file is empty (0 bytes)")
    try:
        return sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = str(exc).split(":", 1)[-1].strip() or "unknown decoder error"
        container = _sniff(path)
        if container is None:
            raise NotAudioError(path, f"not a supported audio file (expected {_SUPPORTED})") from None
        raise UnreadableAudioError(path, f"corrupt {container} file ({detail})") from None


def _check_header(path: str, snd: sf.SoundFile) -> None:
    """Reject headers announcing more audio data than the file holds (a truncated upload)."""
    if snd.format not in ("WAV", "WAVEX", "AIFF", "RF64", "W64"):
        return
    try:
        extra = snd.extra_info
    except Exception:  # pragma: no cover - libsndfile without the command
        return
    for declared, actual in _SHORT_CHUNK.findall(extra):
        if int(declared) not in _PLACEHOLDER_SIZES and int(actual) < int(declared):
            raise UnreadableAudioError(
                path, f"truncated {snd.format} file: header announces {declared} bytes of audio, file holds {actual}"
            )


def _ogg_ends_stream(path: str) -> bool:
    """True when the file's last Ogg page is whole: it carries the end-of-stream flag, or its header, segment
    table and body end exactly at the end of the file.

    Some encoders never set the flag (KDE's kapman ships such files): a whole last page is enough. A file cut
    inside a page fails; one cut exactly between two pages cannot be told from a complete one and decodes to a
    shorter sound.
    """
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    pos = tail.rfind(b"OggS")
    if pos < 0 or pos + 27 > len(tail):
        return False
    if tail[pos + 5] & 0x04:
        return True
    segments = tail[pos + 26]
    table = tail[pos + 27 : pos + 27 + segments]
    return len(table) == segments and pos + 27 + segments + sum(table) == len(tail)


def info(path: str | os.PathLike[str]) -> AudioInfo:
    """Read a file's header (no decoding); raises :class:`AudioError` subclasses."""
    p = os.fspath(path)
    with _open(p) as snd:
        _check_header(p, snd)
        return AudioInfo(p, snd.samplerate, snd.channels, snd.frames, snd.format, snd.subtype)


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average the channels of a (frames, channels) array into one float32 channel."""
    if y.ndim == 1:
        return y.astype(np.float32, copy=False)
    if y.shape[1] == 1:
        return np.ascontiguousarray(y[:, 0], dtype=np.float32)
    return y.mean(axis=1, dtype=np.float32)


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample with soxr at high quality (librosa's default, ``soxr_hq``)."""
    if orig_sr == target_sr:
        return y
    return soxr.resample(y, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def _check_limits(
    p: str, snd: sf.SoundFile, max_duration: float | None, max_channels: int, max_samplerate: int | None
) -> None:
    """Refuse, from the header alone, too many channels, too long a file, too high a rate or too many samples."""
    native_sr, channels, frames = snd.samplerate, snd.channels, snd.frames
    if channels > max_channels:
        raise TooManyChannelsError(p, f"{channels} channels, at most {max_channels} accepted")
    if max_duration is not None and frames / native_sr > max_duration and snd.format != "MP3":
        raise AudioTooLongError(p, f"{frames / native_sr:.1f} s long; the accepted maximum is {max_duration:g} s")
    if max_samplerate is not None and native_sr > max_samplerate:
        raise SampleRateTooHighError(p, f"sample rate {native_sr} Hz; the accepted maximum is {max_samplerate} Hz")
    if max_duration is not None and max_samplerate is not None:
        budget = max_duration * max_samplerate * max_channels
        if frames * channels > budget:
            raise AudioTooLongError(
                p,
                f"header announces {frames} frames x {channels} channels, more samples than {max_duration:g} s"
                f" at {max_samplerate} Hz x {max_channels} channels; the accepted maximum is {max_duration:g} s",
            )


def _bucket_starts(length: int, count: int) -> np.ndarray:
    """First frame of each of ``count`` equal buckets of ``length`` frames: ``i * length // count``."""
    return (np.arange(count, dtype=np.int64) * length) // count


def peaks(y: np.ndarray, n: int) -> np.ndarray:
    """Min and max of a signal over ``n`` equal time buckets: a (n, 2) float32 array of ``[min, max]`` rows.

    ``y`` is a mono signal (frames,) or a (frames, channels) array, mixed down as :func:`to_mono` does. Bucket
    ``i`` covers the frames ``[i * len // n, (i + 1) * len // n)``; a bucket that covers no frame (only when the
    signal has fewer than ``n`` frames) takes the value of the frame at its start, ``i * len // n``, so that there
    are always ``n`` rows and each lies where its bucket lies in time.
    """
    mono = to_mono(np.asarray(y))
    if mono.ndim != 1 or len(mono) == 0:
        raise ValueError("peaks() needs a non-empty signal of shape (frames,) or (frames, channels)")
    if n < 1:
        raise ValueError(f"peaks() needs at least one bucket, not {n}")
    starts = _bucket_starts(len(mono), n)
    # reduceat reduces [starts[i], starts[i + 1]) and, where starts[i] == starts[i + 1], gives mono[starts[i]].
    return np.stack([np.minimum.reduceat(mono, starts), np.maximum.reduceat(mono, starts)], axis=1)


def _peak_counts(n: int | Sequence[int]) -> tuple[int, ...]:
    """The bucket counts asked of :func:`scan`, checked: each a positive integer."""
    counts = tuple(n) if isinstance(n, Sequence) else (n,)
    if counts == (0,):
        return ()
    for count in counts:
        if not isinstance(count, int | np.integer) or isinstance(count, bool) or count < 1:
            raise ValueError(f"peaks must be positive bucket counts, not {n!r}")
    return tuple(dict.fromkeys(int(c) for c in counts))


class _PeakTracker:
    """:func:`peaks` of a mono signal of ``length`` frames that arrives block by block, for several counts at once.

    Memory is the buckets themselves: each block is split at the bucket edges that fall in it and folded into
    the running min and max of the buckets it touches. ``result`` is exact only if exactly ``length`` frames came.
    """

    def __init__(self, counts: tuple[int, ...], length: int) -> None:
        self.length = length
        self.fed = 0
        self.starts = [_bucket_starts(length, count) for count in counts]
        self.mins = [np.full(count, np.inf, dtype=np.float32) for count in counts]
        self.maxs = [np.full(count, -np.inf, dtype=np.float32) for count in counts]

    def feed(self, mono: np.ndarray) -> None:
        """Fold in the next ``len(mono)`` frames."""
        s, m = self.fed, len(mono)
        self.fed += m
        if m == 0 or self.fed > self.length:  # more frames than expected: result() will say it is not exact
            return
        for starts, mins, maxs in zip(self.starts, self.mins, self.maxs, strict=True):
            first = int(np.searchsorted(starts, s, side="left"))  # the first bucket starting in this block ...
            if first == len(starts) or starts[first] > s:
                first -= 1  # ... or the one running on from the previous block
            end = int(np.searchsorted(starts, s + m, side="left"))
            local = starts[first:end] - s
            local[0] = max(local[0], 0)
            np.minimum(mins[first:end], np.minimum.reduceat(mono, local), out=mins[first:end])
            np.maximum(maxs[first:end], np.maximum.reduceat(mono, local), out=maxs[first:end])

    def result(self) -> dict[int, np.ndarray] | None:
        """``{count: (count, 2) pairs}``, or None when the frames fed were not exactly ``length``."""
        if self.fed != self.length:
            return None
        return {len(a): np.stack([a, b], axis=1) for a, b in zip(self.mins, self.maxs, strict=True)}


def _not_seekable() -> bool:
    """Stand-in for ``SoundFile.seekable`` while :func:`_blocks` reads a file as a stream."""
    return False


def _blocks(p: str, snd: sf.SoundFile, limit: int) -> Iterator[np.ndarray]:
    """Decode ``snd`` as float32 (frames, channels) blocks of at most ``_BLOCK_FRAMES`` frames.

    Stops after ``limit`` frames (-1: no limit) and, in a seekable file, at the header's frame count, as one
    ``SoundFile.read`` would. The yielded array is reused for the next block: copy what you keep.
    """
    todo = limit
    if snd.seekable():
        remaining = max(0, snd.frames - snd.tell())
        todo = remaining if todo < 0 else min(todo, remaining)
    # SoundFile.read() seeks to the position it has just reached after every call of a seekable file. In an MP3 that
    # re-seeks the decoder (mpg123 seeks approximately: the next samples move by ~1e-7), in a damaged FLAC the seek
    # itself fails: read on as from a stream, so that the blocks are exactly one read of the whole file.
    snd.seekable = _not_seekable  # type: ignore[method-assign]
    block = np.empty((_BLOCK_FRAMES if todo < 0 else min(_BLOCK_FRAMES, todo), snd.channels), dtype=np.float32)
    while todo != 0:
        want = len(block) if todo < 0 else min(len(block), todo)
        try:
            data = snd.read(want, dtype="float32", always_2d=True, out=block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            detail = str(exc).split(":", 1)[-1].strip()
            raise UnreadableAudioError(p, f"corrupt or truncated {snd.format} data ({detail})") from None
        if len(data):
            yield data
        if len(data) < want:  # libsndfile only reads short at the end of the stream
            return
        if todo > 0:
            todo -= want


def _mix_into(block: np.ndarray, out: np.ndarray) -> None:
    """Write the mono down-mix of a (frames, channels) float32 block into ``out``, bit for bit as :func:`to_mono`."""
    if block.shape[1] == 1:
        out[:] = block[:, 0]
    else:
        np.mean(block, axis=1, dtype=np.float32, out=out)


def _decode(
    path: str | os.PathLike[str],
    *,
    keep: bool,
    max_duration: float | None,
    max_channels: int,
    max_samplerate: int | None,
    silence_db: float | None,
    peak_counts: tuple[int, ...] = (),
    length: int | None = None,
    sink: BlockSink | None = None,
) -> tuple[np.ndarray | None, ScanResult]:
    """Check and decode ``path`` block by block; the mono signal at the file's rate is kept only if ``keep``.

    Memory is the mono output (when kept) plus one block, whatever the header claims, plus the ``peak_counts``
    buckets. Their edges come from the header's length, which the decode reaches unless the stream ends early
    (decoding stops at the header's count): then the file is decoded once more with the edges of the length
    found (``length``), so that the peaks are always exactly those of the decoded signal.
    """
    p = os.fspath(path)
    with _open(p) as snd:
        _check_header(p, snd)
        _check_limits(p, snd, max_duration, max_channels, max_samplerate)
        native_sr, channels, frames, fmt, subtype = snd.samplerate, snd.channels, snd.frames, snd.format, snd.subtype
        limit = -1 if max_duration is None else int(max_duration * native_sr) + 1
        expected = max(0, frames) if limit < 0 else min(max(0, frames), limit)
        # The mono output (only if kept), sized from the header within the limit; scan() mixes into a scratch block.
        y = np.empty((expected if limit >= 0 else min(expected, _MAX_PREALLOC)) if keep else 0, dtype=np.float32)
        scratch = np.empty(0, dtype=np.float32)
        tracker = _PeakTracker(peak_counts, expected if length is None else length) if peak_counts else None
        if sink is not None:
            sink.begin(native_sr)
        n, finite, peak = 0, True, 0.0
        for block in _blocks(p, snd, limit):
            m = len(block)
            if keep and n + m > len(y):  # more frames than preallocated: grow, never beyond the limit
                grown = max(n + m, 2 * len(y), _BLOCK_FRAMES)
                y.resize(grown if limit < 0 else min(grown, limit), refcheck=False)  # no view of y is alive here
            if not keep and len(scratch) < m:
                scratch = np.empty(m, dtype=np.float32)
            dest = y[n : n + m] if keep else scratch[:m]
            _mix_into(block, dest)
            finite = finite and bool(np.isfinite(block).all())
            if finite:
                peak = max(peak, float(dest.max()), -float(dest.min()))
            if tracker is not None:
                tracker.feed(dest)
            if sink is not None:
                sink.feed(dest)
            del dest
            n += m
    if max_duration is not None and n >= limit:
        raise AudioTooLongError(p, f"longer than {max_duration:g} s; the accepted maximum is {max_duration:g} s")
    if n == 0:
        raise EmptyAudioError(p, "no audio samples could be decoded (empty or truncated file)")
    if fmt == "MP3" and frames > 0 and n < _MP3_MIN_SHARE * frames:
        raise UnreadableAudioError(p, f"truncated MP3 file: {n} of {frames} announced samples decoded")
    if fmt == "OGG" and not _ogg_ends_stream(p):
        raise UnreadableAudioError(p, "truncated OGG file: the stream's last page is missing")
    if not finite:
        raise UnreadableAudioError(p, "corrupt audio data (NaN or infinite samples)")
    if silence_db is not None and peak < 10.0 ** (silence_db / 20.0):
        raise SilentAudioError(p, f"digital silence (peak below {silence_db:g} dBFS)")
    found_peaks: dict[int, np.ndarray] = {}
    if tracker is not None:
        exact = tracker.result()
        if exact is None and length is not None:
            raise UnreadableAudioError(p, f"corrupt {fmt} data: decodes to {n} frames once and {length} once")
        if exact is None:  # the stream ended before the header's length: again, with the edges of n frames
            kw = {"max_duration": max_duration, "max_channels": max_channels, "max_samplerate": max_samplerate}
            return _decode(p, keep=keep, silence_db=silence_db, peak_counts=peak_counts, length=n, sink=sink, **kw)
        found_peaks = exact
    if keep and len(y) != n:
        y.resize(n, refcheck=False)
    result = ScanResult(p, native_sr, channels, frames, fmt, subtype, n, peak, found_peaks)
    return (y if keep else None), result


def load(
    path: str | os.PathLike[str],
    sr: int | None = 22050,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    max_channels: int = DEFAULT_MAX_CHANNELS,
    max_samplerate: int | None = DEFAULT_MAX_SAMPLERATE,
    silence_db: float | None = DEFAULT_SILENCE_DB,
) -> np.ndarray:
    """Decode ``path`` to a mono float32 signal at ``sr`` Hz (``None`` keeps the file's rate).

    Raises an :class:`~drumsamp_models.errors.AudioError` subclass naming the file when it is
    missing, corrupt or truncated, not audio, empty or silent, longer than ``max_duration``
    seconds, has more than ``max_channels`` channels or a sample rate above ``max_samplerate`` Hz.
    Decoding goes block by block: memory is the mono output plus one block.
    """
    return load_with_rate(
        path,
        sr,
        max_duration=max_duration,
        max_channels=max_channels,
        max_samplerate=max_samplerate,
        silence_db=silence_db,
    )[0]


def load_with_rate(
    path: str | os.PathLike[str],
    sr: int | None = 22050,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    max_channels: int = DEFAULT_MAX_CHANNELS,
    max_samplerate: int | None = DEFAULT_MAX_SAMPLERATE,
    silence_db: float | None = DEFAULT_SILENCE_DB,
) -> tuple[np.ndarray, int]:
    """Like :func:`load`, also returning the rate of the signal (``sr`` or the file's own)."""
    y, found = _decode(
        path,
        keep=True,
        max_duration=max_duration,
        max_channels=max_channels,
        max_samplerate=max_samplerate,
        silence_db=silence_db,
    )
    assert y is not None
    target = found.samplerate if sr is None else sr
    return resample(y, found.samplerate, target), target


def scan(
    path: str | os.PathLike[str],
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    max_channels: int = DEFAULT_MAX_CHANNELS,
    max_samplerate: int | None = DEFAULT_MAX_SAMPLERATE,
    silence_db: float | None = DEFAULT_SILENCE_DB,
    peaks: int | Sequence[int] = (),
    sink: BlockSink | None = None,
) -> ScanResult:
    """Run every check of :func:`load` (same errors) by decoding the whole file, without keeping the signal.

    Memory is one block, whatever the file; the result is the header plus the decoded length and mono peak.
    ``peaks`` (a bucket count or several, e.g. ``(1000, 64)``) also gives ``result.peaks[count]``: the (count, 2)
    ``[min, max]`` pairs of the mono signal at the file's rate, equal to ``peaks(load(path, sr=None), count)``,
    computed while decoding (memory: the buckets). A stream shorter than its header announces is decoded twice.
    ``sink`` (a :class:`BlockSink`) receives the mono signal at the file's rate as it is decoded (its own memory).
    """
    return _decode(
        path,
        keep=False,
        max_duration=max_duration,
        max_channels=max_channels,
        max_samplerate=max_samplerate,
        silence_db=silence_db,
        peak_counts=_peak_counts(peaks),
        sink=sink,
    )[1]


def describe_error(exc: BaseException) -> str:
    """One line for a report: the reason of an :class:`AudioError`, or the exception's text."""
    if isinstance(exc, AudioError):
        return exc.reason
    return f"{type(exc).__name__}: {exc}"

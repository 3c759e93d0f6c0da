"""Audio decoding: any file libsndfile reads (WAV, AIFF, FLAC, OGG/Vorbis, MP3, ...) to mono float32.

Every failure is raised as a subclass of :class:`~drumsamp_models.errors.AudioError` that names the
file and the reason; no decoder traceback escapes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from .errors import (
    AudioError,
    AudioTooLongError,
    EmptyAudioError,
    NotAudioError,
    SilentAudioError,
    TooManyChannelsError,
    UnreadableAudioError,
)

__all__ = [
    "DEFAULT_MAX_DURATION",
    "AudioInfo",
    "describe_error",
    "info",
    "load",
    "load_with_rate",
    "resample",
    "to_mono",
]

DEFAULT_MAX_DURATION = 60.0
"""Longest accepted file, in seconds."""
DEFAULT_MAX_CHANNELS = 8
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


def load(
    path: str | os.PathLike[str],
    sr: int | None = 22050,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    max_channels: int = DEFAULT_MAX_CHANNELS,
    silence_db: float | None = DEFAULT_SILENCE_DB,
) -> np.ndarray:
    """Decode ``path`` to a mono float32 signal at ``sr`` Hz (``None`` keeps the file's rate).

    Raises an :class:`~drumsamp_models.errors.AudioError` subclass naming the file when it is
    missing, corrupt or truncated, not audio, empty or silent, longer than ``max_duration``
    seconds, or has more than ``max_channels`` channels.
    """
    return load_with_rate(path, sr, max_duration=max_duration, max_channels=max_channels, silence_db=silence_db)[0]


def load_with_rate(
    path: str | os.PathLike[str],
    sr: int | None = 22050,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    max_channels: int = DEFAULT_MAX_CHANNELS,
    silence_db: float | None = DEFAULT_SILENCE_DB,
) -> tuple[np.ndarray, int]:
    """Like :func:`load`, also returning the rate of the signal (``sr`` or the file's own)."""
    p = os.fspath(path)
    with _open(p) as snd:
        _check_header(p, snd)
        native_sr, channels, frames = snd.samplerate, snd.channels, snd.frames
        if channels > max_channels:
            raise TooManyChannelsError(p, f"{channels} channels, at most {max_channels} accepted")
        if max_duration is not None and frames / native_sr > max_duration and snd.format != "MP3":
            raise AudioTooLongError(p, f"{frames / native_sr:.1f} s long; the accepted maximum is {max_duration:g} s")
        limit = -1 if max_duration is None else int(max_duration * native_sr) + 1
        try:
            data = snd.read(frames=limit, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            detail = str(exc).split(":", 1)[-1].strip()
            raise UnreadableAudioError(p, f"corrupt or truncated {snd.format} data ({detail})") from None
        fmt = snd.format
    if max_duration is not None and len(data) >= limit:
        raise AudioTooLongError(p, f"longer than {max_duration:g} s; the accepted maximum is {max_duration:g} s")
    if len(data) == 0:
        raise EmptyAudioError(p, "no audio samples could be decoded (empty or truncated file)")
    if fmt == "MP3" and frames > 0 and len(data) < _MP3_MIN_SHARE * frames:
        raise UnreadableAudioError(p, f"truncated MP3 file: {len(data)} of {frames} announced samples decoded")
    if fmt == "OGG" and not _ogg_ends_stream(p):
        raise UnreadableAudioError(p, "truncated OGG file: the stream's last page is missing")
    if not np.isfinite(data).all():
        raise UnreadableAudioError(p, "corrupt audio data (NaN or infinite samples)")
    y = to_mono(data)
    if silence_db is not None and float(np.max(np.abs(y))) < 10.0 ** (silence_db / 20.0):
        raise SilentAudioError(p, f"digital silence (peak below {silence_db:g} dBFS)")
    target = native_sr if sr is None else sr
    return resample(y, native_sr, target), target


def describe_error(exc: BaseException) -> str:
    """One line for a report: the reason of an :class:`AudioError`, or the exception's text."""
    if isinstance(exc, AudioError):
        return exc.reason
    return f"{type(exc).__name__}: {exc}"

"""Waveform peaks of the samples: computed once per sample while its upload is decoded, stored, served.

A sample stores ``PEAK_PAIRS`` (detailed view) and ``THUMB_PAIRS`` (thumbnail) ``[min, max]`` pairs of its mono
signal, both computed exactly from the decoded audio (``drumsamp_models.audio.scan(..., peaks=PAIR_COUNTS)``)
and encoded as int8: ``round(value * 127)`` clipped to [-127, 127], interleaved ``min0, max0, min1, max1, ...``.
Samples stored before waveforms existed have ``peaks`` NULL and get them on the library's next analysis; a
sample whose audio cannot be decoded any more stores ``UNAVAILABLE`` (not retried; served as null).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import numpy as np
import orjson
from sqlalchemy import select, update

from drumsamp_models import audio
from drumsamp_models.errors import AudioError

from ..extensions import db
from ..models import Sample, SampleLibrary
from .cache import per_library
from .gc_pause import no_cycle_collection

THUMB_PAIRS = 64
PEAK_PAIRS = 1000
PAIR_COUNTS = (PEAK_PAIRS, THUMB_PAIRS)
"""What to ask of ``audio.scan(..., peaks=...)``: both views, each reduced exactly from the decoded signal."""
FORMAT_VERSION = 1
"""Part of the thumbnails' ETag: bump it when the encoding or the body changes."""
UNAVAILABLE = b""
"""Stored as ``peaks`` when the audio could not be decoded for them: not NULL, so never retried."""
CACHE_SIZE = 16

log = logging.getLogger("backend.waveforms")


def encode(peaks: np.ndarray) -> bytes:
    """(n, 2) float ``[min, max]`` pairs as 2n int8 bytes: ``round(value * 127)`` clipped, min and max interleaved."""
    scaled = np.rint(np.asarray(peaks, dtype=np.float64) * 127.0)
    return np.clip(scaled, -127, 127).astype(np.int8).tobytes()


def decode(data: bytes) -> np.ndarray:
    """The (n, 2) int8 pairs of :func:`encode`'s bytes."""
    return np.frombuffer(data, dtype=np.int8).reshape(-1, 2)


def values(scan: audio.ScanResult) -> dict[str, bytes]:
    """The ``thumb`` and ``peaks`` columns of a scan made with ``peaks=PAIR_COUNTS``."""
    return {"thumb": encode(scan.peaks[THUMB_PAIRS]), "peaks": encode(scan.peaks[PEAK_PAIRS])}


def store(sample: Sample, scan: audio.ScanResult) -> None:
    """Set the sample's thumbnail and detailed peaks from a scan of its audio made with ``peaks=PAIR_COUNTS``."""
    for column, data in values(scan).items():
        setattr(sample, column, data)


def compute(path: str) -> tuple[dict[str, bytes | None], str | None]:
    """The columns for a stored audio file decoded again (no limits: it was accepted once; memory stays one block),
    and None; or ``UNAVAILABLE`` columns and the reason when it cannot be decoded."""
    try:
        scan = audio.scan(path, max_duration=None, max_samplerate=None, silence_db=None, peaks=PAIR_COUNTS)
    except (AudioError, OSError) as exc:
        log.warning("no waveform for %s: %s", path, audio.describe_error(exc))
        return {"thumb": None, "peaks": UNAVAILABLE}, audio.describe_error(exc)
    return dict(values(scan)), None


def store_missing(sample_id: int, content_hash: str, columns: dict[str, bytes | None]) -> bool:
    """Store computed columns if the sample still has that content and still no peaks; True when stored."""
    result = db.session.execute(
        update(Sample)
        .where(Sample.id == sample_id, Sample.content_hash == content_hash, Sample.peaks.is_(None))
        .values(**columns)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _text(data: bytes | None) -> str | None:
    """Base64 of stored pairs; None when there are none (not computed yet, or unavailable)."""
    return base64.b64encode(data).decode("ascii") if data else None


def thumbnails_etag(library: SampleLibrary) -> str:
    """The ETag of the library's thumbnails: every change of its listing (and every stored waveform) bumps
    ``library.version``."""
    return f"wf{FORMAT_VERSION}-lib{library.id}-v{library.version}"


def library_thumbnails(library: SampleLibrary) -> tuple[str, bytes]:
    """``(etag, body)``: ``{libname, pairs, samples: [{name, thumb}]}``, samples sorted by name, ``thumb`` the
    base64 of ``THUMB_PAIRS`` int8 pairs or null. Serialised once per library version."""

    def serialise() -> bytes:
        rows = (
            db.session.connection()
            .execute(select(Sample.name, Sample.thumb).where(Sample.library_id == library.id).order_by(Sample.name))
            .all()
        )
        samples = [{"name": name, "thumb": _text(thumb)} for name, thumb in rows]
        with no_cycle_collection():
            return orjson.dumps({"libname": library.name, "pairs": THUMB_PAIRS, "samples": samples})

    return thumbnails_etag(library), per_library("waveforms", CACHE_SIZE, library.id, library.version, serialise)


def sample_peaks(sample: Sample) -> dict[str, Any]:
    """``{name, pairs, duration, peaks}``: the base64 of ``PEAK_PAIRS`` int8 pairs, or null when not available."""
    return {"name": sample.name, "pairs": PEAK_PAIRS, "duration": sample.duration, "peaks": _text(sample.peaks)}


def sample_peaks_json(sample: Sample) -> bytes:
    """:func:`sample_peaks` serialised."""
    return orjson.dumps(sample_peaks(sample))

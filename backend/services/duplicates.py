"""Near-duplicates of a library: the same recording under other names (re-encoded, resampled, gain-scaled, trimmed).

Each sample stores the fingerprint of ``drumsamp_models.duplicates`` (column ``fingerprint``), computed once while
its upload is validated (the same block-wise decode, ``audio.scan(..., sink=...)``). Samples stored before
fingerprints existed have NULL and get one on the library's next analysis; a sample whose audio cannot be decoded
any more stores ``UNAVAILABLE`` (not retried, never grouped). Identical content is refused at upload already; the
groups found here are what a hash cannot see. They are computed once per library version and cached.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import numpy as np
import orjson
from sqlalchemy import func, select, update

from drumsamp_models import audio, duplicates
from drumsamp_models.errors import AudioError

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, SampleLibrary
from . import storage
from .access import touch
from .cache import per_library
from .gc_pause import no_cycle_collection

UNAVAILABLE = b""
"""Stored as ``fingerprint`` when the audio could not be decoded for it: not NULL, so never retried."""
FORMAT_VERSION = 1
"""Part of the groups' ETag: bump it when the body changes."""
CACHE_SIZE = 16
LOSSLESS = frozenset({"WAV", "WAVEX", "AIFF", "FLAC", "RF64", "W64"})
MAX_REMOVE = 1000

log = logging.getLogger("backend.duplicates")


def from_sink(sink: duplicates.Fingerprinter) -> bytes | None:
    """The fingerprint a decode fed to ``sink``, or None when it cannot be made (the next analysis tries again)."""
    try:
        return sink.result().tobytes()
    except Exception:  # never fail an upload for it
        log.exception("no fingerprint from the upload's decode")
        return None


def compute(path: str) -> tuple[bytes, str | None]:
    """The fingerprint of a stored audio file decoded again (no limits: it was accepted once), and None; or
    ``UNAVAILABLE`` and the reason when it cannot be decoded."""
    sink = duplicates.Fingerprinter()
    try:
        audio.scan(path, max_duration=None, max_samplerate=None, silence_db=None, sink=sink)
    except (AudioError, OSError) as exc:
        log.warning("no fingerprint for %s: %s", path, audio.describe_error(exc))
        return UNAVAILABLE, audio.describe_error(exc)
    return sink.result().tobytes(), None


def store_missing(sample_id: int, content_hash: str, fingerprint: bytes) -> bool:
    """Store a computed fingerprint if the sample still has that content and still none; True when stored."""
    result = db.session.execute(
        update(Sample)
        .where(Sample.id == sample_id, Sample.content_hash == content_hash, Sample.fingerprint.is_(None))
        .values(fingerprint=fingerprint)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _keep_order(sample: dict[str, Any]) -> tuple[Any, ...]:
    """The order of a group: the one to keep first — a favourite, then lossless, longer (by 10 ms steps: resampling
    moves the length by a fraction of a sample), higher rate, bigger file."""
    return (
        not sample["isFavorite"],
        (sample["format"] or "").upper() not in LOSSLESS,
        -round((sample["duration"] or 0.0) * 100),
        -(sample["samplerate"] or 0),
        -(sample["size"] or 0),
        sample["name"],
    )


def groups_body(library: SampleLibrary) -> dict[str, Any]:
    """``{libname, pending, groups: [{similarity, samples: [{name, duration, format, size, samplerate, channels,
    isFavorite}]}]}``: groups of two or more, the most similar first, in each the one to keep first."""
    rows = (
        db.session.connection()
        .execute(
            select(
                Sample.name,
                Sample.fingerprint,
                Sample.is_favorite,
                Sample.format,
                Sample.duration,
                Sample.samplerate,
                Sample.channels,
                Sample.size_bytes,
            )
            .where(Sample.library_id == library.id, Sample.fingerprint.is_not(None))
            .order_by(Sample.name)
        )
        .all()
    )
    samples: list[dict[str, Any]] = []
    prints: list[np.ndarray] = []
    for name, data, favourite, fmt, length, rate, channels, size in rows:
        if not data:
            continue  # UNAVAILABLE
        try:
            prints.append(np.frombuffer(data, dtype=np.uint8))
        except ValueError:
            continue
        samples.append(
            {
                "name": name,
                "duration": length,
                "format": fmt,
                "size": size,
                "samplerate": rate,
                "channels": channels,
                "isFavorite": bool(favourite),
            }
        )
    usable = [k for k, fp in enumerate(prints) if _readable(fp)]
    pairs = duplicates.duplicate_pairs([prints[k] for k in usable])
    groups = []
    for members, score in duplicates.groups_from_pairs(len(usable), pairs):
        group = sorted((samples[usable[m]] for m in members), key=_keep_order)
        groups.append({"similarity": round(score, 3), "samples": group})
    return {"libname": library.name, "pending": pending_count(library.id), "groups": groups}


def _readable(fp: np.ndarray) -> bool:
    """Whether a stored fingerprint is one this version compares (older versions are left out)."""
    try:
        duplicates.duration(fp)
    except ValueError:
        return False
    return True


def pending_count(library_id: int) -> int:
    """Samples of the library whose fingerprint is not computed yet (the next analysis computes them)."""
    query = select(func.count(Sample.id)).where(Sample.library_id == library_id, Sample.fingerprint.is_(None))
    return db.session.scalar(query) or 0


def groups_etag(library: SampleLibrary) -> str:
    """The ETag of the library's groups: every change of its samples (and every stored fingerprint) bumps
    ``library.version``."""
    return f"dup{FORMAT_VERSION}.{duplicates.VERSION}-lib{library.id}-v{library.version}"


def library_groups(library: SampleLibrary) -> tuple[str, bytes]:
    """``(etag, body)`` of :func:`groups_body`, serialised once per library version."""

    def serialise() -> bytes:
        body = groups_body(library)
        with no_cycle_collection():
            return orjson.dumps(body)

    return groups_etag(library), per_library("duplicates", CACHE_SIZE, library.id, library.version, serialise)


def _names(body: Any) -> tuple[str, list[str]]:
    """``keep`` and ``remove`` of a resolve request, checked (400 naming the problem)."""
    if not isinstance(body, dict):
        raise ApiError(400, 'expected a JSON object {"keep": name, "remove": [names]}')
    unknown = sorted(set(body) - {"keep", "remove"})
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}: expected 'keep' and 'remove'")
    keep, remove = body.get("keep"), body.get("remove")
    if not isinstance(keep, str) or not keep:
        raise ApiError(400, "'keep' must be the name (path) of the sample to keep")
    if not isinstance(remove, list) or not remove or not all(isinstance(n, str) and n for n in remove):
        raise ApiError(400, "'remove' must be a non-empty list of sample names (paths)")
    if len(remove) > MAX_REMOVE:
        raise ApiError(400, f"'remove' names at most {MAX_REMOVE} samples")
    keep = unicodedata.normalize("NFC", keep)
    remove = [unicodedata.normalize("NFC", n) for n in remove]
    if len(set(remove)) != len(remove):
        raise ApiError(400, "'remove' names a sample more than once")
    if keep in remove:
        raise ApiError(400, f"'{keep}' is both kept and removed")
    return keep, remove


def resolve(user_id: int, library: SampleLibrary, body: Any) -> dict[str, Any]:
    """Keep ``keep`` and delete ``remove`` (each in ``keep``'s duplicate group) in one transaction; 404 for a name
    the library does not hold, 409 for one that is not a duplicate of ``keep``."""
    keep, remove = _names(body)
    found = {
        sample.name: sample
        for sample in db.session.scalars(
            select(Sample).where(Sample.library_id == library.id, Sample.name.in_([keep, *remove]))
        )
    }
    for name in (keep, *remove):
        if name not in found:
            raise ApiError(404, f"no sample named {name!r} in library {library.name!r}")
    group = next(
        (
            {s["name"] for s in g["samples"]}
            for g in orjson.loads(library_groups(library)[1])["groups"]
            if keep in {s["name"] for s in g["samples"]}
        ),
        set(),
    )
    for name in remove:
        if name not in group:
            raise ApiError(409, f"'{name}' is not a duplicate of '{keep}' in library '{library.name}'; nothing deleted")
    files = {(found[name].content_hash, found[name].format) for name in remove}
    for name in remove:
        db.session.delete(found[name])
    touch(library, content=True)
    db.session.commit()
    storage.release(user_id, files)
    return {
        "message": f"kept '{keep}', deleted {len(remove)} duplicate(s) from library '{library.name}'",
        "kept": keep,
        "removed": remove,
    }

"""Uploads: stream to a temporary file, validate by decoding, store by content, record in the database.

Nothing partial is ever kept: the temporary file is removed whatever happens, the stored file only
appears after validation and is removed again if the database refuses the sample. Every file takes this
one path, whether it comes alone (``POST /upload``), in a batch or from the server's disk (the import
command, ``backend.services.importer``): one file, one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from typing import IO

import soundfile as sf
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from drumsamp_models import audio
from drumsamp_models.duplicates import Fingerprinter
from drumsamp_models.errors import (
    AudioError,
    AudioTooLongError,
    NotAudioError,
    SampleRateTooHighError,
    TooManyChannelsError,
)

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, SampleLibrary
from . import duplicates, storage, suggestions, waveforms
from .access import check_library_name, check_sample_path, ensure_library, find_library, touch
from .libraries import USER

CHUNK = 1024 * 1024
RETRIES = 3
# What the API documents, by the container libsndfile detects (WAVEX: WAV with the extensible header).
ACCEPTED_CONTAINERS = frozenset({"WAV", "WAVEX", "AIFF", "FLAC", "OGG", "MP3"})
ACCEPTED_TEXT = "WAV, AIFF, FLAC, OGG/Vorbis or MP3"
TMP_PREFIX = "upload-"  # DATA_DIR/tmp/upload-*: what storage.remove_stale_temporary_files sweeps


# Outcomes of one file of a batch or an import.
STORED, REPLACED, DUPLICATE, REJECTED = "stored", "replaced", "duplicate", "rejected"


@dataclass(frozen=True)
class UploadResult:
    """What happened to an upload: a message for the client and the HTTP status; ``outcome`` (stored, replaced or
    duplicate), the sample's ``name`` (its path) and, for a duplicate, the sample that already holds the content
    (``duplicate_of``, the name itself for a retry of identical content)."""

    message: str
    status: int = 200
    outcome: str = STORED
    name: str = ""
    duplicate_of: str | None = None


class DuplicateError(ApiError):
    """409: the library holds the same content under another name (``duplicate_of``)."""

    def __init__(self, message: str, name: str, duplicate_of: str) -> None:
        super().__init__(409, message)
        self.name = name
        self.duplicate_of = duplicate_of


@dataclass(frozen=True)
class FileOutcome:
    """One file of a batch or an import: ``{path, status, message, duplicateOf?}``."""

    path: str
    status: str
    message: str
    duplicate_of: str | None = None

    @property
    def unchanged(self) -> bool:
        """Whether the path already held exactly this content (a retry: nothing was stored)."""
        return self.status == DUPLICATE and self.duplicate_of == self.path

    def as_json(self) -> dict[str, str]:
        body = {"path": self.path, "status": self.status, "message": self.message}
        if self.duplicate_of is not None:
            body["duplicateOf"] = self.duplicate_of
        return body


def _spool(stream: IO[bytes], limit: int, prefix: str = TMP_PREFIX) -> tuple[str, str, int]:
    """Copy ``stream`` to a temporary file, hashing it; returns (path, SHA-256, size). 413 above ``limit`` bytes."""
    digest = hashlib.sha256()
    size = 0
    fd, path = tempfile.mkstemp(prefix=prefix, dir=storage.tmp_dir())
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    mb = limit / (1024 * 1024)
                    raise ApiError(413, f"file too large: uploads are limited to {mb:.4g} MB per file")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, digest.hexdigest(), size


def _check_format(header: audio.AudioInfo, name: str) -> None:
    """415 naming the format unless the container (and codec, for OGG) is one the API documents."""
    fmt, subtype = header.format.upper(), header.subtype.upper()
    if fmt in ACCEPTED_CONTAINERS and (fmt != "OGG" or subtype == "VORBIS"):
        return
    kind = f"OGG/{subtype.title()}" if fmt == "OGG" else sf.available_formats().get(fmt, fmt)
    raise ApiError(415, f"'{name}' is a {kind} file; accepted formats are {ACCEPTED_TEXT}")


def _validate(path: str, name: str) -> tuple[audio.ScanResult, bytes | None]:
    """Check the header (format, rate, channels, length) and then decode the whole file in blocks with the model
    package's checks, keeping only its waveform peaks; 4xx naming the problem when it is not usable audio.

    Returns the scan: the header (a ``ScanResult`` is an ``AudioInfo``) plus the peaks ``waveforms.store`` keeps;
    and the near-duplicate fingerprint made from the same decode (``services.duplicates``)."""
    config = current_app.config
    sink = Fingerprinter()  # keeps the signal at 16 kHz while it is decoded: 64 kB per second
    try:
        header = audio.info(path)
        _check_format(header, name)
        scan = audio.scan(
            path,
            max_duration=config["MAX_AUDIO_SECONDS"],
            max_samplerate=config["MAX_SAMPLE_RATE"],
            peaks=waveforms.PAIR_COUNTS,
            sink=sink,
        )
    except NotAudioError:
        raise ApiError(415, f"'{name}' is not a supported audio file ({ACCEPTED_TEXT})") from None
    except (AudioTooLongError, TooManyChannelsError, SampleRateTooHighError) as exc:
        raise ApiError(422, f"'{name}' is not accepted: {exc.reason}") from None
    except AudioError as exc:
        raise ApiError(400, f"'{name}' cannot be used: {exc.reason}") from None
    return scan, duplicates.from_sink(sink)


def _copy_analysis(target: Sample, user_id: int) -> None:
    """Reuse the analysis of the same content elsewhere in the user's libraries: nothing is computed twice."""
    source = db.session.scalar(
        select(Sample)
        .join(SampleLibrary, Sample.library_id == SampleLibrary.id)
        .where(
            SampleLibrary.user_id == user_id,
            Sample.content_hash == target.content_hash,
            Sample.analyzed_hash == target.content_hash,
            Sample.id != target.id,
        )
        .limit(1)
    )
    if source is None:
        return
    columns = (
        "analysis_error",
        "auto_tag",
        "subclass",
        "auto_likelihood",
        "likelihoods",
        "embedding",
        "descriptors",
        "non_drum",
    )
    for column in columns:
        setattr(target, column, getattr(source, column))
    target.analyzed_hash = source.analyzed_hash
    target.analyzed_model = source.analyzed_model
    target.analyzed_at = source.analyzed_at


def _known_content(library: SampleLibrary, name: str, content_hash: str) -> UploadResult | None:
    """The answer for content the library already holds (409 under another name), else None."""
    same = db.session.scalar(
        select(Sample.name).where(Sample.library_id == library.id, Sample.content_hash == content_hash).limit(1)
    )
    if same is None:
        return None
    if same == name:
        text = f"'{name}' is already in library '{library.name}' with identical content; nothing stored"
        return UploadResult(text, outcome=DUPLICATE, name=name, duplicate_of=name)
    text = f"'{name}' is the same sound as '{same}' in library '{library.name}'; not stored twice"
    raise DuplicateError(text, name, same)


def save_upload(
    user_id: int, lib_name: str, filename: str | None, stream: IO[bytes], tmp_prefix: str = TMP_PREFIX
) -> UploadResult:
    """Store one uploaded file in the user's library ``lib_name`` (created when new) under the sample path
    ``filename``; raises :class:`ApiError` (:class:`DuplicateError` for 409) when it is not stored.
    ``tmp_prefix`` names its temporary file in ``DATA_DIR/tmp`` (it must start with ``upload-``)."""
    check_library_name(lib_name)
    name = check_sample_path(filename)
    tmp, content_hash, size = _spool(stream, current_app.config["MAX_UPLOAD_BYTES"], tmp_prefix)
    try:
        library = find_library(user_id, lib_name)
        known = None if library is None else _known_content(library, name, content_hash)  # before any decoding
        if known is not None:
            return known
        upload = _Validated(tmp, content_hash, size, *_validate(tmp, name))
        for attempt in range(RETRIES):
            try:
                return _record(user_id, lib_name, name, upload)
            except IntegrityError:  # a concurrent upload of the same name (PostgreSQL): look again
                if attempt == RETRIES - 1:
                    raise ApiError(409, f"'{name}' is being uploaded to '{lib_name}' concurrently; try again") from None
        raise AssertionError("unreachable")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def save_batch(user_id: int, lib_name: str, files: list[tuple[str | None, IO[bytes]]]) -> list[FileOutcome]:
    """Store each ``(sample path, stream)`` of a batch on its own (see :func:`ingest`); a path given twice is
    refused the second time. The outcomes, in order."""
    check_library_name(lib_name)
    outcomes: list[FileOutcome] = []
    seen: set[str] = set()
    for path, stream in files:
        try:
            key: str | None = check_sample_path(path)
        except ApiError:
            key = None  # a bad path: the upload itself refuses it, with the reason
        if key in seen:
            text = f"'{key}' is given more than once in this upload; only its first file is used"
            outcomes.append(FileOutcome(key, REJECTED, text))
            continue
        if key is not None:
            seen.add(key)
        outcomes.append(ingest(user_id, lib_name, path, stream))
    return outcomes


def batch_summary(outcomes: list[FileOutcome]) -> str:
    """``"3 stored, 1 duplicate, 1 rejected"``."""
    counts = Counter(outcome.status for outcome in outcomes)
    return ", ".join(f"{counts[kind]} {kind}" for kind in (STORED, REPLACED, DUPLICATE, REJECTED) if counts[kind])


def ingest(
    user_id: int, lib_name: str, path: str | None, stream: IO[bytes], tmp_prefix: str = TMP_PREFIX
) -> FileOutcome:
    """:func:`save_upload` of one file of a batch or an import, its refusal (4xx) turned into a ``rejected`` outcome.

    Errors of the server (a full disk, the database) are raised: the files before this one stay stored.
    """
    try:
        result = save_upload(user_id, lib_name, path, stream, tmp_prefix)
    except DuplicateError as exc:
        return FileOutcome(exc.name, DUPLICATE, exc.message, exc.duplicate_of)
    except ApiError as exc:
        return FileOutcome(path or "", REJECTED, exc.message)
    return FileOutcome(result.name, result.outcome, result.message, result.duplicate_of)


@dataclass(frozen=True)
class _Validated:
    """An uploaded file once validated: its temporary copy, content hash and size, the decode's header and peaks,
    and its near-duplicate fingerprint."""

    tmp: str
    content_hash: str
    size: int
    header: audio.ScanResult
    fingerprint: bytes | None


def _record(user_id: int, lib_name: str, name: str, upload: _Validated) -> UploadResult:
    """Record the upload in one transaction that holds the lock of its content's stored file (see ``storage``)."""
    library = ensure_library(user_id, lib_name)
    new_file = {(upload.content_hash, upload.header.format)}
    storage.lock(user_id, new_file)  # from here to the commit no deletion can remove this content's file
    try:
        result, old_file = _replace_or_add(user_id, library, name, upload)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        storage.release(user_id, new_file)  # removes the file only if no committed sample uses it
        raise
    storage.release(user_id, old_file)
    return result


def _replace_or_add(
    user_id: int, library: SampleLibrary, name: str, upload: _Validated
) -> tuple[UploadResult, set[tuple[str, str]]]:
    """Within the locked transaction: check the library again, place the file, add or update the sample."""
    lib_name = library.name
    tmp, content_hash, size, header = upload.tmp, upload.content_hash, upload.size, upload.header
    known = _known_content(library, name, content_hash)
    if known is not None:
        return known, set()
    sample = db.session.scalar(
        select(Sample)
        .where(Sample.library_id == library.id, Sample.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    target = storage.audio_path(user_id, content_hash, header.format)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(tmp, target)  # not a move: a retry of this transaction (PostgreSQL) places it again if rolled back
    old_file: set[tuple[str, str]] = set()
    if sample is None:
        sample = Sample(library=library, name=name)
        db.session.add(sample)
        message, outcome = f"'{name}' uploaded to library '{lib_name}'", STORED
    else:
        old_file.add((sample.content_hash, sample.format))
        for link in list(sample.tag_links):
            if link.source != USER:
                sample.tag_links.remove(link)
        sample.rejected_tags.clear()  # new content: the user has not said no to anything about it yet
        sample.auto_tag = sample.auto_likelihood = sample.likelihoods = sample.embedding = sample.descriptors = None
        sample.non_drum = sample.subclass = None
        sample.analysis_error = None
        sample.auto_tag_rejected = False
        sample.user_class = sample.corrected_at = None  # the user's class was for the old sound
        suggestions.forget(sample)  # and so were the class suggestions and their refusals
        sample.map_x = sample.map_y = None
        message = f"'{name}' in library '{lib_name}' replaced by new content (it will be analysed again)"
        outcome = REPLACED
    sample.content_hash = content_hash
    sample.format = header.format
    sample.size_bytes = size
    sample.duration = header.duration
    sample.samplerate = header.samplerate
    sample.channels = header.channels
    waveforms.store(sample, header)
    sample.fingerprint = upload.fingerprint
    db.session.flush()
    _copy_analysis(sample, user_id)
    touch(library, content=True)
    return UploadResult(message, outcome=outcome, name=name), old_file

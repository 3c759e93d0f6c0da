"""Uploads: stream to a temporary file, validate by decoding, store by content, record in the database.

Nothing partial is ever kept: the temporary file is removed whatever happens, the stored file only
appears after validation and is removed again if the database refuses the sample.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import IO

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from drumsamp_models import audio
from drumsamp_models.errors import AudioError, AudioTooLongError, NotAudioError, TooManyChannelsError

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, SampleLibrary
from . import storage
from .access import check_library_name, check_sample_name, find_library, touch
from .libraries import USER

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class UploadResult:
    """What happened to an upload: a message for the client and the HTTP status."""

    message: str
    status: int = 200


def _spool(stream: IO[bytes], limit: int) -> tuple[str, str, int]:
    """Copy ``stream`` to a temporary file, hashing it; returns (path, SHA-256, size). 413 above ``limit`` bytes."""
    digest = hashlib.sha256()
    size = 0
    fd, path = tempfile.mkstemp(prefix="upload-", dir=storage.tmp_dir())
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"file too large: uploads are limited to {limit / (1024 * 1024):g} MB per file")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, digest.hexdigest(), size


def _validate(path: str, name: str) -> audio.AudioInfo:
    """Decode the whole file with the model package's loader; 4xx naming the problem when it is not usable audio."""
    try:
        header = audio.info(path)
        audio.load(path, sr=None, max_duration=current_app.config["MAX_AUDIO_SECONDS"])
    except NotAudioError:
        raise ApiError(415, f"'{name}' is not a supported audio file (WAV, AIFF, FLAC, OGG/Vorbis or MP3)") from None
    except (AudioTooLongError, TooManyChannelsError) as exc:
        raise ApiError(422, f"'{name}' is not accepted: {exc.reason}") from None
    except AudioError as exc:
        raise ApiError(400, f"'{name}' cannot be used: {exc.reason}") from None
    return header


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
    columns = ("analysis_error", "auto_tag", "auto_likelihood", "likelihoods", "embedding", "descriptors", "non_drum")
    for column in columns:
        setattr(target, column, getattr(source, column))
    target.analyzed_hash = source.analyzed_hash
    target.analyzed_model = source.analyzed_model
    target.analyzed_at = source.analyzed_at


def save_upload(user_id: int, lib_name: str, filename: str | None, stream: IO[bytes]) -> UploadResult:
    """Store one uploaded file in the user's library ``lib_name`` (created when new)."""
    check_library_name(lib_name)
    name = check_sample_name(filename)
    tmp, content_hash, size = _spool(stream, current_app.config["MAX_UPLOAD_BYTES"])
    try:
        header = _validate(tmp, name)
        return _record(user_id, lib_name, name, tmp, content_hash, size, header)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _record(
    user_id: int, lib_name: str, name: str, tmp: str, content_hash: str, size: int, header: audio.AudioInfo
) -> UploadResult:
    library = find_library(user_id, lib_name)
    sample = None
    if library is not None:
        same_content = db.session.scalar(
            select(Sample).where(Sample.library_id == library.id, Sample.content_hash == content_hash).limit(1)
        )
        if same_content is not None and same_content.name == name:
            return UploadResult(f"'{name}' is already in library '{lib_name}' with identical content; nothing stored")
        if same_content is not None:
            raise ApiError(
                409, f"'{name}' is the same sound as '{same_content.name}' in library '{lib_name}'; not stored twice"
            )
        sample = db.session.scalar(select(Sample).where(Sample.library_id == library.id, Sample.name == name))
    else:
        library = SampleLibrary(user_id=user_id, name=lib_name)
        db.session.add(library)

    target = storage.audio_path(user_id, content_hash, header.format)
    created = not target.exists()
    if created:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
    old_file: set[tuple[str, str]] = set()
    if sample is None:
        sample = Sample(library=library, name=name)
        db.session.add(sample)
        message = f"'{name}' uploaded to library '{lib_name}'"
    else:
        old_file.add((sample.content_hash, sample.format))
        for link in list(sample.tag_links):
            if link.source != USER:
                sample.tag_links.remove(link)
        sample.rejected_tags.clear()  # new content: the user has not said no to anything about it yet
        sample.auto_tag = sample.auto_likelihood = sample.likelihoods = sample.embedding = sample.descriptors = None
        sample.non_drum = None
        sample.analysis_error = None
        sample.auto_tag_rejected = False
        sample.map_x = sample.map_y = None
        message = f"'{name}' in library '{lib_name}' replaced by new content (it will be analysed again)"
    sample.content_hash = content_hash
    sample.format = header.format
    sample.size_bytes = size
    sample.duration = header.duration
    sample.samplerate = header.samplerate
    sample.channels = header.channels
    try:
        db.session.flush()
        _copy_analysis(sample, user_id)
        touch(library, content=True)
        db.session.commit()
    except BaseException as exc:
        db.session.rollback()
        if created and not storage.still_referenced(user_id, content_hash):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
        if isinstance(exc, IntegrityError):
            raise ApiError(409, f"'{name}' was uploaded to library '{lib_name}' concurrently; try again") from None
        raise
    storage.remove_unreferenced(user_id, old_file)
    return UploadResult(message)

"""Where audio lives on disk: ``DATA_DIR/storage/<user id>/<SHA-256 of the content>.<format>``.

Files are named by content, never by the client's file name; one file serves every sample of the
same user with the same content, and is removed with the last of them.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Sample, SampleLibrary

EXTENSIONS = {
    "WAV": "wav",
    "WAVEX": "wav",
    "RF64": "wav",
    "W64": "w64",
    "AIFF": "aiff",
    "FLAC": "flac",
    "OGG": "ogg",
    "MP3": "mp3",
}
MIME_TYPES = {
    "wav": "audio/wav",
    "w64": "audio/x-w64",
    "aiff": "audio/aiff",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
}


def data_dir() -> Path:
    """The instance folder of the running app."""
    return Path(current_app.config["DATA_DIR"])


def tmp_dir() -> Path:
    """Temporary files of uploads in progress (same file system as the storage: renames are atomic)."""
    path = data_dir() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_stale_temporary_files(folder: str | os.PathLike[str], older_than: float = 3600.0) -> int:
    """Delete upload temporaries left in ``DATA_DIR/tmp`` by a killed process; returns how many."""
    removed = 0
    limit = time.time() - older_than
    for path in Path(folder, "tmp").glob("upload-*"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
    return removed


def remove_orphaned_audio(older_than: float = 3600.0) -> int:
    """Delete stored audio no sample uses (a process killed between storing an upload and its commit).

    Only files older than ``older_than`` seconds are considered, so uploads in flight in other processes
    are left alone. Needs an application context; returns how many files were removed.
    """
    removed = 0
    limit = time.time() - older_than
    for path in (data_dir() / "storage").glob("*/*.*"):
        user, content_hash = path.parent.name, path.name.split(".", 1)[0]
        with contextlib.suppress(FileNotFoundError):
            if user.isdigit() and path.stat().st_mtime < limit and not still_referenced(int(user), content_hash):
                path.unlink()
                removed += 1
    return removed


def extension(fmt: str) -> str:
    """File extension for a libsndfile format name."""
    return EXTENSIONS.get(fmt.upper(), "bin")


def mime_type(fmt: str) -> str:
    """MIME type of stored audio of format ``fmt``."""
    return MIME_TYPES.get(extension(fmt), "application/octet-stream")


def audio_path(user_id: int, content_hash: str, fmt: str) -> Path:
    """The stored file of a sound."""
    return data_dir() / "storage" / str(int(user_id)) / f"{content_hash}.{extension(fmt)}"


def sample_path(user_id: int, sample: Sample) -> Path:
    """The stored file of ``sample``."""
    return audio_path(user_id, sample.content_hash, sample.format)


def still_referenced(user_id: int, content_hash: str) -> bool:
    """Whether any sample of the user still uses the stored content."""
    query = (
        select(Sample.id)
        .join(SampleLibrary, Sample.library_id == SampleLibrary.id)
        .where(SampleLibrary.user_id == user_id, Sample.content_hash == content_hash)
        .limit(1)
    )
    return db.session.scalar(query) is not None


def remove_unreferenced(user_id: int, files: set[tuple[str, str]]) -> None:
    """Delete the stored files ``{(content hash, format)}`` no sample of the user uses any more (after a commit)."""
    for content_hash, fmt in files:
        if not still_referenced(user_id, content_hash):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(audio_path(user_id, content_hash, fmt))

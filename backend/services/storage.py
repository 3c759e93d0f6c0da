"""Where audio lives on disk: ``DATA_DIR/storage/<user id>/<SHA-256 of the content>.<format>``.

Files are named by content, never by the client's file name; one file serves every sample of the
same user with the same content, and is removed with the last of them. Each file has a row in
``stored_blob``: uploads and deletions of the same content lock it, so that a file is never removed
while an upload that uses it is on its way to commit.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select

from ..extensions import db
from ..models import Sample, SampleLibrary, StoredBlob, User, utcnow
from .sql import insert_on_conflict

LOCK_BATCH = 500  # rows per statement (SQLite allows 32 766 bound parameters)
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


def stored_files(user_id: int | None = None) -> dict[int, set[tuple[str, str]]]:
    """The files in the storage (of one user, or of all): ``{user id: {(content hash, format)}}``."""
    found: dict[int, set[tuple[str, str]]] = {}
    pattern = "*/*.*" if user_id is None else f"{int(user_id)}/*.*"
    for path in (data_dir() / "storage").glob(pattern):
        user, (content_hash, ext) = path.parent.name, path.name.split(".", 1)
        if user.isdigit() and len(content_hash) == 64:
            fmt = next((f for f, e in EXTENSIONS.items() if e == ext), ext.upper())
            found.setdefault(int(user), set()).add((content_hash, fmt))
    return found


def remove_orphaned_audio() -> int:
    """Delete stored audio no sample uses (e.g. a process killed between storing an upload and its commit).

    Each file is checked under its row's lock (see :func:`release`), so an upload in flight in another
    process is never touched. Needs an application context; returns how many files were removed.
    """
    candidates = stored_files()
    accounts = set(db.session.scalars(select(User.id).where(User.id.in_(candidates))))
    removed = 0
    for user_id, files in candidates.items():
        if user_id in accounts:
            removed += release(user_id, files)
            continue
        for content_hash, fmt in files:  # the account is gone: nothing can use or upload its files any more
            with contextlib.suppress(FileNotFoundError):
                os.unlink(audio_path(user_id, content_hash, fmt))
                removed += 1
    db.session.rollback()
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


def referenced(user_id: int, hashes: list[str]) -> set[str]:
    """Which of the content hashes samples of the user use."""
    query = (
        select(Sample.content_hash)
        .join(SampleLibrary, Sample.library_id == SampleLibrary.id)
        .where(SampleLibrary.user_id == user_id, Sample.content_hash.in_(hashes))
        .distinct()
    )
    return set(db.session.scalars(query))


def lock(user_id: int, files: set[tuple[str, str]]) -> None:
    """Insert or lock the rows of the stored files ``{(content hash, format)}`` until the transaction ends.

    Uploads call it before they look at the library and place their file; :func:`release` before it removes
    files. Rows are locked in hash order, so two transactions never wait for each other in a cycle.
    """
    rows = [
        {"user_id": user_id, "content_hash": h, "format": f, "created_at": utcnow()} for h, f in sorted(files)
    ]
    for start in range(0, len(rows), LOCK_BATCH):
        insert_on_conflict(StoredBlob, rows[start : start + LOCK_BATCH], ("user_id", "content_hash"), ("format",))


def release(user_id: int, files: set[tuple[str, str]]) -> int:
    """Delete the stored files ``{(content hash, format)}`` that no committed sample of the user uses.

    Call it after the commit that dropped the references. The files' rows are locked first; a file is
    unlinked while its row is locked and before the row's deletion commits, so an upload of the same content
    either committed its sample before (the file stays) or finds the file gone after (and stores it anew).
    Returns how many files were removed.
    """
    if not files:
        return 0
    db.session.rollback()
    removed = 0
    items = sorted(files)
    for start in range(0, len(items), LOCK_BATCH):
        batch = set(items[start : start + LOCK_BATCH])
        lock(user_id, batch)
        used = referenced(user_id, sorted({h for h, _ in batch}))
        unused = {h for h, _ in batch} - used
        for content_hash, fmt in batch:
            if content_hash in unused:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(audio_path(user_id, content_hash, fmt))
                    removed += 1
        if unused:
            db.session.execute(
                delete(StoredBlob).where(StoredBlob.user_id == user_id, StoredBlob.content_hash.in_(unused))
            )
        db.session.commit()
    return removed

"""Owner-only lookups: another user's library or sample is indistinguishable from a missing one."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select

from ..errors import ApiError
from ..extensions import db
from ..models import LIBRARY_NAME_MAX, SAMPLE_NAME_MAX, SAMPLE_SEGMENT_MAX, Sample, SampleLibrary, utcnow
from .sql import insert_on_conflict

SAMPLE_MAX_SEGMENTS = 32


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text)


def check_library_name(name: str) -> str:
    """A usable library name (it is one path segment of the API), else 400 naming the problem."""
    if not name or not name.strip():
        raise ApiError(400, "library name must not be empty")
    if name != name.strip():
        raise ApiError(400, "library name must not start or end with white space")
    if len(name) > LIBRARY_NAME_MAX:
        raise ApiError(400, f"library name must be at most {LIBRARY_NAME_MAX} characters long")
    if "/" in name or "\\" in name or name in (".", "..") or _has_control(name):
        raise ApiError(400, "library name must not contain '/', '\\' or control characters, nor be '.' or '..'")
    return name


def check_sample_path(raw: str | None) -> str:
    """A usable sample name: its path in the library (``Kits/909/kick.wav``), in Unicode NFC; else 400.

    ``/``-separated, at most ``SAMPLE_MAX_SEGMENTS`` segments of at most ``SAMPLE_SEGMENT_MAX`` bytes and
    ``SAMPLE_NAME_MAX`` bytes in all; no empty, ``.`` or ``..`` segment, no leading ``/``, no ``\\`` and no
    control characters; segments do not start or end with white space. A plain file name is a root-level path.
    """
    if not raw or not raw.strip():
        raise ApiError(400, "the sample has no name (send the file's name or its path in the library)")
    name = unicodedata.normalize("NFC", raw)
    problem = _path_problem(name)
    if problem:
        raise ApiError(400, f"invalid sample path {name[:200]!r}: {problem}")
    return name


def _path_problem(name: str) -> str | None:
    """What is wrong with a (NFC) sample path, or None."""
    if _has_control(name) or "\\" in name:
        return "no backslashes or control characters allowed"
    if name.startswith("/"):
        return "it must be relative (no leading '/')"
    if len(name.encode("utf-8")) > SAMPLE_NAME_MAX:
        return f"longer than {SAMPLE_NAME_MAX} bytes"
    segments = name.split("/")
    if len(segments) > SAMPLE_MAX_SEGMENTS:
        return f"more than {SAMPLE_MAX_SEGMENTS} folders deep"
    for segment in segments:
        if segment in ("", ".", ".."):
            return "empty, '.' or '..' folder names are not allowed"
        if segment != segment.strip():
            return "a folder or file name starts or ends with white space"
        if len(segment.encode("utf-8")) > SAMPLE_SEGMENT_MAX:
            return f"a folder or file name is longer than {SAMPLE_SEGMENT_MAX} bytes"
    return None


def find_library(user_id: int, name: str) -> SampleLibrary | None:
    """The user's library called ``name``, or None."""
    return db.session.scalar(select(SampleLibrary).where(SampleLibrary.user_id == user_id, SampleLibrary.name == name))


def ensure_library(user_id: int, name: str) -> SampleLibrary:
    """The user's library called ``name``, created (and committed) when new; concurrent creators get the same one."""
    library = find_library(user_id, name)
    if library is not None:
        return library
    row = {"user_id": user_id, "name": name, "created_at": utcnow(), "version": 0, "content_version": 0}
    insert_on_conflict(SampleLibrary, [row], ("user_id", "name"))
    db.session.commit()
    library = find_library(user_id, name)
    if library is None:  # deleted again in between: the client may simply retry
        raise ApiError(409, f"library {name!r} was deleted while it was being created; try again")
    return library


def get_library(user_id: int, name: str, missing_status: int = 400) -> SampleLibrary:
    """The user's library called ``name``, else ``missing_status`` (the design answers 400)."""
    library = find_library(user_id, name)
    if library is None:
        raise ApiError(missing_status, f"no library named {name!r}")
    return library


def get_sample(library: SampleLibrary, name: str, missing_status: int = 400) -> Sample:
    """The sample called ``name`` (its path; any Unicode normal form) in ``library``, else ``missing_status``."""
    key = unicodedata.normalize("NFC", name)
    sample = db.session.scalar(select(Sample).where(Sample.library_id == library.id, Sample.name == key))
    if sample is None:
        raise ApiError(missing_status, f"no sample named {name!r} in library {library.name!r}")
    return sample


def lock_library(library_id: int) -> None:
    """Take the library's row lock (PostgreSQL; SQLite has one write lock) before writing any of its samples: every
    writer takes the library first, then its samples, so a request and an analysis never wait for each other."""
    db.session.execute(select(SampleLibrary.id).where(SampleLibrary.id == library_id).with_for_update())


def touch(library: SampleLibrary, content: bool = False) -> None:
    """Mark ``library`` changed (its listing; with ``content``, also its set of analysed sounds)."""
    if library.id is None:
        db.session.flush()
    library.version = SampleLibrary.version + 1  # in SQL: concurrent writers never lose a bump
    if content:
        library.content_version = SampleLibrary.content_version + 1

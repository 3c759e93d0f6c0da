"""Export a library as a streamed ZIP archive with one folder per tag (a sample appears under each of its tags,
at its path in the library: ``Kick/Kits/909/kick.wav``).

Entries are stored (not compressed) and the archive is sized, so its length is known before the first byte and
nothing is written to disk. Entry names are made safe to extract on Windows, macOS and Linux.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from zipstream import ZipStream

from ..extensions import db
from ..models import Sample, SampleLibrary
from . import storage
from .downloads import is_separator
from .libraries import tag_lists

log = logging.getLogger("backend")

UNTAGGED = "Untagged"
SEGMENT_MAX_BYTES = 255
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|]")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in [*"123456789", "\u00b9", "\u00b2", "\u00b3"]]
)


def _fit(stem: str, ext: str) -> str:
    """``stem`` + ``ext``, the stem shortened so that the whole takes at most ``SEGMENT_MAX_BYTES`` in UTF-8."""
    room = max(SEGMENT_MAX_BYTES - len(ext.encode("utf-8")), 1)
    if len(stem.encode("utf-8")) > room:
        stem = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ") or "_"
    return stem + ext


def _split(name: str) -> tuple[str, str]:
    """(stem, extension with its dot); a name that is only an extension is all stem."""
    stem, dot, ext = name.rpartition(".")
    return (stem, dot + ext) if stem.strip(". ") else (name, "")


def safe_segment(name: str) -> str:
    """One path segment that extracts everywhere: NFC, no separators or reserved characters, no trailing dots or
    spaces, no Windows device name (``CON``, ``com1.wav``...: prefixed with ``_``), never empty."""
    text = unicodedata.normalize("NFC", name)
    text = "".join("_" if is_separator(c) else c for c in text)
    text = _UNSAFE.sub("_", text).strip(" ").rstrip(". ") or "_"
    if text.split(".", 1)[0].rstrip(" ").upper() in _RESERVED:
        text = "_" + text
    return _fit(*_split(text))


def folder_name(tag: str) -> str:
    """A tag as a folder name that is safe on every file system and inside a ZIP."""
    return safe_segment(tag[:100])


def collision_key(name: str) -> str:
    """Names equal under this key are the same file on case-insensitive or normalising file systems."""
    return unicodedata.normalize("NFC", name).casefold()


def unique_name(name: str, taken: set[str], folder: str = "") -> str:
    """``name``, else ``name (2)``, ``name (3)``... whichever is free in ``folder`` according to ``taken``
    (collision keys of the paths already used); records it."""
    stem, ext = _split(name)
    candidate, n = name, 1
    while collision_key(f"{folder}/{candidate}") in taken:
        n += 1
        candidate = _fit(f"{stem} ({n})", ext)
    taken.add(collision_key(f"{folder}/{candidate}"))
    return candidate


def safe_path(name: str) -> tuple[str, str]:
    """A sample's path as (folders, file name), each segment made safe with :func:`safe_segment`."""
    *folders, leaf = (safe_segment(segment) for segment in name.split("/"))
    return "/".join(folders), leaf


def _entries(user_id: int, library: SampleLibrary) -> dict[str, list[tuple[str, Path]]]:
    """The stored files of the library by folder (tags merged when only their case or Unicode form differs)."""
    rows = db.session.execute(
        select(
            Sample.id,
            Sample.name,
            Sample.content_hash,
            Sample.format,
            Sample.auto_tag,
            Sample.auto_tag_rejected,
            Sample.analyzed_hash == Sample.content_hash,
        )
        .where(Sample.library_id == library.id)
        .order_by(Sample.name)
    ).all()
    custom = tag_lists(library.id)
    tagged: list[tuple[list[str], str, Path]] = []
    spellings: dict[str, str] = {}
    for sid, name, content_hash, fmt, auto, rejected, current in rows:
        path = storage.audio_path(user_id, content_hash, fmt)
        if not path.is_file():
            log.warning("export of library %s: the audio of %r (%s) is missing; left out", library.id, name, path)
            continue
        tags = [auto] if auto and current and not rejected else []
        tags += [t[0] for t in custom.get(sid, ())]
        folders = [folder_name(t) for t in tags] or [UNTAGGED]
        for folder in folders:
            spellings[collision_key(folder)] = min(folder, spellings.get(collision_key(folder), folder))
        tagged.append((folders, name, path))
    by_folder: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    for folders, name, path in tagged:
        for folder in dict.fromkeys(spellings[collision_key(f)] for f in folders):
            by_folder[folder].append((name, path))
    return by_folder


def export_zip(user_id: int, library: SampleLibrary) -> ZipStream:
    """The library's ZIP as a sized stream (``len()`` is its size in bytes); iterate it to get the bytes."""
    archive = ZipStream(sized=True)
    for folder, files in sorted(_entries(user_id, library).items()):
        taken: set[str] = set()
        for name, path in files:
            subfolders, leaf = safe_path(name)  # the sample's own folders are kept under the tag's folder
            inner = f"{folder}/{subfolders}" if subfolders else folder
            arcname = f"{inner}/{unique_name(leaf, taken, inner)}"
            try:
                archive.add_path(str(path), arcname, recurse=False)
            except FileNotFoundError:
                log.warning("export of library %s: the audio of %r vanished; left out", library.id, name)
    return archive

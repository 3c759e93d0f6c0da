"""Export a library as a ZIP archive with one folder per tag (a sample appears under each of its tags)."""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections import defaultdict
from typing import IO

from sqlalchemy import select

from ..extensions import db
from ..models import Sample, SampleLibrary
from . import storage
from .libraries import tag_lists

UNTAGGED = "Untagged"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def folder_name(tag: str) -> str:
    """A tag as a folder name that is safe on every file system and inside a ZIP."""
    name = _UNSAFE.sub("_", tag).strip().strip(".") or "_"
    return name[:100]


def export_zip(user_id: int, library: SampleLibrary) -> IO[bytes]:
    """A temporary file holding the library's ZIP, positioned at its start."""
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
    folders: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sid, name, content_hash, fmt, auto, rejected, current in rows:
        tags = [auto] if auto and current and not rejected else []
        tags += [t[0] for t in custom.get(sid, ())]
        path = str(storage.audio_path(user_id, content_hash, fmt))
        for folder in dict.fromkeys(folder_name(t) for t in tags) or [UNTAGGED]:
            folders[folder].append((name, path))
    out = tempfile.TemporaryFile(dir=storage.tmp_dir())  # noqa: SIM115 - handed to send_file, which closes it
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for folder in sorted(folders):
                for name, path in folders[folder]:
                    archive.write(path, arcname=f"{folder}/{name}")
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out

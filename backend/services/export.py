"""Export a library as a streamed ZIP archive with one folder per tag (a sample appears under each of its tags,
at its path in the library: ``Kick/Kits/909/kick.wav``), whole or a selection: the samples carrying one tag (then
only that tag's folder), the favourites, or samples chosen by path (``Selection``), also through a link that a
browser downloads without an Authorization header (``/export-url``, ``streaming.export_token``).

Entries are stored (not compressed) and the archive is sized, so its length is known before the first byte and
nothing is written to disk. Entry names are made safe to extract on Windows, macOS and Linux.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from zipstream import ZipStream

from ..errors import ApiError
from ..extensions import db
from ..models import TAG_NAME_MAX, Sample, SampleLibrary
from . import storage, streaming
from .access import check_sample_path
from .downloads import is_separator
from .libraries import tag_lists
from .search import bad_parameter, parse_flag, query_values

log = logging.getLogger("backend")

UNTAGGED = "Untagged"
QUERY_PARAMETERS = ("tag", "favorite", "token")
BODY_FIELDS = ("tag", "favorite", "names")
MAX_NAMES = 10_000
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


@dataclass(frozen=True)
class Selection:
    """What an export holds: every sample, or those carrying ``tag`` (any case; then only that tag's folder), the
    favourites (``favorite``), the samples with these ids (``sample_ids``); given together, all must hold."""

    tag: str | None = None
    favorite: bool = False
    sample_ids: frozenset[int] | None = None

    def as_json(self) -> dict[str, Any]:
        """The selection as stored with an export link."""
        ids = None if self.sample_ids is None else sorted(self.sample_ids)
        return {"tag": self.tag, "favorite": self.favorite, "ids": ids}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Selection:
        """The selection stored by :meth:`as_json`."""
        ids = data.get("ids")
        return cls(data.get("tag"), bool(data.get("favorite")), None if ids is None else frozenset(ids))

    def describe(self) -> str:
        """What a selected sample is (``a favourite and tagged 'Kick'``); empty for the whole library."""
        parts = ["a favourite"] if self.favorite else []
        if self.tag is not None:
            parts.append(f"tagged {self.tag!r}")
        if self.sample_ids is not None:
            parts.append("in the selection")
        return " and ".join(parts)


@dataclass(frozen=True)
class Export:
    """A sized ZIP stream (``len()`` is its size in bytes; iterate it for the bytes) and its download name."""

    archive: ZipStream
    file_name: str


@dataclass(frozen=True)
class _Picked:
    """A selected sample: its path, its stored content and the tags it is exported under."""

    name: str
    content_hash: str
    format: str
    tags: list[str]


def _tag(value: str) -> str | None:
    """A tag name to select by (trimmed), or None when it cannot be one."""
    tag = value.strip()
    return tag if 0 < len(tag) <= TAG_NAME_MAX else None


def parse_export_query(args: Mapping[str, Sequence[str]]) -> tuple[Selection, str | None]:
    """The selection of ``GET /export`` (``tag``, ``favorite``) and its link ``token``; 400 naming a bad parameter.

    A link carries its own selection: ``token`` goes with no other parameter.
    """
    values = query_values(args, QUERY_PARAMETERS)
    token = values.pop("token")[0] if "token" in values else None
    if token is not None and values:
        raise bad_parameter(next(iter(values)), "not allowed with 'token' (the link holds its own selection)")
    tag = None
    if "tag" in values:
        tag = _tag(values["tag"][0])
        if tag is None:
            raise bad_parameter("tag", f"expected a tag name of 1 to {TAG_NAME_MAX} characters")
    favorite = "favorite" in values and parse_flag("favorite", values["favorite"][0])
    return Selection(tag, favorite), token


def _sample_ids(library: SampleLibrary, names: Any) -> frozenset[int]:
    """The ids of the samples named by ``names`` (paths); 400 for a bad list, path or an unknown sample."""
    if not isinstance(names, list) or not 0 < len(names) <= MAX_NAMES or not all(isinstance(n, str) for n in names):
        raise ApiError(400, f"'names' must list 1 to {MAX_NAMES} sample paths")
    paths = [check_sample_path(name) for name in names]
    rows = db.session.execute(select(Sample.name, Sample.id).where(Sample.library_id == library.id)).all()
    ids: dict[str, int] = dict(rows)
    unknown = next((path for path in paths if path not in ids), None)
    if unknown is not None:
        raise ApiError(400, f"no sample named {unknown[:200]!r} in library {library.name!r}")
    return frozenset(ids[path] for path in paths)


def selection_from_body(library: SampleLibrary, body: Any) -> Selection:
    """The selection of ``POST /export-url``: ``{tag?, favorite?, names?}`` (null: not given); 400 for a bad body
    or a selection without samples."""
    if not isinstance(body, dict):
        raise ApiError(400, 'expected a JSON object {"tag"?: tag name, "favorite"?: boolean, "names"?: [sample paths]}')
    unknown = next((key for key in body if key not in BODY_FIELDS), None)
    if unknown is not None:
        raise ApiError(400, f"unknown field {unknown[:40]!r} (known: {', '.join(BODY_FIELDS)})")
    tag, favorite, names = body.get("tag"), body.get("favorite"), body.get("names")
    if tag is not None and (not isinstance(tag, str) or _tag(tag) is None):
        raise ApiError(400, f"'tag' must be a tag name of 1 to {TAG_NAME_MAX} characters")
    if favorite is not None and not isinstance(favorite, bool):
        raise ApiError(400, "'favorite' must be true or false")
    selection = Selection(
        None if tag is None else _tag(tag), bool(favorite), None if names is None else _sample_ids(library, names)
    )
    if not _selected(library, selection):
        raise ApiError(400, _nothing(library, selection))
    return selection


def _nothing(library: SampleLibrary, selection: Selection) -> str:
    what = selection.describe()
    if not what:
        return f"nothing to export: library {library.name!r} holds no sample"
    return f"nothing to export: no sample of library {library.name!r} is {what}"


def linked_export(token: str, lib_name: str) -> tuple[int, SampleLibrary, Selection]:
    """The user, library and selection of an export link for library ``lib_name``; 401 for any other link."""
    user_id, library_id, stored = streaming.check_export_token(token)
    library = db.session.get(SampleLibrary, library_id)
    if library is None or library.user_id != user_id or library.name != lib_name:
        raise ApiError(401, "this export link was issued for another library")
    return user_id, library, Selection.from_json(stored)


def _selected(library: SampleLibrary, selection: Selection) -> list[_Picked]:
    """The selected samples in path order, with the tags they are exported under (only the selected tag, if any)."""
    rows = db.session.execute(
        select(
            Sample.id,
            Sample.name,
            Sample.content_hash,
            Sample.format,
            Sample.auto_tag,
            Sample.auto_tag_rejected,
            Sample.analyzed_hash == Sample.content_hash,
            Sample.is_favorite,
            Sample.user_class,
        )
        .where(Sample.library_id == library.id)
        .order_by(Sample.name)
    ).all()
    custom = tag_lists(library.id)
    wanted = None if selection.tag is None else collision_key(selection.tag)
    picked: list[_Picked] = []
    for sid, name, content_hash, fmt, auto, rejected, current, favourite, user_class in rows:
        if selection.favorite and not favourite:
            continue
        if selection.sample_ids is not None and sid not in selection.sample_ids:
            continue
        shown = user_class or (auto if auto and current and not rejected else None)  # the user's class first
        tags = [shown] if shown else []
        tags += [t[0] for t in custom.get(sid, ())]
        if wanted is not None:
            tags = [t for t in tags if collision_key(t) == wanted]
            if not tags:
                continue
        picked.append(_Picked(name, content_hash, fmt, tags))
    return picked


def _entries(user_id: int, library: SampleLibrary, picked: list[_Picked]) -> dict[str, list[tuple[str, Path]]]:
    """The stored files of the picked samples by folder (tags merged when only their case or Unicode form differs)."""
    tagged: list[tuple[list[str], str, Path]] = []
    spellings: dict[str, str] = {}
    for sample in picked:
        path = storage.audio_path(user_id, sample.content_hash, sample.format)
        if not path.is_file():
            log.warning(
                "export of library %s: the audio of %r (%s) is missing; left out", library.id, sample.name, path
            )
            continue
        folders = [folder_name(t) for t in sample.tags] or [UNTAGGED]
        for folder in folders:
            spellings[collision_key(folder)] = min(folder, spellings.get(collision_key(folder), folder))
        tagged.append((folders, sample.name, path))
    by_folder: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    for folders, name, path in tagged:
        for folder in dict.fromkeys(spellings[collision_key(f)] for f in folders):
            by_folder[folder].append((name, path))
    return by_folder


def download_name(library_name: str, selection: Selection, folders: Sequence[str]) -> str:
    """``Drums.zip``, ``Drums - favourites.zip``, ``Drums - Kick.zip`` (the tag's folder), ``Drums - selection.zip``."""
    if selection.sample_ids is not None:
        parts = ["selection"]
    else:
        parts = [folders[0] if folders else folder_name(selection.tag)] if selection.tag is not None else []
        parts += ["favourites"] if selection.favorite else []
    return f"{library_name} - {' '.join(parts)}.zip" if parts else f"{library_name}.zip"


def export_archive(user_id: int, library: SampleLibrary, selection: Selection | None = None) -> Export:
    """The library's ZIP (of ``selection``, default all) as a sized stream; 404 when a selection has no sample."""
    selection = selection or Selection()
    picked = _selected(library, selection)
    if not picked and selection.describe():
        raise ApiError(404, _nothing(library, selection))
    archive = ZipStream(sized=True)
    by_folder = sorted(_entries(user_id, library, picked).items())
    for folder, files in by_folder:
        taken: set[str] = set()
        for name, path in files:
            subfolders, leaf = safe_path(name)  # the sample's own folders are kept under the tag's folder
            inner = f"{folder}/{subfolders}" if subfolders else folder
            arcname = f"{inner}/{unique_name(leaf, taken, inner)}"
            try:
                archive.add_path(str(path), arcname, recurse=False)
            except FileNotFoundError:
                log.warning("export of library %s: the audio of %r vanished; left out", library.id, name)
    return Export(archive, download_name(library.name, selection, [folder for folder, _ in by_folder]))

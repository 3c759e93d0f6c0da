"""Search in a library (issue 18): words, filters, sort and paging for scripts and the app.

Searches run on a compact in-memory index of the library, built once per library version (any change to what
``/get/library`` shows bumps the version, as for the listing's cache) and kept per server process in
``per_library("search")``: per sample, the fields of its result entry and its path folded for matching; sets of
samples per favourite flag, analysis state, class and custom tag; sort orders computed on first use. A search
intersects those sets, scans the folded paths of the samples still in question for each word, orders the
matches by rank and builds the entries of one page only. At 10 000 samples a search costs well under 1 ms in
the process (``bench/search.py``); the same word query in SQL (``LIKE`` on the path, ``EXISTS`` on the tags,
``count(*) OVER ()``) took 11-15 ms on SQLite, which must read the wide sample rows (embeddings) to scan them.
Matching is case- and accent-insensitive in any script (Unicode case folding, compatibility decomposition,
combining marks dropped), which ``LIKE`` is not, and it behaves the same on SQLite and PostgreSQL.

Query terms (``q``): whitespace-separated words, or ``"quoted phrases"``. A term matches a sample when it is
part of the sample's path (folders and file name) or begins one of its tag names (the auto tag's class or a
custom tag, user or propagated); every term must match. ``-term`` excludes the samples it matches.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import String, select, type_coerce

from drumsamp_models.tagger import CLASSES, UNKNOWN

from ..errors import ApiError
from ..extensions import db
from ..models import Sample, SampleLibrary
from . import tempo
from .cache import per_library
from .classes import parse_subclasses, shown_subclass, user_classes
from .gc_pause import no_cycle_collection
from .libraries import AUTO, USER, confidence_text, tag_lists

CACHE_SIZE = 8
SORT_KEYS = ("path", "name", "class", "confidence", "duration", "added", "size", "bpm")
DEFAULT_SORT = "path"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10**9
MAX_QUERY_CHARS = 200
MAX_TERMS = 20
MAX_FILTER_VALUES = 20
MAX_FOLDER_CHARS = 1024
PARAMETERS = (
    "q",
    "class",
    "subclass",
    "tag",
    "favorite",
    "analysed",
    "folder",
    "sort",
    "offset",
    "limit",
    "bpmMin",
    "bpmMax",
)
ALIASES = {"favourite": "favorite", "analyzed": "analysed"}
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
_CLASS_NAMES = {name.casefold(): name for name in (*CLASSES, UNKNOWN)}
SORT_COLUMNS = {
    "class": "class",
    "confidence": "likelihood",
    "duration": "duration",
    "added": "added",
    "size": "size",
    "bpm": "bpm",
}
MAX_BPM_FILTER = 1000.0
_TOKEN = re.compile(r'-?"[^"]*"?|\S+')


def fold(text: str) -> str:
    """``text`` for matching: Unicode case folding, compatibility decomposition, combining marks dropped."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def bad_parameter(parameter: str, problem: str) -> ApiError:
    """400 ``parameter '<name>': <problem>``."""
    return ApiError(400, f"parameter {parameter!r}: {problem}")


@dataclass(frozen=True)
class Query:
    """A validated search: folded terms, filters, sort order and page."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    classes: frozenset[str] | None = None  # the classes' exact names
    subclasses: frozenset[str] | None = None  # the tagger's sub-classes' exact names
    tags: tuple[str, ...] = ()  # folded custom tag names, all required
    favorite: bool | None = None
    analysed: bool | None = None
    folder: str | None = None  # a path prefix without the trailing '/'
    sort: str = DEFAULT_SORT
    descending: bool = False
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    bpm_min: float | None = None  # only samples with a tempo in [bpm_min, bpm_max]
    bpm_max: float | None = None


def parse_terms(q: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``q`` as (terms to match, terms to exclude), folded; 400 for too long a query."""
    if len(q) > MAX_QUERY_CHARS:
        raise bad_parameter("q", f"at most {MAX_QUERY_CHARS} characters")
    include: list[str] = []
    exclude: list[str] = []
    for token in _TOKEN.findall(q):
        minus = token.startswith("-")
        body = token[1:] if minus else token
        if body.startswith('"'):  # a phrase; its closing quote may be missing
            body = body[1:-1] if len(body) > 1 and body.endswith('"') else body[1:]
        term = fold(" ".join(body.split()))
        if not term:
            continue  # a lone '-', '""' or marks alone
        (exclude if minus else include).append(term)
    if len(include) + len(exclude) > MAX_TERMS:
        raise bad_parameter("q", f"at most {MAX_TERMS} words or phrases")
    return tuple(dict.fromkeys(include)), tuple(dict.fromkeys(exclude))


def parse_flag(parameter: str, value: str) -> bool:
    """``true``/``1``/``yes`` or ``false``/``0``/``no`` (any case), else 400 naming ``parameter``."""
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise bad_parameter(parameter, f"expected true or false, got {value[:40]!r}")


def _integer(parameter: str, value: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 10) or not low <= int(value) <= high:
        raise bad_parameter(parameter, f"expected an integer from {low} to {high}, got {value[:40]!r}")
    return int(value)


def query_values(
    args: Mapping[str, Sequence[str]], known: Sequence[str], repeatable: Sequence[str] = ()
) -> dict[str, list[str]]:
    """``{name: [values]}`` of query parameters (``favourite`` and ``analyzed`` spelt as ours); 400 for a parameter
    not in ``known`` or one given twice that is not ``repeatable``."""
    values: dict[str, list[str]] = {}
    for raw, given in args.items():
        name = ALIASES.get(raw, raw)
        if name not in known:
            raise bad_parameter(raw[:40], f"unknown parameter (known: {', '.join(known)})")
        values.setdefault(name, []).extend(given)
    for name, given in values.items():
        if name not in repeatable and len(given) > 1:
            raise bad_parameter(name, "give it once")
    return values


def parse_query(args: Mapping[str, Sequence[str]]) -> Query:
    """A ``Query`` from query parameters (``{name: [values]}``); 400 naming the parameter for any bad value.

    ``class`` and ``subclass`` may be repeated or comma-separated (any one of them matches), ``tag`` repeated (all
    must be present); every other parameter may be given once. Unknown parameters are refused, so that a misspelt
    filter cannot silently return everything.
    """
    values = query_values(args, PARAMETERS, repeatable=("class", "subclass", "tag"))

    def one(name: str) -> str | None:
        return values[name][0] if name in values else None

    include, exclude = parse_terms(one("q") or "")
    classes = None
    if "class" in values:
        names = [part.strip() for value in values["class"] for part in value.split(",") if part.strip()]
        if not names or len(names) > MAX_FILTER_VALUES:
            raise bad_parameter("class", f"give 1 to {MAX_FILTER_VALUES} classes")
        unknown = [name for name in names if name.casefold() not in _CLASS_NAMES]
        if unknown:
            known = ", ".join(_CLASS_NAMES.values())
            raise bad_parameter("class", f"unknown class {unknown[0][:40]!r} (one of {known})")
        classes = frozenset(_CLASS_NAMES[name.casefold()] for name in names)
    subclasses = None
    if "subclass" in values:
        names = [part.strip() for value in values["subclass"] for part in value.split(",") if part.strip()]
        if not names or len(names) > MAX_FILTER_VALUES:
            raise bad_parameter("subclass", f"give 1 to {MAX_FILTER_VALUES} sub-classes")
        subclasses = parse_subclasses(names)
    tags = tuple(dict.fromkeys(fold(value.strip()) for value in values.get("tag", ())))
    if "tag" in values and (not all(tags) or len(tags) > MAX_FILTER_VALUES):
        raise bad_parameter("tag", f"give 1 to {MAX_FILTER_VALUES} non-empty tag names")
    folder = one("folder")
    if folder is not None:
        folder = unicodedata.normalize("NFC", folder).strip("/")
        if len(folder) > MAX_FOLDER_CHARS:
            raise bad_parameter("folder", f"at most {MAX_FOLDER_CHARS} characters")
    sort = one("sort")
    sort = DEFAULT_SORT if sort is None else sort
    descending = sort.startswith("-")
    if sort.lstrip("-") not in SORT_KEYS or sort.count("-") > 1:
        keys = ", ".join(SORT_KEYS)
        raise bad_parameter("sort", f"unknown sort key {sort[:40]!r} (one of {keys}; '-' before it: descending)")
    favorite, analysed, offset, limit = one("favorite"), one("analysed"), one("offset"), one("limit")
    bpm_min, bpm_max = _bpm_bound("bpmMin", one("bpmMin")), _bpm_bound("bpmMax", one("bpmMax"))
    if bpm_min is not None and bpm_max is not None and bpm_min > bpm_max:
        raise bad_parameter("bpmMax", f"must not be below bpmMin ({bpm_min:g})")
    return Query(
        include=include,
        exclude=exclude,
        classes=classes,
        subclasses=subclasses,
        tags=tags,
        favorite=None if favorite is None else parse_flag("favorite", favorite),
        analysed=None if analysed is None else parse_flag("analysed", analysed),
        folder=folder or None,
        sort=sort.lstrip("-"),
        descending=descending,
        offset=0 if offset is None else _integer("offset", offset, 0, MAX_OFFSET),
        limit=DEFAULT_LIMIT if limit is None else _integer("limit", limit, 0, MAX_LIMIT),
        bpm_min=bpm_min,
        bpm_max=bpm_max,
    )


def _bpm_bound(parameter: str, value: str | None) -> float | None:
    """A tempo bound: a decimal number from 0 to ``MAX_BPM_FILTER``, else 400 naming ``parameter``."""
    if value is None:
        return None
    try:
        bound = float(value) if value.isascii() and len(value) <= 24 and "_" not in value else None
    except ValueError:
        bound = None
    if bound is None or not 0.0 <= bound <= MAX_BPM_FILTER:  # NaN fails the comparison too
        raise bad_parameter(parameter, f"expected a number from 0 to {MAX_BPM_FILTER:g}, got {value[:40]!r}")
    return bound


def _added_at(value: str | datetime | None) -> str | None:
    """A creation time as ISO 8601 UTC (``2026-01-01T10:00:00.123456Z``): SQLite's stored text or a datetime."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite's 'YYYY-MM-DD HH:MM:SS[.ffffff]', naive UTC; fraction as isoformat's
        seconds, _, fraction = value.partition(".")
        return f"{seconds[:10]}T{seconds[11:]}{'.' + fraction if fraction.strip('0') else ''}Z"
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat().replace("+00:00", "Z")


@dataclass
class SearchIndex:
    """One library version, ready to search: samples in the code-point order of their paths (as ``/get/library``).

    One list per field (``columns``), indexed by row: ``custom`` holds the custom tags in the listing's format,
    ``added`` the creation time as the database returned it (SQLite's text sorts chronologically); ``class`` and
    ``likelihood`` are the user's class with 1.0 when ``corrected``, else None unless the auto tag is shown
    (``modelClass``: the tagger's class of the current content). The sort orders are computed on first use and kept.
    """

    paths: list[str]
    folded: list[str]
    columns: dict[str, list[Any]]
    favourites: set[int]
    analysed: set[int]
    by_class: dict[str, set[int]]  # exact class name -> rows
    by_custom: dict[str, set[int]]  # folded custom tag name -> rows
    orders: dict[tuple[str, bool], tuple[array[int], array[int]]] = field(default_factory=dict)

    def sort_values(self, key: str) -> list[Any]:
        """The value of every row for sort ``key`` (None: none, sorted last)."""
        if key == "name":  # the file name, case- and accent-insensitively
            return [fold(path[path.rfind("/") + 1 :]) for path in self.paths]
        return self.columns[SORT_COLUMNS[key]]

    def order(self, key: str, descending: bool) -> tuple[array[int], array[int]]:
        """Rows in the order of ``key`` (samples without a value last, ties by path) and each row's rank in it."""
        cached = self.orders.get((key, descending))
        if cached is None:
            n = len(self.paths)
            if key == "path":
                rows = list(range(n - 1, -1, -1)) if descending else list(range(n))
            else:
                values = self.sort_values(key)
                present = [i for i in range(n) if values[i] is not None]
                present.sort(key=values.__getitem__, reverse=descending)  # stable: ties stay in path order
                rows = present + [i for i in range(n) if values[i] is None]
            rank = array("l", bytes(8 * n)) if n else array("l")
            for position, row in enumerate(rows):
                rank[row] = position
            # Machine integers (8 bytes each, not Python objects); racing threads compute equal values.
            cached = self.orders[(key, descending)] = (array("l", rows), rank)
        return cached

    def term_rows(self, term: str, within: set[int] | None = None) -> set[int]:
        """Rows (of ``within``, else all) whose folded path contains ``term`` or with a tag name beginning with it."""
        folded = self.folded
        if within is None:
            rows = {i for i, path in enumerate(folded) if term in path}
        else:  # only the rows still in question: later words cost less
            rows = {i for i in within if term in folded[i]}
        for tag, tagged in (*self.by_custom.items(), *self.by_class.items()):
            if fold(tag).startswith(term):  # class names are ASCII: folding them is a lower()
                rows |= tagged if within is None else tagged & within
        return rows

    def folder_rows(self, folder: str) -> set[int]:
        """Rows under ``folder`` (any depth): a contiguous range of the path order."""
        start = bisect_left(self.paths, folder + "/")
        end = bisect_left(self.paths, folder + "0", lo=start)  # '0' follows '/' in code-point order
        return set(range(start, end))

    def bpm_rows(self, low: float | None, high: float | None) -> set[int]:
        """Rows whose tempo (the user's or the estimate) lies in ``[low, high]`` (a None bound: open)."""
        lo, hi = -1.0 if low is None else low, float("inf") if high is None else high
        return {i for i, bpm in enumerate(self.columns["bpm"]) if bpm is not None and lo <= bpm <= hi}

    def search(self, query: Query) -> tuple[int, list[int]]:
        """The number of matches and the rows of the requested page."""
        n = len(self.paths)
        required: list[set[int]] = []
        excluded: list[set[int]] = []
        if query.favorite is not None:
            (required if query.favorite else excluded).append(self.favourites)
        if query.analysed is not None:
            (required if query.analysed else excluded).append(self.analysed)
        if query.classes is not None:
            required.append(set().union(*(self.by_class.get(name, ()) for name in query.classes)))
        if query.subclasses is not None:
            required.append({i for i, sub in enumerate(self.columns["subclass"]) if sub in query.subclasses})
        required.extend(self.by_custom.get(tag, set()) for tag in query.tags)
        if query.folder is not None:
            required.append(self.folder_rows(query.folder))
        if query.bpm_min is not None or query.bpm_max is not None:
            required.append(self.bpm_rows(query.bpm_min, query.bpm_max))
        required.sort(key=len)  # the most selective first: words are scanned only if anything is left
        matches: set[int] | None = set(required[0]) if required else None
        for rows in required[1:]:
            matches &= rows  # type: ignore[operator]
        for term in query.include:
            if matches is not None and not matches:
                break
            matches = self.term_rows(term, matches)
        if matches is None and not query.exclude and not excluded:  # everything: no set to build
            rows_in_order, _ = self.order(query.sort, query.descending)
            return n, list(rows_in_order[query.offset : query.offset + query.limit])
        if matches is None:
            matches = set(range(n))
        for rows in excluded:
            matches -= rows
        for term in query.exclude:
            if not matches:
                break
            matches -= self.term_rows(term, matches)
        total = len(matches)
        if query.offset >= total or query.limit == 0:
            return total, []
        rows_in_order, rank = self.order(query.sort, query.descending)
        if total * 8 < n:  # few matches: sort them by rank
            return total, sorted(matches, key=rank.__getitem__)[query.offset : query.offset + query.limit]
        page: list[int] = []
        skip = query.offset
        for row in rows_in_order:
            if row in matches:
                if skip:
                    skip -= 1
                else:
                    page.append(row)
                    if len(page) == query.limit:
                        break
        return total, page

    def entry(self, i: int) -> dict[str, Any]:
        """The result entry of row ``i``."""
        column = self.columns
        path, sample_class, custom = self.paths[i], column["class"][i], column["custom"][i]
        likelihood = column["likelihood"][i]
        return {
            "name": path,
            "path": path,
            "folder": path[: max(0, path.rfind("/"))],
            "duration": column["duration"][i],
            "format": column["format"][i],
            "size": column["size"][i],
            "samplerate": column["samplerate"][i],
            "channels": column["channels"][i],
            "isFavorite": column["favorite"][i],
            "analysed": column["analysed"][i],
            "class": sample_class,
            "likelihood": likelihood,
            "corrected": column["corrected"][i],
            "modelClass": column["modelClass"][i],
            "subclass": column["subclass"][i],
            "tags": [[sample_class, USER if column["corrected"][i] else AUTO, confidence_text(likelihood)], *custom]
            if sample_class
            else custom,
            "addedAt": _added_at(column["added"][i]),
            "bpm": column["bpm"][i],
            "bpmSource": column["bpmSource"][i],
        }


def _fold_all(texts: Sequence[str]) -> list[str]:
    """``fold`` of each text (ASCII texts folded together: one ``lower`` of their join)."""
    joined = "\n".join(texts)
    if joined.isascii():
        folded = joined.lower().split("\n") if texts else []
        if len(folded) == len(texts):  # no text held the separator
            return folded
    return [fold(text) for text in texts]


def _shared(values: list[Any]) -> list[Any]:
    """``values`` with equal values as one object (the database driver returns a new object per row)."""
    seen: dict[Any, Any] = {}
    return [seen.setdefault(value, value) for value in values]


def build_index(library: SampleLibrary) -> SearchIndex:
    """The search index of ``library`` as it is now."""
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    added = type_coerce(Sample.created_at, String) if sqlite else Sample.created_at  # text: no parsing
    fetched = (
        db.session.connection()  # Core rows: no ORM bookkeeping for thousands of tuples
        .execute(
            select(
                Sample.name,
                Sample.duration,
                Sample.format,
                Sample.size_bytes,
                Sample.samplerate,
                Sample.channels,
                Sample.is_favorite,
                Sample.analyzed_hash == Sample.content_hash,
                Sample.auto_tag,
                Sample.auto_likelihood,
                Sample.auto_tag_rejected,
                added,
                Sample.id,
                Sample.subclass,
            ).where(Sample.library_id == library.id)
        )
        .all()
    )
    fetched.sort(key=itemgetter(0))  # code-point order of the paths, whatever the database's collation
    (paths, duration, fmt, size, rate, channels, favorite, current, auto, likelihood, rejected, created, ids, subs) = (
        list(column) for column in (zip(*fetched, strict=True) if fetched else [()] * 14)
    )
    analysed = [bool(flag) for flag in current]
    shown = [bool(a and c and not r) for a, c, r in zip(auto, analysed, rejected, strict=True)]
    custom = tag_lists(library.id)
    none: list[list[str]] = []
    columns: dict[str, list[Any]] = {
        "duration": duration,
        "format": _shared(fmt),  # a few distinct values: one object each
        "size": size,
        "samplerate": _shared(rate),
        "channels": _shared(channels),
        "favorite": [bool(flag) for flag in favorite],
        "analysed": analysed,
        "class": [a if s else None for a, s in zip(auto, shown, strict=True)],
        "likelihood": [v if s else None for v, s in zip(likelihood, shown, strict=True)],
        "custom": [custom.get(sid, none) for sid in ids],
        "added": created,
    }
    corrected = user_classes(library.id)  # a correction shows the user's class, confidence 1 (services.classes)
    columns["corrected"] = [sid in corrected for sid in ids]
    columns["modelClass"] = [a if c else None for a, c in zip(auto, analysed, strict=True)]
    for i, sid in enumerate(ids):
        if sid in corrected:
            columns["class"][i], columns["likelihood"][i] = corrected[sid], 1.0
    columns["bpm"], columns["bpmSource"] = tempo.columns(library.id, ids, columns["class"])  # after the user's class
    columns["subclass"] = _shared(
        [shown_subclass(sub if c else None, cls) for sub, c, cls in zip(subs, analysed, columns["class"], strict=True)]
    )
    by_class: dict[str, set[int]] = {}
    for i, sample_class in enumerate(columns["class"]):
        if sample_class is not None:
            by_class.setdefault(sample_class, set()).add(i)
    by_custom: dict[str, set[int]] = {}
    folded_tags: dict[str, str] = {}
    for i, tags in enumerate(columns["custom"]):
        for tag in tags:
            key = folded_tags.get(tag[0])
            if key is None:
                key = folded_tags[tag[0]] = fold(tag[0])
            by_custom.setdefault(key, set()).add(i)
    return SearchIndex(
        paths=paths,
        folded=_fold_all(paths),
        columns=columns,
        favourites={i for i, flag in enumerate(columns["favorite"]) if flag},
        analysed={i for i, flag in enumerate(columns["analysed"]) if flag},
        by_class=by_class,
        by_custom=by_custom,
    )


def library_index(library: SampleLibrary) -> SearchIndex:
    """The search index of ``library``, cached per library version."""

    def build() -> SearchIndex:
        with no_cycle_collection():
            return build_index(library)

    return per_library("search", CACHE_SIZE, library.id, library.version, build)


def search_json(library: SampleLibrary, query: Query) -> bytes:
    """``{libname, total, offset, limit, sort, samples: [...]}`` serialised."""
    index = library_index(library)
    total, page = index.search(query)
    return orjson.dumps(
        {
            "libname": library.name,
            "total": total,
            "offset": query.offset,
            "limit": query.limit,
            "sort": ("-" if query.descending else "") + query.sort,
            "samples": [index.entry(i) for i in page],
        }
    )

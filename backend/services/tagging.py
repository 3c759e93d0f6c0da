"""Tag edits: a sample's full tag list (``PUT /sampletag/update``) and user custom tags with k-NN propagation."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import Select, delete, insert, select

from drumsamp_models import ctagger
from drumsamp_models.index import LibraryIndex

from ..errors import ApiError
from ..extensions import db
from ..models import TAG_NAME_MAX, RejectedTag, Sample, SampleLibrary, SampleTag, Tag
from . import knn, suggestions
from .access import lock_library, touch
from .classes import library_classes, split_tag_list
from .gc_pause import no_cycle_collection
from .libraries import PROPAGATED, USER, custom_tag_lists
from .sql import insert_on_conflict

MAX_TAGS = 100


def check_tag_name(raw: Any) -> str:
    """A usable tag name (trimmed), else 400 naming the problem."""
    if not isinstance(raw, str):
        raise ApiError(400, f"a tag must be a string, got {type(raw).__name__}")
    name = raw.strip()
    if not name:
        raise ApiError(400, "a tag must not be empty")
    if len(name) > TAG_NAME_MAX:
        raise ApiError(400, f"tag {name[:20]!r}... is longer than {TAG_NAME_MAX} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        raise ApiError(400, f"tag {name!r} contains control characters")
    return name


def _item(item: Any) -> tuple[str, str | None]:
    """One entry of a tag list: ``"name"``, ``[name, source?, confidence?]``, ``{tags: name}`` or ``{name}``."""
    if isinstance(item, str):
        return check_tag_name(item), None
    if isinstance(item, list) and item:
        source = item[1] if len(item) > 1 and isinstance(item[1], str) else None
        return check_tag_name(item[0]), source
    if isinstance(item, dict):
        for key in ("tags", "tag", "name"):
            if key in item:
                return check_tag_name(item[key]), item.get("source") if isinstance(item.get("source"), str) else None
    raise ApiError(400, "each tag must be a string, a [name, source, confidence] list or an object {tags: name}")


def parse_tag_list(body: Any) -> list[tuple[str, str | None]]:
    """The tags of a ``PUT /sampletag/update`` body: ``{tags: [...]}`` or a bare list; duplicates dropped."""
    items = body.get("tags") if isinstance(body, dict) else body
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        raise ApiError(400, 'expected {"tags": [...]} or a JSON list of tags')
    if len(items) > MAX_TAGS:
        raise ApiError(400, f"at most {MAX_TAGS} tags per sample")
    seen: dict[str, str | None] = {}
    for item in items:
        name, source = _item(item)
        seen.setdefault(name, source)
    return list(seen.items())


def tag_ids(names: set[str]) -> dict[str, int]:
    """Ids of tag names, creating the missing ones (race-free: a name another request creates meanwhile is kept)."""
    if not names:
        return {}
    insert_on_conflict(Tag, [{"name": name} for name in sorted(names)], ("name",))
    return {name: tid for name, tid in db.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names)))}


def lock_for_edit(library: SampleLibrary, *objects: object) -> None:
    """Take the library's write lock for a tag edit, then read ``objects`` again inside the locked transaction.

    Concurrent edits of one library then run one after the other, each on what the previous one committed
    (SQLite: the database's write lock; PostgreSQL: the library row's lock).
    """
    touch(library)
    db.session.flush()
    for obj in objects:
        db.session.expire(obj)


def set_sample_tags(library: SampleLibrary, sample: Sample, body: Any) -> None:
    """Make the sample's tags exactly the given list.

    A class name sets the sample's class (``classes.split_tag_list``): the auto tag's own name keeps it, another
    class records a correction, no class hides the auto tag. A listed propagated tag marked ``"propagated"``
    stays propagated; every other listed name becomes a user tag; user and propagated tags not listed are
    removed and remembered as rejected, so that propagation does not put them back. When the custom tags or the
    class changed, the library's tags are propagated again (a rejection also counts against the tag for the
    sample's neighbours); a class change also recomputes the library's class suggestions.
    """
    wanted = parse_tag_list(body)
    lock_for_edit(library, sample)
    custom, class_changed = split_tag_list(sample, wanted)
    current = {link.tag.name: link for link in sample.tag_links}
    ids = tag_ids({n for n, _ in custom})
    changed = False
    for name, source in custom:
        link = current.get(name)
        if link is None:
            sample.tag_links.append(SampleTag(tag_id=ids[name], source=USER, confidence=1.0))
            changed = True
        elif not (link.source == PROPAGATED and source == PROPAGATED):
            changed = changed or link.source != USER
            link.source, link.confidence = USER, 1.0
    kept = {n for n, _ in custom}
    removed = [link for name, link in current.items() if name not in kept]
    for link in removed:
        sample.tag_links.remove(link)
    # a user tag named as the class now given (an old correction) becomes the class: not a rejection
    refused = {link.tag_id for link in removed if link.tag.name != sample.user_class}
    changed = _set_rejections(sample, reject=refused, accept=set(ids.values())) or changed
    if changed or class_changed:
        db.session.flush()
        propagate(library)
    if class_changed:
        suggestions.refresh(library)
    db.session.commit()


def _set_rejections(sample: Sample, reject: set[int], accept: set[int]) -> bool:
    """Remember the tags ``reject`` as removed from ``sample`` and forget rejections of ``accept``; whether
    anything changed."""
    present = {r.tag_id: r for r in sample.rejected_tags}
    gone = [r for tid, r in present.items() if tid in accept]
    for r in gone:
        sample.rejected_tags.remove(r)
    new = reject - accept - present.keys()
    sample.rejected_tags.extend(RejectedTag(tag_id=tid) for tid in sorted(new))
    return bool(gone or new)


def rejected_tag_names(sample: Sample) -> list[str]:
    """Names of the custom tags the user removed from ``sample`` (sorted)."""
    return sorted(r.tag.name for r in sample.rejected_tags)


def parse_user_tags(body: Any) -> list[tuple[str, list[str]]]:
    """The design's ``[{name, customTags: string[]}]``; 400 naming the first problem."""
    if not isinstance(body, list):
        raise ApiError(400, 'expected a JSON list [{"name": file name, "customTags": [tag, ...]}, ...]')
    entries: dict[str, list[str]] = {}
    for entry in body:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ApiError(400, 'each entry must be an object {"name": file name, "customTags": [tag, ...]}')
        tags = entry.get("customTags", [])
        if not isinstance(tags, list):
            raise ApiError(400, f"customTags of {entry['name']!r} must be a list of strings")
        if len(tags) > MAX_TAGS:
            raise ApiError(400, f"at most {MAX_TAGS} custom tags per sample")
        name = unicodedata.normalize("NFC", entry["name"])  # sample paths are stored in NFC
        entries[name] = list(dict.fromkeys(check_tag_name(t) for t in tags))
    return list(entries.items())


def custom_tags_by_name(library: SampleLibrary) -> dict[str, list[str]]:
    """``{sample name: custom tag names}`` (user tags, then propagated ones) for samples that have any."""
    rows = db.session.execute(
        select(Sample.name, Tag.name, SampleTag.source, SampleTag.confidence)
        .join(SampleTag, SampleTag.sample_id == Sample.id)
        .join(Tag, SampleTag.tag_id == Tag.id)
        .where(Sample.library_id == library.id)
    ).all()
    grouped: dict[str, list[tuple[str, str, float]]] = {}
    for sample_name, tag, source, conf in rows:
        grouped.setdefault(sample_name, []).append((tag, source, conf))
    return {name: [t[0] for t in custom_tag_lists(items)] for name, items in sorted(grouped.items())}


def apply_user_tags(library: SampleLibrary, entries: list[tuple[str, list[str]]]) -> dict[str, list[str]]:
    """Set the user tags of the named samples, propagate all user tags of the library, return its custom tags."""
    lock_for_edit(library)
    names = [name for name, _ in entries]
    samples = {
        s.name: s
        for s in db.session.scalars(
            select(Sample)
            .where(Sample.library_id == library.id, Sample.name.in_(names))
            .execution_options(populate_existing=True)
        )
    }
    missing = [n for n in names if n not in samples]
    if missing:
        raise ApiError(400, f"no sample named {missing[0]!r} in library {library.name!r}")
    ids = tag_ids({t for _, tags in entries for t in tags})
    for name, tags in entries:
        sample = samples[name]
        dropped: set[int] = set()
        for link in list(sample.tag_links):
            if link.source == USER or link.tag.name in tags:
                if link.source == USER and link.tag.name not in tags:
                    dropped.add(link.tag_id)
                sample.tag_links.remove(link)
        db.session.flush()
        for tag in tags:
            sample.tag_links.append(SampleTag(tag_id=ids[tag], source=USER, confidence=1.0))
        _set_rejections(sample, reject=dropped, accept={ids[t] for t in tags})
    db.session.flush()
    propagate(library)
    db.session.commit()
    return custom_tags_by_name(library)


def _instrument_classes(library: SampleLibrary) -> dict[str, str]:
    """{sample id: the drum tagger's class} for the custom tagger: a tag spreads within its examples' class.

    Measured in docs/evaluation.md (custom-tag F1 with the tagger's classes against none). A sample the user
    corrected has the user's class; one whose auto tag the user removed without a class has none and is compared
    only with others that have none.
    """
    return {str(sid): shown for sid, shown, _, _ in library_classes(library.id) if shown}


def _indexed_tags(query: Select[tuple[int, str]], index: LibraryIndex) -> dict[str, list[str]]:
    """``{index id: tag names}`` from a query of (sample id, tag name) rows, for the samples in ``index``."""
    out: dict[str, list[str]] = {}
    for sid, tag in db.session.execute(query):
        if str(sid) in index:
            out.setdefault(str(sid), []).append(tag)
    return out


def propagation(library: SampleLibrary, reach: float | str | None = None) -> dict[int, list[ctagger.TagScore]]:
    """``{sample id: propagated tags}`` that ``ctagger.propagate_tags`` derives from the library's user tags and
    rejections at ``reach`` (default: the library's, :func:`library_reach`; never below confidence 0.5); nothing is
    stored."""
    if reach is None:
        reach = library_reach(library)
    vectors = knn.library_vectors(library)
    if vectors is None:
        return {}
    sample_ids = select(Sample.id).where(Sample.library_id == library.id)
    seeds = _indexed_tags(
        select(SampleTag.sample_id, Tag.name)
        .join(Tag, SampleTag.tag_id == Tag.id)
        .where(SampleTag.source == USER, SampleTag.sample_id.in_(sample_ids)),
        vectors.index,
    )
    if not seeds:
        return {}
    rejected = _indexed_tags(
        select(RejectedTag.sample_id, Tag.name)
        .join(Tag, RejectedTag.tag_id == Tag.id)
        .where(RejectedTag.sample_id.in_(sample_ids)),
        vectors.index,
    )
    found = ctagger.propagate_tags(
        vectors.index, seeds, classes=_instrument_classes(library), rejected=rejected, reach=reach
    )
    out = {int(sid): [s for s in scores if s.source == PROPAGATED] for sid, scores in found.items()}
    return {sid: scores for sid, scores in out.items() if scores}


def library_reach(library: SampleLibrary) -> float:
    """The reach the library's custom tags spread at: the one last applied (``POST /usertags/<lib>/reach``), else
    the package's default (strict)."""
    if library.tag_reach is not None:
        return library.tag_reach
    return ctagger.REACH_LEVELS[ctagger.DEFAULT_REACH]


@no_cycle_collection()  # tens of thousands of small objects for a large library: no full collections meanwhile
def propagate(library: SampleLibrary, reach: float | str | None = None) -> None:
    """Replace the library's propagated tags by what the k-NN custom tagger derives from its user tags at ``reach``
    (default: the library's, :func:`library_reach`)."""
    # one propagation per library at a time: on a server database two could each delete the old rows and
    # then insert the same new ones (SQLite, which serialises writers anyway, ignores FOR UPDATE)
    lock_library(library.id)
    sample_ids = select(Sample.id).where(Sample.library_id == library.id)
    db.session.execute(
        delete(SampleTag).where(SampleTag.source == PROPAGATED, SampleTag.sample_id.in_(sample_ids)),
        execution_options={"synchronize_session": False},
    )
    found = propagation(library, reach)
    ids = tag_ids({score.tag for scores in found.values() for score in scores})
    rows = [
        {"sample_id": sound_id, "tag_id": ids[score.tag], "source": PROPAGATED, "confidence": score.confidence}
        for sound_id, scores in found.items()
        for score in scores
    ]
    if rows:  # one executemany: thousands of ORM objects took most of a propagation's time
        db.session.execute(insert(SampleTag), rows)
        db.session.expire_all()  # tag_links loaded before now do not list these rows

"""Build the labelled drum dataset: collect sources, validate, de-duplicate, render loops, split, write.

Outputs under ``<out>``: ``manifest.csv`` (one row per sound), ``skipped.csv`` (every file left out and
why), ``duplicates.csv`` (copies removed and the recording kept), ``summary.txt`` (split x label counts)
and ``audio/`` (rendered one-shots, negatives and loops). Deterministic for a given seed; rendered files
already present are reused.
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drumsamp_models import audio
from drumsamp_models.errors import AudioError

from . import dedupe, loops, render
from .drumsynth import collect_drumsynth
from .hydrogen import read_song
from .machines import collect_chuck, collect_drum_machines, collect_stk
from .manifest import Item, summary_table, write_manifest
from .rules import infer_kit_type
from .sources import (
    RENDER_VERSION,
    Collected,
    Context,
    collect_avldrums,
    collect_fluidr3,
    collect_foxdot,
    collect_freepats,
    collect_hydrogen,
    collect_lmms,
    collect_negatives,
    collect_pypi_kits,
)
from .split import GROUP_SPLIT, SPLITS, assign, check_disjoint, group_of, pattern_split

__all__ = ["DEFAULT_LOOPS", "DEFAULT_SOURCES", "SOURCES", "BuildResult", "all_patterns", "build", "render_loops"]

SONGS_DIR = Path("/usr/share/hydrogen/data/demo_songs")

SOURCES: dict[str, Callable[[Context], Collected]] = {
    "hydrogen": collect_hydrogen,
    "avldrums": collect_avldrums,
    "fluidr3": collect_fluidr3,
    "pypi": collect_pypi_kits,
    "foxdot": collect_foxdot,
    "freepats": collect_freepats,
    "lmms": collect_lmms,
    "drumsynth": collect_drumsynth,
    "negatives": collect_negatives,
    "machines": collect_drum_machines,
    "stk": collect_stk,
    "chuck": collect_chuck,
}
DEFAULT_SOURCES = (
    *("hydrogen", "avldrums", "fluidr3", "pypi", "foxdot", "freepats", "lmms", "negatives"),
    *("machines", "stk", "chuck", "loops"),
)
"""``drumsynth`` (LMMS's DrumSynth presets, synthetic) is left out by default: measured, it changed no figure
(docs/evaluation.md, "Synthetic drum machines"); ``--sources`` adds it."""
DEFAULT_LOOPS = {"train": 240, "val": 60, "test": 80}
_SPLIT_RANK = {"test": 0, "val": 1, "train": 2}
LOOP_VERSION = 1  # bump when loop rendering changes


@dataclass
class BuildResult:
    """What a build produced."""

    items: list[Item]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Probe:
    duration: float
    peak_db: float
    print_: np.ndarray | None


def _probe(item: Item, fingerprint: bool) -> _Probe:
    """Header duration, peak and dedupe fingerprint of an item; raises AudioError for bad files."""
    info = audio.info(item.path)
    y = audio.load(item.path, sr=dedupe.DEDUPE_RATE)
    peak = float(np.max(np.abs(y)))
    return _Probe(info.duration, 20.0 * np.log10(max(peak, 1e-9)), dedupe.fingerprint(y) if fingerprint else None)


def _dedupe(
    items: list[Item], prints: list[np.ndarray | None], log: Callable[[str], None]
) -> tuple[list[Item], list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Keep one item per recording: the copy in the scarcest split (test, then val), then the loudest.
    A recording that carries two labels (in two kits, or two slots of one kit) is dropped altogether."""
    pairs = dedupe.similar_pairs(prints)
    ambiguous = {k for i, j, _ in pairs if items[i].label != items[j].label for k in (i, j)}
    skipped = [(items[k].path, "same recording carries another label elsewhere") for k in sorted(ambiguous)]
    order = sorted(
        (i for i in range(len(items)) if i not in ambiguous),
        key=lambda i: (_SPLIT_RANK.get(items[i].split, 3), -items[i].peak_db, items[i].path),
    )
    copies = dedupe.find_copies([None if i in ambiguous else p for i, p in enumerate(prints)], order)
    removed = []
    for c, k in sorted(copies.items()):
        why = "same recording in another group" if items[c].group != items[k].group else "gain copy / same recording"
        removed.append((items[c].path, items[k].path, why))
    near = _near_copies_across_splits(items, prints, order, set(copies) | ambiguous)
    for c, k in sorted(near.items()):
        why = f"near copy (correlation >= {dedupe.NEAR_COPY}) of a {items[k].split} sound"
        removed.append((items[c].path, items[k].path, why))
    kept = [items[i] for i in order if i not in copies and i not in near]
    cross = sum(1 for r in removed if r[2].startswith("same recording in another"))
    log(
        f"  dedupe: {len(items)} -> {len(kept)} ({len(removed)} copies removed, {cross} across groups, "
        f"{len(near)} near copies across splits)"
    )
    return kept, removed, skipped


def _near_copies_across_splits(
    items: list[Item], prints: list[np.ndarray | None], order: list[int], gone: set[int]
) -> dict[int, int]:
    """``{index: index kept}`` for sounds that closely resemble a sound of another split (correlation of
    ``dedupe.NEAR_COPY`` or more: re-cut, re-processed or re-sampled copies that de-duplication's 0.99
    misses). The sound of the scarcer split (test, then val) stays; the other is removed so that no split
    leaks."""
    live = [i for i in order if i not in gone]
    alive = set(live)
    pairs = dedupe.similar_pairs([prints[i] if i in alive else None for i in range(len(items))], dedupe.NEAR_COPY)
    rank = {i: r for r, i in enumerate(live)}
    ordered = sorted((min(rank[i], rank[j]), max(rank[i], rank[j])) for i, j, _ in pairs)
    near: dict[int, int] = {}
    for r_keep, r_drop in ordered:  # scarcest kept sound first; a removed sound removes nothing more
        keep, drop = live[r_keep], live[r_drop]
        if items[keep].split != items[drop].split and keep not in near:
            near.setdefault(drop, keep)
    return near


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def all_patterns(songs_dir: Path = SONGS_DIR) -> list[loops.Pattern]:
    """The usable patterns of the Hydrogen demo songs followed by our own grooves."""
    pats = []
    for song in sorted(songs_dir.glob("*.h2song")):
        pats += loops.patterns_from_song(read_song(song))
    return pats + loops.own_patterns()


class _OneShotCache:
    """Loads one-shots at 44.1 kHz, keeping those of the current kit only."""

    def __init__(self) -> None:
        self.kit = ""
        self.cache: dict[str, np.ndarray] = {}

    def use_kit(self, kit: str) -> None:
        """Forget the previous kit's sounds when the kit changes."""
        if kit != self.kit:
            self.kit, self.cache = kit, {}

    def __call__(self, path: str) -> np.ndarray:
        if path not in self.cache:
            self.cache[path] = audio.load(path, sr=render.RATE)
        return self.cache[path]


def render_loops(
    ctx: Context,
    kits: Sequence[loops.LoopKit],
    counts: dict[str, int],
    patterns: Sequence[loops.Pattern],
    log: Callable[[str], None] = print,
) -> list[Item]:
    """Render the planned loops of every split under ``ctx.audio/loops`` (reusing files already there) and
    return their items. A split's loops use only that split's kits and that split's patterns."""
    by_split: dict[str, list[loops.Pattern]] = {s: [] for s in SPLITS}
    for p in patterns:
        by_split[pattern_split(p.pid)].append(p)
    items: list[Item] = []
    wanted: set[Path] = set()
    root = ctx.audio / "loops"
    stamp = root / "version.txt"
    version = f"loops {LOOP_VERSION}, one-shot renders {RENDER_VERSION}\n"
    if root.exists() and (not stamp.exists() or stamp.read_text() != version):
        shutil.rmtree(root)  # made by an older builder: render again
    root.mkdir(parents=True, exist_ok=True)
    stamp.write_text(version)
    for kit in kits:
        kit.group = kit.group or group_of(kit.name)
    for split in SPLITS:
        split_kits = [k for k in kits if GROUP_SPLIT.get(k.group) == split]
        plan = loops.plan_loops(split_kits, by_split[split], counts.get(split, 0), ctx.seed)
        n_kits = len({k.name for k, _, _ in plan})
        log(f"  loops {split}: {len(plan)} from {n_kits} kits x {len(by_split[split])} patterns")
        load = _OneShotCache()
        for kit, pattern, spec in plan:
            load.use_kit(kit.name)
            name = f"{_slug(pattern.pid)}_{spec.bpm:g}bpm_s{spec.swing:g}_{spec.bars}b_{spec.seed % 100000:05d}.wav"
            path = root / split / _slug(kit.name) / name
            wanted.add(path)
            if not path.exists():
                try:
                    y = loops.render_loop(spec, pattern, kit.roles, load)
                except (ValueError, AudioError) as exc:
                    log(f"    skip loop {kit.name} / {pattern.pid}: {exc}")
                    continue
                render.write_wav(path, y)
            licence = kit.licence + (
                "; pattern: Hydrogen demo song, GPL-2+" if pattern.pid.startswith("h2:") else "; pattern: ours"
            )
            items.append(
                Item(
                    path=str(path),
                    label="Drumloop",
                    subclass="rendered_loop",
                    kit_type=kit.kit_type,
                    source=kit.source,
                    kit=kit.name,
                    licence=licence,
                    name=pattern.pid.split(":", 1)[1],
                    role="positive",
                    pattern=pattern.pid,
                    origin=f"{pattern.pid} on {kit.name}: {spec.bpm:g} bpm, swing {spec.swing:g}, {spec.bars} bar(s)",
                )
            )
    for stale in root.rglob("*.wav"):
        if stale not in wanted:
            stale.unlink()
    return items


def claps_are_snares(items: Sequence[Item]) -> None:
    """Issue 21's taxonomy: a hand clap is a Snare (sub-class ``clap``), no longer a non-drum."""
    for item in items:
        if item.subclass == "clap":
            item.label, item.role = "Snare", "positive"
            item.kit_type = item.kit_type or infer_kit_type(item.name, item.kit, default="acoustic")


def build(
    out: Path,
    sources: Sequence[str] = DEFAULT_SOURCES,
    seed: int = 0,
    loop_counts: dict[str, int] | None = None,
    max_negatives_per_source: int = 150,
    workers: int = 2,
    log: Callable[[str], None] = print,
) -> BuildResult:
    """Build the dataset into ``out`` and return its items (also written to ``out/manifest.csv``)."""
    t0 = time.monotonic()
    out = out.resolve()
    ctx = Context(out=out, seed=seed, max_negatives_per_source=max_negatives_per_source, log=log)
    unknown = [s for s in sources if s not in SOURCES and s != "loops"]
    if unknown:
        raise ValueError(f"unknown sources {unknown}; choose from {sorted([*SOURCES, 'loops'])}")
    collected = Collected()
    for name in sources:
        if name in SOURCES:
            log(f"collecting {name} ...")
            try:
                got = SOURCES[name](ctx)
            except render.RenderError as exc:  # a synthesizer is missing or failed: say so, go on
                log(f"  WARNING: source {name} skipped: {exc}")
                collected.skipped.append((name, f"source skipped: {exc}"))
                continue
            log(f"  {len(got.items)} candidates, {len(got.skipped)} skipped")
            collected.extend(got)
    claps_are_snares(collected.items)
    assign(collected.items)
    for kit in collected.kits:
        kit.group = group_of(kit.name)

    log(f"validating {len(collected.items)} files ...")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(_probe, item, True) for item in collected.items]
        valid: list[Item] = []
        prints: list[np.ndarray | None] = []
        skipped = list(collected.skipped)
        for item, fut in zip(collected.items, futures, strict=True):
            try:
                probe = fut.result()
            except AudioError as exc:
                skipped.append((item.path, audio.describe_error(exc)))
                continue
            item.duration, item.peak_db = probe.duration, probe.peak_db
            valid.append(item)
            prints.append(probe.print_)
    kept, removed, dup_skipped = _dedupe(valid, prints, log)
    skipped += dup_skipped

    if "loops" in sources:
        log("rendering loops ...")
        loop_items = render_loops(ctx, collected.kits, loop_counts or DEFAULT_LOOPS, all_patterns(), log)
        assign(loop_items)
        for item in loop_items:
            info = audio.info(item.path)
            item.duration = info.duration
            item.peak_db = round(20 * np.log10(0.89), 1)
        kept += loop_items
    check_disjoint(kept)

    out.mkdir(parents=True, exist_ok=True)
    write_manifest(kept, out / "manifest.csv")
    _write_rows(out / "skipped.csv", ["path", "reason"], sorted(set(skipped)))
    _write_rows(out / "duplicates.csv", ["removed", "kept", "reason"], sorted(removed))
    table = summary_table(kept)
    (out / "summary.txt").write_text(table + "\n")
    result = BuildResult(kept, sorted(set(skipped)), sorted(removed), time.monotonic() - t0)
    log(f"\n{table}\n\n{len(kept)} sounds in {out / 'manifest.csv'} ({result.seconds:.0f} s)")
    return result


def _write_rows(path: Path, header: list[str], rows: Sequence[tuple[str, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def clean(out: Path) -> None:
    """Remove a previous build's outputs (rendered audio included)."""
    if out.exists():
        shutil.rmtree(out)

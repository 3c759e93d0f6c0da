"""Drum loops of known tempo for the loop-tempo ranker (``tools/fit_tempo.py``) and its benchmark
(``bench/tempo_quality.py``): the dataset's loop renderer (:mod:`tools.dataset.loops`: human-written patterns on
real one-shots, tempo uniform in 70-180 BPM, swing, 1-4 bars) on the kits of chosen splits, and loops on the
drum-machine recordings of ``/work/shared/data/drum-machines`` (kits no split holds, kept for evaluation).

A split's loops use only that split's kits and patterns, as in the dataset, so the ranker fitted on ``train`` and
``val`` never hears a ``test`` kit or pattern.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumsamp_models import audio

from . import loops, render
from .build import all_patterns
from .rules import classify
from .sources import Context, collect_hydrogen, collect_lmms
from .split import GROUP_SPLIT, group_of, pattern_split

__all__ = ["DRUM_MACHINES", "TempoLoop", "drum_machine_kits", "render_drum_machine_loops", "render_split_loops"]

DRUM_MACHINES = Path(os.environ.get("DRUM_MACHINES_DIR", "/work/shared/data/drum-machines"))
_AUDIO = {".wav", ".ogg", ".mp3", ".flac", ".aif", ".aiff"}


@dataclass(frozen=True)
class TempoLoop:
    """One rendered loop: where it comes from, its true tempo and its mono 44.1 kHz signal."""

    name: str
    kit: str
    pattern: str
    bpm: float
    swing: float
    bars: int
    y: np.ndarray


def _kits_of(splits: Sequence[str]) -> list[loops.LoopKit]:
    ctx = Context(out=Path("/nonexistent"), log=lambda _: None)
    kits = collect_hydrogen(ctx).kits + collect_lmms(ctx).kits
    chosen = []
    for kit in kits:
        kit.group = group_of(kit.name)
        if GROUP_SPLIT.get(kit.group) in splits:
            chosen.append(kit)
    return chosen


def drum_machine_kits(root: Path = DRUM_MACHINES) -> list[loops.LoopKit]:
    """One loop kit per drum machine (and the acoustic studio kit) of ``root``, its roles from the file names; a
    sound stored in two formats counts once. The orchestral percussion is left out."""
    kits = []
    for folder in sorted(p for p in root.glob("**/") if p.is_dir() and "ORCHESTRA" not in p.parts):
        files: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in _AUDIO:
                files.setdefault(path.stem, path)
        name = (folder.parent if folder.name == "samples" else folder).name
        kit = loops.LoopKit(name, name, "drum-machines", "see the folder's README", "electronic")
        for stem, path in files.items():
            label = classify(stem)
            if label is not None and label.is_drum:
                kit.add(label.subclass, [str(path)])
        if kit.playable:
            kits.append(kit)
    return kits


def _render(plan: list[tuple[loops.LoopKit, loops.Pattern, loops.LoopSpec]]) -> list[TempoLoop]:
    cache: dict[str, np.ndarray] = {}

    def load(path: str) -> np.ndarray:
        if path not in cache:
            cache[path] = audio.load(path, sr=render.RATE)
        return cache[path]

    out = []
    for kit, pattern, spec in plan:
        try:
            y = loops.render_loop(spec, pattern, kit.roles, load)
        except ValueError:
            continue  # the kit plays fewer than two of the pattern's instruments
        name = f"{kit.name} | {pattern.pid} | {spec.bpm:g} bpm, swing {spec.swing:g}, {spec.bars} bar(s)"
        out.append(TempoLoop(name, kit.name, pattern.pid, spec.bpm, spec.swing, spec.bars, y))
    return out


def render_split_loops(splits: Sequence[str], count: int, seed: int) -> list[TempoLoop]:
    """``count`` loops on the kits and patterns of ``splits`` (seeded; deterministic)."""
    patterns = [p for p in all_patterns() if pattern_split(p.pid) in splits]
    return _render(loops.plan_loops(_kits_of(splits), patterns, count, seed))


def render_drum_machine_loops(count: int, seed: int, splits: Sequence[str] = ("test",)) -> list[TempoLoop]:
    """``count`` loops of the ``splits``' patterns on the drum machines (no split holds these kits)."""
    patterns = [p for p in all_patterns() if pattern_split(p.pid) in splits]
    return _render(loops.plan_loops(drum_machine_kits(), patterns, count, seed))

"""Recommendation variety on real drum recordings: near-duplicates and same-class share, before vs after.

A user favours a few sounds of a kit; the library answers 8 recommendations (``RECOMMENDATIONS``). Two things
are measured over many draws of favourites:

* **near-duplicate share**: of all the pairs (favourite, recommendation) and (recommendation, recommendation)
  of one answer, the share that are *near-duplicates*: two sounds of the same kit and the same instrument that
  differ only by velocity layer, round robin or length. Operationally: for Hydrogen kits, two layers of one
  ``<instrument>`` of ``drumkit.xml``; for the drum-machine folders, the same file name once the layer
  suffixes are removed (digits, ``accent``, ``alt``, ``hard``/``soft``/``med``..., ``long``/``short``:
  ``kick`` = ``kick-accent``, ``snare-01`` = ``snare-03``, ``hihat-closed-long`` = ``hihat-closed``). A broader
  reading also merges pitch variants (``tom-h`` = ``tom-l``, ``HiTom`` = ``LowTom``): printed beside it.
* **same-class share**: the share of recommendations whose true class (from the file and instrument names,
  ``tools/dataset/rules.py``) is the class of the favourite they come from.

Libraries (nothing here is copied into the repository): *tuning* — the Hydrogen kits of the dataset's train
split (where the recommender's parameters were chosen); *evaluation* — every drum-machine folder of
``/work/shared/data/drum-machines`` (never used for a choice of the recommender; since tagger 0.7 the tagger
trained on ten of them — train and val rows of ``data/dataset/manifest.csv`` —, so a table of the machines of its
test split alone is printed too) together with the Hydrogen kits of the val and test splits (heavily
multi-sampled: 3-11 layers per drum). Vectors and classes are the backend's:
the shipped tagger with descriptors (``Tagger(describe=True)``), the ``"musicnn+descriptors"`` space, and the
tagger's class as the ``classes`` the backend passes. Features are cached under ``data/cache/recommend/``.

Run: ``.venv/bin/python bench/recommend_quality.py [--grid] [--timing]`` (the first run tags ~800 files: ~2
minutes on 2 cores; then ~30 s). ``--grid`` prints the tuning grid, ``--timing`` times ``recommend`` on synthetic
vectors.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumsamp_models import vectors
from drumsamp_models.recommender import Recommender

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import tagged  # noqa: E402 (the repository root first)
from bench.correction_quality import trained_folders  # noqa: E402
from tools.dataset.hydrogen import read_kit  # noqa: E402
from tools.dataset.rules import classify, classify_with_file  # noqa: E402
from tools.dataset.sources import HYDROGEN_DIR  # noqa: E402
from tools.dataset.split import GROUP_SPLIT, group_of  # noqa: E402

DRUM_MACHINES = Path(os.environ.get("DRUM_MACHINES", "/work/shared/data/drum-machines"))
CACHE = ROOT / "data" / "cache" / "recommend"
AUDIO = (".wav", ".aif", ".aiff", ".flac", ".ogg", ".mp3")
DRUMS = ("Kick", "Snare", "Cymbal", "Tom")
N_RECS = 8
# Hydrogen kits left out: a copy of another kit (The Black Pearl holds GMRockKit) and guitar strums.
SKIP_KITS = {"The Black Pearl 1.0", "belofilms_GuitarStrums"}
# layer words: velocity, round robin, articulation length; pitch words only in the broad reading
LAYER_WORDS = {
    "accent", "acc", "alt", "hard", "hardest", "soft", "softest", "med", "medium", "loud", "quiet",
    "long", "short", "ff", "f", "mf", "mp", "p", "pp", "v", "vel", "rr", "layer", "var",
    "forte", "fortissimo", "mezzo", "piano", "pianissimo",
}  # fmt: skip
PITCH_WORDS = {"h", "hh", "m", "l", "ll", "lll", "hi", "high", "mid", "middle", "lo", "low", "tuned", "up", "down"}


@dataclass(frozen=True)
class Sound:
    """One sound of a library: where it lives, its true class and its near-duplicate keys."""

    path: str
    kit: str
    label: str  # Kick / Snare / Cymbal / Tom / Unknown (percussion)
    slot: str  # near-duplicate key: kit + instrument without layer suffixes
    broad: str  # the same without pitch suffixes either
    library: str  # "tuning" or "evaluation"
    name: str = ""  # its path in the user's library (relative to the folder imported)


def _words(name: str) -> list[str]:
    """Lower-case words of a file or instrument name, camelCase and digits split."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", name)
    return re.sub(r"[^a-z0-9]+", " ", spaced.lower()).split()


def instrument_keys(kit: str, name: str) -> tuple[str, str]:
    """``(slot, broad)``: the instrument's name without layer words and numbers, and without pitch words too."""
    split = re.sub(r"\b(hi|high|mid|low|lo)(tom|conga|bongo)\b", r"\1 \2", " ".join(_words(name)))
    words = [w for w in split.split() if not w.isdigit() and w not in LAYER_WORDS]
    broad = [w for i, w in enumerate(words) if i == 0 or w not in PITCH_WORDS]
    return f"{kit}/{' '.join(words)}", f"{kit}/{' '.join(broad)}"


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def drum_machine_sounds(root: Path = DRUM_MACHINES) -> list[Sound]:
    """Every labelled one-shot of the drum-machine folders (a kit is the folder above its files)."""
    out = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO):
        if "ORCHESTRA" in path.parts:
            continue  # orchestral phrases and rolls; its MP3 files are truncated (the upload refuses them)
        folder = path.parent.parent if path.parent.name in ("samples", "TR707WAV") else path.parent
        kit, stem = folder.name, path.stem
        label = classify(stem)
        if label is None:
            continue
        slot, broad = instrument_keys(kit, stem)
        out.append(Sound(str(path), kit, label.label, slot, broad, "evaluation", str(path.relative_to(root))))
    return out


def hydrogen_sounds(root: Path = HYDROGEN_DIR) -> list[Sound]:
    """Every labelled layer of the Hydrogen kits: train-split kits for tuning, val/test kits for evaluation."""
    out = []
    for xml in sorted(root.glob("*/drumkit.xml")):
        kit_name = xml.parent.name
        if kit_name in SKIP_KITS:
            continue
        library = "tuning" if GROUP_SPLIT[group_of(kit_name)] == "train" else "evaluation"
        kit = read_kit(xml)
        for inst in kit.instruments:
            for layer in inst.layers:
                label = classify_with_file(inst.name, layer.path.name, kit_name) if layer.path.exists() else None
                if label is None:
                    continue
                broad = instrument_keys(kit_name, inst.name)[1]
                slot = f"{kit_name}/{inst.id}:{inst.name}"  # the slot's layers: velocity layers, round robins
                name = str(layer.path.relative_to(root))
                out.append(Sound(str(layer.path), kit_name, label.label, slot, broad, library, name))
    return out


def all_sounds() -> list[Sound]:
    """Both libraries, each file once and each content once (an upload refuses the same content twice)."""
    seen: set[str] = set()
    out = []
    for s in [*drum_machine_sounds(), *hydrogen_sounds()]:
        if s.path in seen:
            continue
        digest = _digest(Path(s.path))
        if digest in seen:
            continue
        seen |= {s.path, digest}
        out.append(s)
    return out


# ---------------------------------------------------------------------- features (the backend's analysis)
@dataclass(frozen=True)
class Analysed:
    """What the backend stores of a sound: its vector in the similarity space and the tagger's class."""

    vector: np.ndarray
    tag: str


def analyse(sounds: Sequence[Sound], verbose: bool = True) -> dict[str, Analysed]:
    """The backend's analysis of every sound (cached under ``data/cache/recommend/``); failed files are left out."""
    found = tagged([s.path for s in sounds], CACHE, verbose)
    return {
        path: Analysed(vectors.described_vector(z["embedding"], z["descriptors"]), str(z["tag"]))
        for path, z in found.items()
    }


# ---------------------------------------------------------------------- measures
@dataclass
class Scores:
    """Totals over many answers."""

    answers: int = 0
    recs: int = 0
    pairs: int = 0
    dup_pairs: int = 0
    broad_pairs: int = 0
    echoes: int = 0
    same_class: int = 0
    shown_class: int = 0
    distance: float = 0.0

    def add(self, favourites: Sequence[Sound], recs: Sequence[tuple[Sound, Sound, float, bool]]) -> None:
        """One answer: ``recs`` as (recommended sound, the favourite it comes from, distance, same shown class)."""
        self.answers += 1
        shown: list[Sound] = list(favourites)
        for rec, source, dist, same_shown in recs:
            self.recs += 1
            self.same_class += rec.label == source.label
            self.shown_class += same_shown
            self.distance += dist
            self.pairs += len(shown)
            self.dup_pairs += sum(rec.slot == o.slot for o in shown)
            self.broad_pairs += sum(rec.broad == o.broad for o in shown)
            self.echoes += any(rec.slot == o.slot for o in shown)
            shown.append(rec)

    def row(self) -> str:
        """Markdown cells: near-duplicate pairs (and broad), echoing recommendations, same class (true, shown),
        mean distance."""
        r, p = max(self.recs, 1), max(self.pairs, 1)
        return (
            f"{self.dup_pairs / p:.3f} | {self.broad_pairs / p:.3f} | {self.echoes / r:.3f} | "
            f"{self.same_class / r:.3f} | {self.shown_class / r:.3f} | {self.distance / r:.3f}"
        )


def draws(sounds: Sequence[Sound], n_favs: int, count: int, seed: int = 0) -> list[list[Sound]]:
    """Favourites drawn from kits: every drum one-shot alone (``n_favs`` 1), else ``count`` random draws of
    ``n_favs`` drum one-shots of one kit (a kit with at least that many)."""
    drums = [s for s in sounds if s.label in DRUMS]
    if n_favs == 1:
        return [[s] for s in drums]
    by_kit: dict[str, list[Sound]] = {}
    for s in drums:
        by_kit.setdefault(s.kit, []).append(s)
    kits = sorted(k for k, v in by_kit.items() if len(v) >= n_favs)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        members = by_kit[kits[rng.integers(len(kits))]]
        out.append([members[i] for i in rng.choice(len(members), n_favs, replace=False)])
    return out


def evaluate(
    sounds: Sequence[Sound],
    analysed: dict[str, Analysed],
    recommender: Recommender,
    favourite_sets: Sequence[Sequence[Sound]],
    classes: str = "tagger",
) -> Scores:
    """Recommend for every favourite set in a library of ``sounds`` and score the answers.

    ``classes``: what the backend passes as each sound's class — ``"tagger"`` (the shipped tagger's, as the app
    shows them), ``"true"`` (every class corrected by the user) or ``"none"``.
    """
    by_path = {s.path: s for s in sounds}
    index = vectors.make_index().fit(np.stack([analysed[s.path].vector for s in sounds]), [s.path for s in sounds])
    recommender.fit(index)
    shown = {s.path: analysed[s.path].tag for s in sounds}
    given = {"tagger": shown, "true": {s.path: s.label for s in sounds}, "none": None}[classes]
    names = {s.path: s.name for s in sounds}
    scores = Scores()
    for favs in favourite_sets:
        found = recommender.recommend([f.path for f in favs], N_RECS, classes=given, names=names)
        scores.add(
            favs,
            [
                (by_path[r.sound], by_path[r.because_of], r.distance, shown[r.sound] == shown[r.because_of])
                for r in found
            ],
        )
    return scores


def library(sounds: Sequence[Sound], analysed: dict[str, Analysed], name: str) -> list[Sound]:
    """The analysed sounds of one library."""
    return [s for s in sounds if s.library == name and s.path in analysed]


HEADER = (
    "| favourites | recommender | near-duplicate pairs | broad reading | echoing recommendations | same class "
    "| same class shown | mean distance |\n|---|---|---:|---:|---:|---:|---:|---:|"
)
BEFORE = ("before: rank merging", Recommender(diversity=0.0, duplicate_distance=None, layer_distance=None), "none")
SIGNAL = ("MMR and distance only (no names)", Recommender(layer_distance=None), "tagger")
AFTER = ("after: the default", Recommender(), "tagger")
CORRECTED = ("the default, every class corrected", Recommender(), "true")


def table(lib: Sequence[Sound], analysed: dict[str, Analysed], n_draws: int, settings: Sequence[tuple]) -> None:
    """One table: one favourite at a time and ``n_draws`` draws of three, for each setting."""
    print(HEADER)
    for n_favs, count in ((1, 0), (3, n_draws)):
        sets = draws(lib, n_favs, count)
        what = f"each of {len(sets)} drum one-shots alone" if n_favs == 1 else f"{count} draws of 3 from one kit"
        for label, rec, classes in settings:
            print(f"| {what} | {label} | {evaluate(lib, analysed, rec, sets, classes).row()} |")
    print()


def separability(lib: Sequence[Sound], analysed: dict[str, Analysed]) -> str:
    """Median distance between layers of one instrument, median distance of a drum one-shot to the nearest sound of
    another instrument, and the mean per-sound AUC of "same instrument" against "other instrument of the class"."""
    X = np.stack([analysed[s.path].vector for s in lib]).astype(np.float64)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    dist = 1.0 - X @ X.T
    within, nearest_other, aucs = [], [], []
    for i, s in enumerate(lib):
        if s.label not in DRUMS:
            continue
        others = np.array([j != i for j in range(len(lib))])
        same = np.array([o.slot == s.slot for o in lib]) & others
        klass = np.array([o.label == s.label for o in lib]) & others
        within += dist[i, same].tolist()
        nearest_other.append(dist[i, others & ~same].min())
        pos, neg = dist[i, same], dist[i, klass & ~same]
        if len(pos) and len(neg):
            aucs.append(float((pos[:, None] < neg[None, :]).mean()))
    return (
        f"median distance between layers of one instrument {np.median(within):.3f}; median distance of a drum "
        f"one-shot to the nearest other instrument {np.median(nearest_other):.3f}; mean AUC of same instrument "
        f"against other instruments of the class {np.mean(aucs):.3f} ({len(aucs)} one-shots)"
    )


def timing() -> None:
    """Milliseconds per ``recommend`` call on synthetic vectors (8 recommendations), before and after."""
    rng = np.random.default_rng(0)
    print("| sounds | favourites | before ms | after ms |\n|---:|---:|---:|---:|")
    for n_sounds, n_favs in ((10_000, 1), (10_000, 50), (100_000, 200)):
        ids = [f"Kit{i // 8}/hit_{i % 8}.wav" for i in range(n_sounds)]
        index = vectors.make_index().fit(rng.standard_normal((n_sounds, 236)).astype(np.float32), ids)
        classes = {sound: DRUMS[k % 4] for k, sound in enumerate(ids)}
        favs = ids[:: n_sounds // n_favs][:n_favs]
        cells = []
        for rec, given in ((BEFORE[1], None), (AFTER[1], classes)):
            rec.fit(index)
            rec.recommend(favs, N_RECS, classes=given)  # warm
            start = time.perf_counter()
            for _ in range(3):
                rec.recommend(favs, N_RECS, classes=given)
            cells.append(f"{(time.perf_counter() - start) / 3 * 1000:.1f}")
        print(f"| {n_sounds:,} | {n_favs} | {cells[0]} | {cells[1]} |")
    print()


def main(argv: list[str] | None = None) -> int:
    """Print the tables of docs/evaluation.md's "Recommendation variety"."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", action="store_true", help="also print the tuning grid (train-split kits)")
    parser.add_argument("--draws", type=int, default=300, help="random draws of three favourites (default 300)")
    parser.add_argument("--timing", action="store_true", help="also time recommend() on synthetic vectors")
    args = parser.parse_args(argv)
    sounds = all_sounds()
    analysed = analyse(sounds)
    tuning = library(sounds, analysed, "tuning")
    if args.grid:
        print(f"Tuning grid: {len(tuning)} sounds of the train-split Hydrogen kits, each drum one-shot alone\n")
        print(
            "| diversity | duplicate distance | layer distance | near-duplicate pairs | broad reading "
            "| echoing recommendations | same class | same class shown | mean distance |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        singles = draws(tuning, 1, 0)
        grid = [(d, r, lr) for d in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5) for r in (None, 0.03) for lr in (None, 0.3)]
        grid += [(0.3, 0.03, 0.2), (0.3, 0.03, 0.5)]
        for diversity, radius, layer in grid:
            rec = Recommender(diversity=diversity, duplicate_distance=radius, layer_distance=layer)
            print(f"| {diversity} | {radius} | {layer} | {evaluate(tuning, analysed, rec, singles).row()} |")
        print()
    evaluation = library(sounds, analysed, "evaluation")
    machines = [s for s in evaluation if s.path.startswith(str(DRUM_MACHINES))]
    layered = [s for s in evaluation if not s.path.startswith(str(DRUM_MACHINES))]
    try:
        trained = trained_folders(machines=DRUM_MACHINES)
        unseen_machines = [s for s in machines if Path(s.path).parent.resolve() not in trained]
    except FileNotFoundError:  # no dataset manifest: which machines the tagger trained on is unknown
        unseen_machines = []
    for title, lib, settings in (
        ("Tuning library (train-split Hydrogen kits)", tuning, (BEFORE, AFTER)),
        ("Evaluation library (drum machines + val/test Hydrogen kits)", evaluation, (BEFORE, SIGNAL, AFTER, CORRECTED)),
        ("Drum machines alone", machines, (BEFORE, AFTER, CORRECTED)),
        ("Drum machines the tagger never trained on (its test split)", unseen_machines, (BEFORE, AFTER, CORRECTED)),
        ("Val/test Hydrogen kits alone", layered, (BEFORE, AFTER, CORRECTED)),
    ):
        if not lib:
            continue
        kits = len({s.kit for s in lib})
        drums = [s for s in lib if s.label in DRUMS]
        right = sum(analysed[s.path].tag == s.label for s in drums) / len(drums)
        print(f"{title}: {len(lib)} sounds ({len(drums)} drum one-shots) of {kits} kits; the tagger's class is right")
        print(f"for {right:.3f} of the drum one-shots\n")
        table(lib, analysed, args.draws, settings)
    print(f"Evaluation library: {separability(evaluation, analysed)}\n")
    if args.timing:
        timing()
    return 0


if __name__ == "__main__":
    sys.exit(main())

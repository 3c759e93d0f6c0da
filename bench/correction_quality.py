"""Class corrections and their suggestions on real drum-machine recordings the tagger never saw.

A producer's library holds one drum machine whose toms the shipped tagger calls Kick. The producer corrects 3 of
those toms to Tom; the server then suggests classes for similar sounds (``drumsamp_models.csuggest``, the code
the server runs). Measured: the share of the machine's other mis-tagged toms now suggested as Tom, and the
number of wrong suggestions, in a library of that machine's whole kit plus every other kit's kicks (and in a
larger one with every sound of every kit). Every choice of the 3 corrected toms among the machine's mis-tagged
toms counts once (all combinations; a random 50 of them when there are more).

Data: only kits the shipped tagger never trained, selected or calibrated on: the drum machines of
``/work/shared/data/drum-machines`` that are in no train or val row of ``data/dataset/manifest.csv`` (since
tagger 0.7 the dataset holds eight machines and the orchestral percussion in train and Casio RZ-1 / TR-505 in
val: those are left out; TR-707, LinnDrum LM-2, CR-8000 and MFB-512 are its test split), the dataset's other
test kits (Hydrogen's ForzeeStereo, LMMS's drums) and the drum kits of Debian's TimGM6mb SoundFont (the dataset
took only its melodic notes); labels from the file and instrument names (``tools/dataset/rules.py``). A measured
machine that the manifest puts in train or val is refused. The shipped tagger's results (class, embedding,
descriptors) are cached under ``data/cache/embeddings/corrections/``, keyed by the fingerprints of the tagger's
head and gate and of the descriptors.

``--tune`` prints the parameter grid on the tagger's *training* kits (Hydrogen kits of the train split) with
simulated mistakes (all toms of a kit shown Kick) and on the real mistakes of three never-trained kits other than
the held-out machine: the shipped parameters were chosen there, never on the held-out machine measured here.

Run: ``.venv/bin/python bench/correction_quality.py`` (first run tags ~300 sounds: a minute or two on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumsamp_models import csuggest, descriptors
from drumsamp_models.vectors import DESCRIBED, described_vectors, make_index

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.dataset import render  # noqa: E402 (the repository root first)
from tools.dataset.hydrogen import read_kit  # noqa: E402
from tools.dataset.rules import classify, classify_gm_note, classify_with_file  # noqa: E402

MACHINES = Path(os.environ.get("DRUM_MACHINES_DIR", "/work/shared/data/drum-machines"))
MANIFEST = ROOT / "data" / "dataset" / "manifest.csv"
HYDROGEN = Path("/usr/share/hydrogen/data/drumkits")
LMMS_DRUMS = Path("/usr/share/lmms/samples/drums")
TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
TIMGM_KITS = {
    0: "TimGM6mb Standard",
    8: "TimGM6mb Room",
    16: "TimGM6mb Power",
    24: "TimGM6mb Electronic",
    25: "TimGM6mb TR 808",
    32: "TimGM6mb Jazz",
    40: "TimGM6mb Brush",
}
GM_NOTES = range(35, 60)
CACHE = ROOT / "data" / "cache" / "embeddings" / "corrections"
AUDIO = (".wav", ".ogg", ".mp3", ".flac", ".aif", ".aiff")
UNSEEN_HYDROGEN = ("ForzeeStereo",)  # the dataset's test kit
TRAIN_HYDROGEN = (  # kits of the tagger's training split, for the simulated mistakes of --tune
    "GMRockKit",
    "The Black Pearl 1.0",
    "Millo_MultiLayered2",
    "Millo-Drums_v.1",
    "ColomboAcousticDrumkit",
    "TR808EmulationKit",
    "Audiophob",
    "VariBreaks",
    "ElectricEmpireKit",
)
N_CORRECTED = 3
MAX_DRAWS = 50


@dataclass(frozen=True)
class Sound:
    """One labelled recording with the shipped tagger's results."""

    path: str
    label: str
    kit: str
    predicted: str = ""
    likelihoods: dict[str, float] | None = None
    embedding: np.ndarray | None = None
    described: np.ndarray | None = None


def _stem_label(path: Path) -> str | None:
    """The label of a file by its name (and folder: ``bass drum/...``); None when no rule gives one."""
    found = classify(path.stem) or classify(path.parent.name)
    return found.label if found is not None else None


def machine_sounds() -> list[Sound]:
    """Every labelled one-shot of the drum-machine recordings (orchestral percussion left out: not a kit)."""
    out: list[Sound] = []
    for folder in sorted({p.parent for p in MACHINES.rglob("*") if p.suffix.lower() in AUDIO}):
        if "ORCHESTRA" in folder.parts:
            continue
        kit = folder.parent.name if folder.name in ("samples", "TR707WAV") else folder.name
        for path in sorted(folder.iterdir()):
            label = _stem_label(path) if path.suffix.lower() in AUDIO else None
            if label is not None:
                out.append(Sound(str(path), label, kit))
    return out


def hydrogen_sounds(kits: Sequence[str]) -> list[Sound]:
    """Every labelled layer file of the named Hydrogen kits (labels as the dataset builder gives them)."""
    out: list[Sound] = []
    for name in kits:
        xml = HYDROGEN / name / "drumkit.xml"
        if not xml.exists():
            continue
        seen: set[Path] = set()
        for inst in read_kit(xml).instruments:
            for layer in inst.layers:
                if layer.path in seen or not layer.path.exists():
                    continue
                seen.add(layer.path)
                label = classify_with_file(inst.name, layer.path.name, name)
                if label is not None:
                    out.append(Sound(str(layer.path), label.label, name))
    return out


def lmms_sounds() -> list[Sound]:
    """LMMS's drum one-shots (one kit: the dataset's test source)."""
    if not LMMS_DRUMS.is_dir():
        return []
    found = [(p, _stem_label(p)) for p in sorted(LMMS_DRUMS.glob("*.ogg"))]
    return [Sound(str(p), label, "LMMS") for p, label in found if label is not None]


def soundfont_sounds() -> list[Sound]:
    """The drum kits of Debian's TimGM6mb SoundFont (never used by the tagger's dataset, which took only its
    melodic notes): every General MIDI drum note 35-59 of each kit, rendered once with FluidSynth (velocity 100,
    dry) into the cache; a render identical to an earlier kit's is kept once (the first kit's)."""
    if not TIMGM.exists():
        return []
    folder = CACHE / "audio" / "TimGM6mb"
    out: list[Sound] = []
    seen: set[str] = set()
    for program, kit in TIMGM_KITS.items():
        notes = [(n, classify_gm_note(n)) for n in GM_NOTES]
        notes = [(n, label) for n, label in notes if label is not None]
        paths = [folder / f"p{program:03d}_n{n:03d}.wav" for n, _ in notes]
        if not all(p.exists() for p in paths):
            slots = render.render_slots(
                "fluidsynth", TIMGM, [render.SlotNote(n, 100, program, 128, 9, 2.0) for n, _ in notes], slot=4.0
            )
            for path, row in zip(paths, slots, strict=True):
                y = render.trim(row * 2.0, render.RATE)
                render.write_wav(path, np.zeros(render.RATE // 10, np.float32) if y is None else y)
        for path, (_, label) in zip(paths, notes, strict=True):
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                out.append(Sound(str(path), label.label, kit))
    return out


def trained_folders(manifest: Path = MANIFEST, machines: Path = MACHINES) -> set[Path]:
    """Folders holding a file of the tagger dataset's train or val split (the drum machines' by their origin):
    the tagger trained or was selected on every sound there. FileNotFoundError without a manifest."""
    import csv

    out: set[Path] = set()
    with manifest.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] not in ("train", "val"):
                continue
            origin = row.get("origin", "")
            path = machines / origin.split(":", 1)[1] if origin.startswith("drum-machines:") else Path(row["path"])
            out.add(path.parent.resolve())
    return out


def never_trained(sounds: Sequence[Sound], manifest: Path = MANIFEST) -> tuple[list[Sound], list[str]]:
    """The sounds of kits with no file in the folders of :func:`trained_folders`, and the kits left out."""
    try:
        seen = trained_folders(manifest)
    except FileNotFoundError:
        raise SystemExit(f"{manifest} is missing (make dataset): which kits the tagger trained on is unknown") from None
    left_out = {s.kit for s in sounds if Path(s.path).parent.resolve() in seen}
    return [s for s in sounds if s.kit not in left_out], sorted(left_out)


def _cache_file(path: str, model: str) -> Path:
    st = os.stat(path)
    key = f"{os.path.abspath(path)}|{st.st_mtime_ns}|{st.st_size}|{model}|v2"
    return CACHE / (hashlib.sha1(key.encode()).hexdigest() + ".npz")


def tag_sounds(sounds: Sequence[Sound], verbose: bool = True) -> list[Sound]:
    """The sounds with the shipped tagger's class, mean embedding and descriptors (cached); failures dropped."""
    from drumsamp_models.tagger import Tagger

    tagger = Tagger(describe=True)
    gate = tagger.gate.fingerprint if tagger.gate is not None else "no-gate"
    model = hashlib.sha1((tagger.head.fingerprint + gate + descriptors.fingerprint()).encode()).hexdigest()
    CACHE.mkdir(parents=True, exist_ok=True)
    todo = []
    for s in sounds:
        target = _cache_file(s.path, model)
        if not target.exists() and not target.with_suffix(".failed").exists():  # a file that failed is not retried
            todo.append(s.path)
    if todo:
        if verbose:
            print(f"tagging {len(todo)} files (cached under {CACHE})", file=sys.stderr)
        start = time.perf_counter()
        for i in range(0, len(todo), 32):
            report = tagger.predict(todo[i : i + 32])
            for path, r in report.results.items():
                classes = np.array(list(r.likelihoods))
                values = np.array([r.likelihoods[c] for c in classes], np.float32)
                np.savez(
                    _cache_file(path, model),
                    tag=r.tag,
                    classes=classes,
                    likelihoods=values,
                    embedding=r.embedding,
                    described=r.descriptors,
                )
            for path, reason in report.failed.items():
                print(f"skipped {path}: {reason}", file=sys.stderr)
                _cache_file(path, model).with_suffix(".failed").write_text(reason)  # not tried again
            if verbose:
                print(f"  {min(i + 32, len(todo))}/{len(todo)} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    out = []
    for s in sounds:
        f = _cache_file(s.path, model)
        if f.exists():
            with np.load(f) as z:
                likelihoods = {str(c): float(v) for c, v in zip(z["classes"], z["likelihoods"], strict=True)}
                out.append(Sound(s.path, s.label, s.kit, str(z["tag"]), likelihoods, z["embedding"], z["described"]))
    return out


def _short(path: str) -> str:
    return re.sub(r"^.*/", "", path)


def tom_report(sounds: Sequence[Sound]) -> None:
    """How the tagger calls each kit's toms."""
    print("The shipped tagger's class of each kit's toms:")
    print()
    print("| kit | toms | tagger's classes |")
    print("|---|---:|---|")
    by_kit: dict[str, list[Sound]] = {}
    for s in sounds:
        if s.label == "Tom":
            by_kit.setdefault(s.kit, []).append(s)
    for kit, toms in sorted(by_kit.items()):
        counts = Counter(s.predicted for s in toms)
        print(f"| {kit} | {len(toms)} | " + ", ".join(f"{c} {n}" for c, n in counts.most_common()) + " |")
    print()


@dataclass(frozen=True)
class Scenario:
    """A library with one machine whose toms the library shows as Kick (the tagger's, or a simulated mistake)."""

    machine: str
    sounds: list[Sound]
    shown: list[str]
    mistaken: list[int]  # rows of the machine's toms shown Kick

    @classmethod
    def build(cls, machine: str, pool: Sequence[Sound], everything: bool = False, simulate: bool = False) -> Scenario:
        """The machine's kit plus every other kit's kicks (``everything``: every sound of ``pool``); ``simulate``
        shows all the machine's toms as Kick (a mistake the tagger does not make on its training kits)."""
        kit = [s for s in pool if s.kit == machine]
        rest = [s for s in pool if s.kit != machine and (everything or s.label == "Kick")]
        sounds = kit + rest
        shown = [("Kick" if simulate and s.kit == machine and s.label == "Tom" else s.predicted) for s in sounds]
        mistaken = [i for i, s in enumerate(sounds) if s.kit == machine and s.label == "Tom" and shown[i] == "Kick"]
        return cls(machine, sounds, shown, mistaken)


@dataclass
class Outcome:
    """Suggestions over every draw of corrected toms."""

    draws: int = 0
    recall: list[float] | None = None
    right: int = 0
    wrong: int = 0
    wrong_names: Counter[str] | None = None
    review_right: int = 0  # after one review: the right suggestions accepted, the wrong ones refused
    review_wrong: int = 0


def measurable(scenario: Scenario) -> bool:
    """Whether the machine has a mis-tagged tom left to suggest once ``N_CORRECTED`` of them are corrected."""
    return len(scenario.mistaken) > N_CORRECTED


def evaluate(scenario: Scenario, params: dict[str, float] | None = None, max_draws: int = MAX_DRAWS) -> Outcome:
    """Correct ``N_CORRECTED`` of the machine's mistaken toms (every combination, or ``max_draws`` random ones) and
    score the suggestions: the share of its other mistaken toms suggested Tom, right and wrong suggestions."""
    sounds, shown = scenario.sounds, scenario.shown
    ids = [str(i) for i in range(len(sounds))]
    vectors = described_vectors([s.embedding for s in sounds], [s.described for s in sounds])
    index = make_index(DESCRIBED).fit(vectors, ids)
    combos = list(itertools.combinations(scenario.mistaken, N_CORRECTED))
    if len(combos) > max_draws:
        combos = random.Random(0).sample(combos, max_draws)
    out = Outcome(recall=[], wrong_names=Counter())
    for corrected in combos:
        corrections = {str(i): ("Tom", shown[i]) for i in corrected}
        view = {str(i): ("Tom" if i in corrected else c) for i, c in enumerate(shown)}
        found = csuggest.suggest_classes(index, view, corrections, **(params or {}))
        others = [i for i in scenario.mistaken if i not in corrected]
        out.recall.append(
            sum(found.get(str(i)) is not None and found[str(i)].suggested == "Tom" for i in others) / len(others)
        )
        accepted, refused = {}, set()
        for sid, suggestion in found.items():
            sound = sounds[int(sid)]
            if suggestion.suggested == sound.label:
                out.right += 1
                accepted[sid] = (suggestion.suggested, suggestion.shown)
            else:
                out.wrong += 1
                out.wrong_names[f"{sound.kit}/{_short(sound.path)} ({sound.label})"] += 1
                refused.add(sid)
        if accepted or refused:  # the user reviews them once: what is suggested next
            view |= {sid: c for sid, (c, _) in accepted.items()}
            again = csuggest.suggest_classes(index, view, corrections | accepted, refused, **(params or {}))
            for sid, suggestion in again.items():
                if suggestion.suggested == sounds[int(sid)].label:
                    out.review_right += 1
                else:
                    out.review_wrong += 1
        out.draws += 1
    return out


def results_table(rows: Sequence[tuple[str, Scenario, Outcome]]) -> None:
    """One line per scenario."""
    print(
        "| machine | library | its toms shown Kick | draws | other toms shown Kick now suggested Tom |"
        " suggestions right / wrong (all draws) | wrong per draw | after one review: new right / wrong |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, sc, o in rows:
        recall = float(np.mean(o.recall)) if o.recall else float("nan")
        print(
            f"| {sc.machine} | {label}, {len(sc.sounds)} sounds | {len(sc.mistaken)} | {o.draws} | {recall:.2f} |"
            f" {o.right} / {o.wrong} | {o.wrong / max(1, o.draws):.2f} | {o.review_right} / {o.review_wrong} |"
        )
    print()
    for label, sc, o in rows:
        if o.wrong_names:
            wrong = ", ".join(f"{name} ×{n}" for name, n in o.wrong_names.most_common())
            print(f"- wrong suggestions, {sc.machine} ({label}): {wrong}")
    print()


GRID = {
    "n_neighbors": (3, 4, 5, 7),
    "prior_weight": (0.02, 0.05, 0.1, 0.2),
    "power": (1.0, 2.0, 4.0, 8.0),
    "min_confidence": (0.5, 0.6, 0.7, 0.8),
}
TUNE_SIMULATED = ("GMRockKit", "The Black Pearl 1.0", "Millo_MultiLayered2")
TUNE_REAL = ("TimGM6mb TR 808", "LM-2", "LMMS")
HELD_OUT = ("TimGM6mb Electronic",)
MIN_TUNING_PRECISION = 0.9


def tune(train: Sequence[Sound], unseen: Sequence[Sound]) -> None:
    """The grid on the tuning scenarios; the held-out machine's sounds are left out of every library.

    Small libraries (a kit plus other kits' kicks): simulated mistakes on three of the tagger's training kits and
    the real mistakes of three machines; large ones: the three machines among every other sound. Chosen: no wrong
    suggestion in the small libraries, precision at least ``MIN_TUNING_PRECISION`` in the large ones, then the
    highest mean share of the other mistaken toms suggested Tom (over all of them).
    """
    pool = [s for s in unseen if s.kit not in HELD_OUT]
    real = [m for m in TUNE_REAL if measurable(Scenario.build(m, pool))]
    small = [Scenario.build(m, train, simulate=True) for m in TUNE_SIMULATED]
    small += [Scenario.build(m, pool) for m in real]
    large = [Scenario.build(m, pool, everything=True) for m in real]
    ranked = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values, strict=True))
        outcomes = [evaluate(sc, params, max_draws=20) for sc in small + large]
        wrong_small = sum(o.wrong for o in outcomes[: len(small)])
        right_large = sum(o.right for o in outcomes[len(small) :])
        wrong_large = sum(o.wrong for o in outcomes[len(small) :])
        precision = right_large / max(1, right_large + wrong_large)
        share = float(np.mean([np.mean(o.recall) for o in outcomes]))
        ranked.append((wrong_small, precision < MIN_TUNING_PRECISION, -share, precision, params, outcomes))
    ranked.sort(key=lambda r: r[:3])
    names = [f"{sc.machine} (simulated)" for sc in small[:3]] + [sc.machine for sc in small[3:]]
    print("Small libraries: " + ", ".join(names) + "; large: " + ", ".join(sc.machine for sc in large) + ".")
    skipped = [m for m in TUNE_REAL if m not in real]
    if skipped:
        print(f"Left out (at most {N_CORRECTED} of its toms shown Kick: no other to suggest): {', '.join(skipped)}.")
    print()
    print(
        "| k | prior weight | power | min confidence | wrong (small) | precision (large) | mean share |"
        " share/wrong per scenario (small, then large) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for wrong, _, share, precision, params, outcomes in ranked[:10]:
        cells = " ".join(f"{np.mean(o.recall):.2f}/{o.wrong}" for o in outcomes)
        print(
            f"| {params['n_neighbors']} | {params['prior_weight']} | {params['power']:g} | {params['min_confidence']}"
            f" | {wrong} | {precision:.2f} | {-share:.3f} | {cells} |"
        )
    print()


def main() -> None:
    global N_CORRECTED
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tag-only", action="store_true", help="only tag (and cache) the sounds")
    parser.add_argument("--tune", action="store_true", help="print the parameter grid on the tuning scenarios")
    parser.add_argument(
        "--corrected", type=int, default=N_CORRECTED, help=f"toms corrected per draw (default {N_CORRECTED})"
    )
    args = parser.parse_args()
    N_CORRECTED = args.corrected
    unseen, trained = never_trained(
        machine_sounds() + hydrogen_sounds(UNSEEN_HYDROGEN) + lmms_sounds() + soundfont_sounds()
    )
    for kit in (*HELD_OUT, *TUNE_REAL):
        if kit in trained:
            raise SystemExit(f"{kit}: the manifest puts it in the tagger's train or val split")
    unseen = tag_sounds(unseen)
    if args.tag_only:
        tom_report(unseen)
        return
    if args.tune:
        tune(tag_sounds(hydrogen_sounds(TRAIN_HYDROGEN)), unseen)
        return
    print(f"{len(unseen)} labelled sounds of {len({s.kit for s in unseen})} kits the tagger never saw.")
    print(f"Left out (in the tagger dataset's train or val split): {', '.join(trained)}.")
    print()
    tom_report(unseen)
    print(
        f"Defaults: k = {csuggest.DEFAULT_N_NEIGHBORS}, prior weight {csuggest.DEFAULT_PRIOR_WEIGHT}, power "
        f"{csuggest.DEFAULT_POWER:g}, confidence ≥ {csuggest.DEFAULT_MIN_CONFIDENCE}; {N_CORRECTED} toms corrected "
        "Kick → Tom per draw."
    )
    print()
    rows = []
    for machine in (*HELD_OUT, *TUNE_REAL):
        tag = "held out" if machine in HELD_OUT else "tuning"
        if not measurable(Scenario.build(machine, unseen)):
            n = len(Scenario.build(machine, unseen).mistaken)
            print(f"- {machine} ({tag}): {n} of its toms shown Kick, not more than {N_CORRECTED}: not measured.")
            continue
        for everything in (False, True):
            sc = Scenario.build(machine, unseen, everything=everything)
            label = f"{tag}: {'every sound of every kit' if everything else 'its kit + other kits’ kicks'}"
            rows.append((label, sc, evaluate(sc)))
        family = machine.split()[0]
        few = [s for s in unseen if s.kit == machine or (s.kit.split()[0] == family and s.label == "Kick")]
        if len({s.kit for s in few}) > 1:  # few counter-examples: only the kicks of the same SoundFont's kits
            sc = Scenario.build(machine, few)
            rows.append((f"{tag}: its kit + the kicks of {family}'s other kits only", sc, evaluate(sc)))
    results_table(rows)


if __name__ == "__main__":
    main()

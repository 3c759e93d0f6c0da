"""How much the figures move with the training seed alone: one head per seed, fitted on all of train + val.

Each head is trained with the recipe a head was trained with (its metadata, as ``tools.evaluate_machines`` reads
it; the seed replaced) on every train + val sound of ``--manifest``, then tags the test split, the test split's
drum machines and, with ``--independent``, the reserved set. Figures are closed-set (no Unknown threshold, no
gate: those are calibrated by the training's cross-validation, which this skips to take a minute a seed). With
a manifest extended by a candidate source, the means over seeds compare that source with the shipped data::

    .venv/bin/python -m tools.evaluate_seeds --manifest data/dataset/manifest.csv --seeds 0 1 2 \\
        --independent data/independent/manifest.csv
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from drumsamp_models.tagger import CLASSES, UNKNOWN, Head
from tools.dataset.split import DRUM_MACHINE_GROUPS
from tools.evaluate_machines import _recipe, recipe_inputs
from tools.evaluate_tagger import file_likelihoods
from tools.tagger_data import Row, read_manifest


def scores(truth: Sequence[str], pred: Sequence[str]) -> tuple[float, float, int, int]:
    """Closed-set accuracy, macro-F1 over the classes present, toms found and toms."""
    t, p = np.asarray(truth), np.asarray(pred)
    f1 = [2 * np.sum((t == c) & (p == c)) / max(1, np.sum(t == c) + np.sum(p == c)) for c in sorted(set(t))]
    return float(np.mean(t == p)), float(np.mean(f1)), int(np.sum(p[t == "Tom"] == "Tom")), int(np.sum(t == "Tom"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="data/dataset/manifest.csv")
    parser.add_argument("--cache", default="data/cache/embeddings")
    parser.add_argument("--frontend-cache", default="data/cache/frontend")
    parser.add_argument("--head", help="the head whose recipe is trained (default: the shipped one)")
    parser.add_argument("--independent", help="manifest of the reserved set (split 'independent'), also tagged")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    from tools.train_tagger import _fit

    head = Head.load(args.head) if args.head else Head.shipped()
    if head.branch is not None:
        parser.error("a head with a tag branch is judged by tools.evaluate_machines --seeds (frozen recipes only)")
    rows = read_manifest(args.manifest)
    train_val = [r for r in rows if r.split in ("train", "val")]
    sets: dict[str, list[Row]] = {"test": [r for r in rows if r.split == "test" and r.label != UNKNOWN]}
    if args.independent:
        sets["independent"] = [r for r in read_manifest(args.independent) if r.label != UNKNOWN]
    if not train_val or not sets["test"]:
        print(f"error: {args.manifest} has no train + val or no test drums", file=sys.stderr)
        return 2

    print("| seed | set | drums | accuracy | macro-F1 | toms → Tom |\n|---:|---|---:|---:|---:|---:|")
    table: dict[str, list[tuple[float, float, int, int]]] = {}
    for seed in args.seeds:
        train_args = _recipe(args, head.meta, seed)
        data = recipe_inputs(args, head, train_args, train_val)
        fitted = _fit(train_args, data.emb, data.rows).head
        for name, chosen in sets.items():
            inputs, kept = data.embed(chosen, name)
            truth = np.array([r.label for r in kept])
            pred = np.array([CLASSES[i] for i in file_likelihoods(fitted, inputs).argmax(axis=1)])
            parts = {name: np.ones(len(kept), bool)}
            if name == "test":
                parts["test machines"] = np.array([r.group in DRUM_MACHINE_GROUPS for r in kept])
            for part, mask in parts.items():
                if not mask.any():
                    continue
                got = scores(truth[mask], pred[mask])
                table.setdefault(part, []).append(got)
                print(
                    f"| {seed} | {part} | {int(mask.sum())} | {got[0]:.3f} | {got[1]:.3f} | {got[2]} of {got[3]} |",
                    flush=True,
                )
    print("\nMeans over seeds " + " / ".join(map(str, args.seeds)) + ":\n")
    for part, got in table.items():
        acc, f1, toms, n = (np.mean([g[i] for g in got]) for i in range(4))
        print(f"- {part}: accuracy **{acc:.3f}**, macro-F1 {f1:.3f}, toms → Tom {toms:.1f} of {n:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

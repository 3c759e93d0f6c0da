"""Measure fine-tuning MusiCNN's upper layers (issue 21's lever) against the frozen base, on CPU, by grouped K-fold.

MusiCNN's front end (its mel convolutions, most of its cost) stays frozen and its output, (frames, 561) per
silence-trimmed patch, is computed once and cached; the mid end (three 1-D convolutions), the pooled batch-norm,
the 200-unit penultimate layer and its batch-norm are then trained together with a head of the shipped shape
(embedding + the sound's 36 descriptors, z-scored × 2 → Dropout 0.5 → Dense 200 ReLU → Dense 5 softmax), at
learning rate ``--lr-base`` for MusiCNN's layers (0: frozen, the shipped recipe's network) and 3e-4 for the head.
Batch-norm statistics stay MusiCNN's. Folds hold out whole groups of train + val (the test split and the reserved
sources are never read); each configuration sees the same folds and seed. Printed: file-level accuracy over the
held-out drums, macro-F1, Tom recall and accuracy on the drum machines' sounds, per fold and over all folds.
``--extra-font`` adds a General MIDI SoundFont's drum kits, rendered like FluidR3's, to every fold's training side.
``--augment N`` trains on N random variants of each training sound too (:func:`drumsamp_models.training.augment`,
``--eq`` its tone-change probability; their front-end outputs are cached like the sounds').

    .venv/bin/python -m tools.finetune_cv --folds 5 --epochs 30 --lr-base 0 1e-4
    .venv/bin/python -m tools.finetune_cv --test --epochs 30 --lr-base 0 1e-4   # once, on the test split
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drumsamp_models.tagger import UNKNOWN
from tools.dataset.split import DRUM_MACHINE_GROUPS
from tools.evaluate_tagger import evaluate
from tools.tag_branch import FRONTEND_DIM, FrontEndData, TagBranch, frontend_outputs, group_folds
from tools.tagger_data import Row, read_manifest, reserved, row_descriptors
from tools.train_tagger import descriptor_scaling

__all__ = ["FRONTEND_DIM", "main", "run_fold", "summary"]


def run_fold(
    data: FrontEndData,
    rows: Sequence[Row],
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    lr_base: float,
    epochs: int,
    seed: int,
) -> dict[int, np.ndarray]:
    """Train on the patches of ``train_rows``; the mean likelihoods of each of ``test_rows``."""
    branch = TagBranch(data.described.shape[1], lr_base, 3e-4, seed=seed)
    branch.fit(data, train_rows, [r.label for r in rows], [r.group for r in rows], epochs, seed)
    return branch.likelihoods(data, test_rows)


def summary(name: str, rows: Sequence[Row], likelihoods: dict[int, np.ndarray]) -> str:
    """Accuracy, macro-F1 and Tom recall over the drums among ``likelihoods``; accuracy on the machines' drums."""
    keys = sorted(likelihoods)
    probs = np.stack([likelihoods[r] for r in keys])
    labels = [rows[r].label for r in keys]
    ev = evaluate(probs, labels, threshold=0.0)
    machine = [i for i, r in enumerate(keys) if rows[r].group in DRUM_MACHINE_GROUPS and labels[i] != UNKNOWN]
    on_machines = f"{evaluate(probs[machine], [labels[i] for i in machine], 0.0).accuracy:.3f}" if machine else "-"
    return (
        f"{name}: {ev.n_drums} drums, accuracy {ev.accuracy:.3f}, macro-F1 {ev.macro_f1:.3f}, "
        f"Tom recall {ev.recall['Tom']:.3f}, drum machines ({len(machine)}) {on_machines}"
    )


def extra_font_rows(font: Path, out: Path) -> list[Row]:
    """A General MIDI SoundFont's drum kits rendered like FluidR3's (claps are snares), one training group."""
    from tools.dataset.build import claps_are_snares
    from tools.dataset.sources import Context, _collect_gm_font

    collected = _collect_gm_font(Context(out=out), font, font.stem, font.stem, "")
    claps_are_snares(collected.items)
    return [Row(i.path, i.label, "train", f"extra:{font.stem}", i.subclass, font.stem) for i in collected.items]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.finetune_cv", description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default="data/dataset/manifest.csv")
    parser.add_argument("--cache", default="data/cache/embeddings", help="descriptor cache (as train_tagger's)")
    parser.add_argument("--frontend-cache", default="data/cache/frontend")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr-base", type=float, nargs="+", default=[0.0, 1e-4])
    parser.add_argument("--extra-font", type=Path, help="a GM SoundFont (.sf2/.sf3) whose drum kits join training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--augment", type=int, default=0, help="augmented variants of each training sound")
    parser.add_argument("--eq", type=float, default=0.0, help="probability of a random tone change per variant")
    parser.add_argument(
        "--descriptor-input", type=float, default=2.0, help="factor of the z-scored descriptors (train_tagger's)"
    )
    parser.add_argument(
        "--test", action="store_true", help="train once on all of train + val and report on the test split instead"
    )
    args = parser.parse_args(argv)
    manifest = read_manifest(args.manifest)
    held = {r.path for r in reserved(manifest)}
    rows = [r for r in manifest if r.split in ("train", "val") and r.path not in held]
    groups = sorted({r.group for r in rows})
    if args.extra_font:
        rows += extra_font_rows(args.extra_font, Path(args.frontend_cache) / "extra" / args.extra_font.stem)
    if args.test:
        rows += [r for r in manifest if r.split == "test" and r.path not in held]
    outputs = [
        frontend_outputs(rows, Path(args.frontend_cache), variant=v, seed=args.seed, eq=args.eq)
        for v in range(args.augment + 1)
    ]
    described = row_descriptors(rows, args.cache)
    if args.test:  # one "fold": the test split
        fold = np.array([0 if r.split == "test" else -1 for r in rows])
        args.folds = 1
    else:
        fold_of = group_folds(groups, args.folds, args.seed)
        fold = np.array([fold_of.get(r.group, -1) for r in rows])  # -1: the extra font, always trained on
    results: dict[float, dict[int, np.ndarray]] = {lr: {} for lr in args.lr_base}
    for k in range(args.folds):
        train_rows, test_rows = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        center, scale = descriptor_scaling(args, described[train_rows])  # the trainer's definition
        data = FrontEndData.of_variants(outputs, ((described - center) / scale).astype(np.float32))
        for lr in args.lr_base:
            start = time.perf_counter()
            out = run_fold(data, rows, train_rows, test_rows, lr, args.epochs, args.seed + k)
            results[lr].update(out)
            print(summary(f"fold {k}, lr_base {lr:g} ({time.perf_counter() - start:.0f} s)", rows, out), flush=True)
    for lr in args.lr_base:
        print(summary(f"{'test split' if args.test else 'all folds'}, lr_base {lr:g}", rows, results[lr]))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    raise SystemExit(main())

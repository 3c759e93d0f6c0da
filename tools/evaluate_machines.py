"""Drum machines never trained on (issue 21): grouped cross-validation by machine, and the test split's machines.

1. Leave-one-machine-out over the drum machines of train + val (``tools.dataset.split.DRUM_MACHINE_GROUPS``):
   for each machine, a head is trained with the shipped recipe (``tools.train_tagger``'s options, read from the
   shipped head's metadata; for a head with a tag branch, MusiCNN's upper layers are fine-tuned with it, about
   a minute and a half per machine on two cores) on every other train + val sound, and tags that machine's drums.
   With ``--cv FILE`` the out-of-fold likelihoods that ``tools.train_tagger --cv-out FILE`` wrote are used
   instead (computed during training: leave-one-group-out for a frozen-network head, grouped K-fold with a branch).
   With ``--seeds 0 1 2`` the leave-one-machine-out is trained once per seed (the recipe's seed replaced): with
   80 drums and 17 toms, the seed alone moves accuracy by six points (docs/evaluation.md), so candidates are
   compared by the mean over seeds; the tables then count each drum once per seed.
2. The machines of the test split, tagged by the shipped head.

Prints closed-set accuracy, Tom recall and the confusion matrix of each part and of both together.

    .venv/bin/python -m tools.evaluate_machines --manifest data/dataset/manifest.csv [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from drumsamp_models.features import FrontEnd
from drumsamp_models.tagger import CLASSES, UNKNOWN, Head
from tools.dataset.split import DRUM_MACHINE_GROUPS
from tools.evaluate_tagger import file_likelihoods
from tools.tagger_data import Row, patch_embeddings, read_manifest, row_descriptors


def toms_found(truth: np.ndarray, pred: np.ndarray) -> str:
    """How many of the toms were tagged Tom: "n of m"."""
    return f"{int(np.sum(pred[truth == 'Tom'] == 'Tom'))} of {int(np.sum(truth == 'Tom'))}"


def confusion_report(name: str, truth: Sequence[str], pred: Sequence[str]) -> str:
    """Accuracy, Tom recall and the confusion matrix (Markdown) of closed-set predictions."""
    t, p = np.asarray(truth), np.asarray(pred)
    toms = t == "Tom"
    lines = [
        f"### {name}: {len(t)} drums",
        "",
        f"- accuracy: **{np.mean(t == p):.4f}**",
        f"- Tom recall: **{np.mean(p[toms] == 'Tom'):.4f}** ({int(np.sum(p[toms] == 'Tom'))} of {int(toms.sum())})"
        if toms.any()
        else "- Tom recall: – (no toms)",
        "",
        "| | " + " | ".join(CLASSES) + " |",
        "|---|" + "---:|" * len(CLASSES),
    ]
    for c in CLASSES:
        row = [int(np.sum((t == c) & (p == k))) for k in CLASSES]
        if sum(row):
            lines.append(f"| {c} | " + " | ".join(map(str, row)) + " |")
    return "\n".join(lines)


def _recipe(args: argparse.Namespace, meta: dict, seed: int | None = None) -> argparse.Namespace:
    """``tools.train_tagger``'s options of the recipe a head was trained with (its metadata; ``seed`` replaces its
    seed)."""
    from tools.train_tagger import build_parser

    front = FrontEnd.from_meta(meta)
    seed = meta.get("seed", 0) if seed is None else seed
    options = [
        *("--out", "-", "--augment", str(meta.get("augment", 4)), "--epochs", str(meta.get("epochs", 100))),
        *("--lr", str(meta.get("learning_rate", 3e-4)), "--seed", str(seed)),
        *("--smoothing", str(meta.get("smoothing", 0.1)), "--dropout", str(meta.get("dropout", 0.5))),
        *("--unknown-share", str(meta.get("unknown_share", 1.0)), "--eq", str(meta.get("eq", 0.0))),
        *("--group-balance", str(meta.get("group_balance", 0.0)), "--trainer", str(meta.get("trainer", "keras"))),
        *("--descriptor-input", str(meta.get("descriptor_input", 0.0)), "--cache", str(args.cache)),
        *(
            "--finetune-epochs",
            str(meta.get("finetune_epochs", 0)),
            "--finetune-lr",
            str(meta.get("finetune_lr", 1e-4)),
        ),
        *("--frontend-cache", str(args.frontend_cache), "--sample-rate", str(front.sample_rate)),
        "--peak-normalize" if front.peak_normalize else "--no-peak-normalize",
        *(option for name in meta.get("extra_embeddings", ()) for option in ("--extra-embedding", name)),
    ]
    return build_parser().parse_args(options)


def _machine_folds(
    rows: Sequence[Row], likelihoods: Callable[[str, np.ndarray], np.ndarray]
) -> tuple[list[str], list[str], list[str]]:
    """Leave-one-machine-out over the drum machines among ``rows``: ``likelihoods(machine, held)`` gives the class
    likelihoods of its drums (``held``, indices into ``rows``) by a model trained without it. Returns the drums'
    truths, predictions and machines."""
    truth: list[str] = []
    pred: list[str] = []
    machines: list[str] = []
    for group in sorted({r.group for r in rows if r.group in DRUM_MACHINE_GROUPS}):
        held = np.array([i for i, r in enumerate(rows) if r.group == group and r.label != UNKNOWN])
        fold_truth = [rows[i].label for i in held]
        fold_pred = [CLASSES[k] for k in likelihoods(group, held).argmax(axis=1)]
        truth, pred, machines = truth + fold_truth, pred + fold_pred, machines + [group] * len(held)
        acc = np.mean(np.array(fold_truth) == fold_pred)
        print(f"fold {group}: {len(held)} drums, accuracy {acc:.3f}", flush=True)
    return truth, pred, machines


class RecipeInputs(NamedTuple):
    """A frozen-network recipe's head inputs for some rows: ``emb`` / ``rows`` to train on (augmented as the recipe
    says), ``clean_emb`` / ``clean_rows`` unaugmented, each widened with the descriptors scaled as the recipe says
    (fitted on the clean rows); ``embed(other_rows, name)`` gives other rows' inputs, alike, and the rows kept."""

    emb: list[np.ndarray]
    rows: list[Row]
    clean_emb: list[np.ndarray]
    clean_rows: list[Row]
    embed: Callable[[Sequence[Row], str], tuple[list[np.ndarray], list[Row]]]


def recipe_inputs(
    args: argparse.Namespace, head: Head, train_args: argparse.Namespace, rows: list[Row]
) -> RecipeInputs:
    """The head inputs that ``train_args`` (a recipe of ``head``, from :func:`_recipe`) trains on for ``rows``,
    with the head's front end, silence trimming and extra embeddings."""
    from tools.train_tagger import descriptor_scaling, widen

    front = FrontEnd.from_meta(head.meta).as_meta()
    kw = {"trim_silence": bool(head.meta.get("trim_silence", True)), "extra": head.extra_embeddings, **front}
    seed = train_args.seed
    all_emb, all_rows = patch_embeddings(
        rows, args.cache, train_args.augment, seed, "train+val", eq=train_args.eq, **kw
    )
    clean_emb, clean_rows = patch_embeddings(rows, args.cache, 0, seed, "clean", **kw)
    clean_desc = row_descriptors(clean_rows, args.cache)
    scaling = descriptor_scaling(train_args, clean_desc)

    def embed(other: Sequence[Row], name: str) -> tuple[list[np.ndarray], list[Row]]:
        emb, kept = patch_embeddings(other, args.cache, 0, seed, name, **kw)
        return widen(emb, row_descriptors(kept, args.cache), scaling), kept

    return RecipeInputs(
        widen(all_emb, row_descriptors(all_rows, args.cache), scaling),
        all_rows,
        widen(clean_emb, clean_desc, scaling),
        clean_rows,
        embed,
    )


def _cv_from_training(
    args: argparse.Namespace, head: Head, rows: list[Row], seed: int | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Leave-one-machine-out with the training CLI's recipe (the shipped head's metadata; ``seed`` replaces its
    seed)."""
    from tools.train_tagger import _fit

    train_args = _recipe(args, head.meta, seed)
    data = recipe_inputs(args, head, train_args, rows)

    def likelihoods(group: str, held: np.ndarray) -> np.ndarray:
        train_idx = [i for i, r in enumerate(data.rows) if r.group != group]
        fit = _fit(train_args, [data.emb[i] for i in train_idx], [data.rows[i] for i in train_idx])
        return file_likelihoods(fit.head, [data.clean_emb[i] for i in held])

    return _machine_folds(data.clean_rows, likelihoods)


def _cv_branch(
    args: argparse.Namespace, head: Head, rows: list[Row], seed: int | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Leave-one-machine-out for a head with a tag branch, with its recipe (its metadata; ``seed`` replaces its
    seed): for each machine, MusiCNN's upper layers are fine-tuned with a head on every other train + val sound
    (:mod:`tools.tag_branch`)."""
    from tools.train_tagger import branch_data, fit_branch

    train_args = _recipe(args, head.meta, seed)
    front = FrontEnd.from_meta(head.meta).as_meta()
    _, clean_rows = patch_embeddings(rows, args.cache, 0, 0, "clean", trim_silence=True, **front)
    data, _, _ = branch_data(train_args, clean_rows)
    labels, groups = [r.label for r in clean_rows], [r.group for r in clean_rows]

    def likelihoods(group: str, held: np.ndarray) -> np.ndarray:
        train = np.array([i for i, g in enumerate(groups) if g != group])
        lik = fit_branch(train_args, data, train, labels, groups, train_args.seed).likelihoods(data, held)
        return np.stack([lik[int(i)] for i in held])

    return _machine_folds(clean_rows, likelihoods)


def _cv_from_file(path: str) -> tuple[list[str], list[str], list[str]]:
    """The drum machines' out-of-fold predictions saved by ``tools.train_tagger --cv-out``."""
    with np.load(path, allow_pickle=False) as npz:
        groups, labels, lik = npz["groups"].astype(str), npz["labels"].astype(str), npz["likelihoods"]
    keep = np.isin(groups, DRUM_MACHINE_GROUPS) & (labels != UNKNOWN)
    return labels[keep].tolist(), [CLASSES[k] for k in lik[keep].argmax(axis=1)], groups[keep].tolist()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="data/dataset/manifest.csv")
    parser.add_argument("--cache", default="data/cache/embeddings")
    parser.add_argument("--head", help="head .npz (default: the one shipped in the package)")
    parser.add_argument("--frontend-cache", default="data/cache/frontend", help="MusiCNN front-end outputs (cache)")
    parser.add_argument("--cv", help="out-of-fold likelihoods written by tools.train_tagger --cv-out (skip training)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", help="train the leave-one-machine-out once per seed (default: the head's seed)"
    )
    args = parser.parse_args(argv)
    if args.cv and args.seeds:
        parser.error("--seeds trains the folds again; --cv reads a training run's (one seed)")
    head = Head.load(args.head) if args.head else Head.shipped()
    rows = read_manifest(args.manifest)
    train_val = [r for r in rows if r.split in ("train", "val")]
    per_seed: list[str] = []
    if args.cv:
        cv_truth, cv_pred, cv_groups = _cv_from_file(args.cv)
    else:
        cv_truth, cv_pred, cv_groups = [], [], []
        run = _cv_branch if head.branch is not None else _cv_from_training
        for seed in args.seeds or [None]:
            truth, pred, groups = run(args, head, train_val, seed)
            cv_truth, cv_pred, cv_groups = cv_truth + truth, cv_pred + pred, cv_groups + groups
            t, p = np.array(truth), np.array(pred)
            per_seed.append(f"- seed {seed}: accuracy {np.mean(t == p):.3f}, toms → Tom {toms_found(t, p)}")
    if not cv_truth:
        print("error: no drum-machine sounds in train + val (is the drum-machines folder there?)", file=sys.stderr)
        return 2
    test = [r for r in rows if r.split == "test" and r.group in DRUM_MACHINE_GROUPS and r.label != UNKNOWN]
    front = FrontEnd.from_meta(head.meta).as_meta()
    trim = bool(head.meta.get("trim_silence"))
    emb, kept = patch_embeddings(
        test,
        args.cache,
        desc="test machines",
        trim_silence=trim,
        branch=head.branch,
        extra=head.extra_embeddings,
        **front,
    )
    test_truth = [r.label for r in kept]
    described = row_descriptors(kept, args.cache) if head.uses_descriptors else None
    test_pred = [CLASSES[k] for k in file_likelihoods(head, emb, described).argmax(axis=1)] if emb else []
    n_cv = len(set(cv_groups))
    print(f"## Drum machines never trained on ({args.manifest})\n")
    if len(per_seed) > 1:
        print(f"Leave-one-machine-out, once per seed (below: all {len(per_seed)} runs together):\n")
        print("\n".join(per_seed) + "\n")
    print(confusion_report(f"leave-one-machine-out over the {n_cv} machines of train + val", cv_truth, cv_pred))
    per = {
        g: (np.array(cv_truth)[np.array(cv_groups) == g], np.array(cv_pred)[np.array(cv_groups) == g])
        for g in sorted(set(cv_groups))
    }
    print("\n| machine (held out) | drums | accuracy | toms → Tom |\n|---|---:|---:|---:|")
    for g, (t, p) in per.items():
        print(f"| {g} | {len(t)} | {np.mean(t == p):.3f} | {toms_found(t, p)} |")
    if test_truth:
        n_test = len({r.group for r in kept})
        print("\n" + confusion_report(f"the {n_test} machines of the test split (shipped head)", test_truth, test_pred))
        print("\n" + confusion_report("both together", cv_truth + test_truth, cv_pred + test_pred))
    return 0


if __name__ == "__main__":
    sys.exit(main())

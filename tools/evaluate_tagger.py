"""Evaluate the Drumsample Tagger on a split of the dataset the model never saw.

Prints accuracy, macro-F1, per-class precision/recall, the confusion matrix, and Unknown rejection
(share of non-drum sounds tagged Unknown, share of drums wrongly tagged Unknown) across thresholds.

    .venv/bin/python -m tools.evaluate_tagger --manifest data/dataset/manifest.csv --split test
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drumsamp_models.features import FrontEnd
from drumsamp_models.tagger import CLASSES, UNKNOWN, Head
from tools.tagger_data import Row, patch_embeddings, read_manifest


@dataclass(frozen=True)
class Evaluation:
    """Closed-set metrics over the five classes plus Unknown rejection at one threshold."""

    accuracy: float
    macro_f1: float
    precision: dict[str, float]
    recall: dict[str, float]
    confusion: np.ndarray
    n_drums: int
    n_negatives: int
    drums_to_unknown: float
    negatives_to_unknown: float
    threshold: float


def file_likelihoods(head: Head, embeddings: Sequence[np.ndarray]) -> np.ndarray:
    """Per-sound class likelihoods: the head on each patch, averaged over the sound's patches."""
    return np.stack([head.likelihoods(e).mean(axis=0) for e in embeddings])


def evaluate(likelihoods: np.ndarray, labels: Sequence[str], threshold: float, classes=CLASSES) -> Evaluation:
    """Metrics for per-sound likelihoods (n, 5) against labels (a class or ``Unknown`` for non-drums)."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

    labels_arr = np.asarray(labels)
    drums = labels_arr != UNKNOWN
    pred = np.array([classes[i] for i in likelihoods.argmax(axis=1)])
    maxp = likelihoods.max(axis=1)
    truth, guess = labels_arr[drums], pred[drums]
    kw = {"labels": list(classes), "zero_division": 0}
    return Evaluation(
        accuracy=float(np.mean(truth == guess)) if drums.any() else float("nan"),
        macro_f1=float(f1_score(truth, guess, average="macro", **kw)),
        precision=dict(zip(classes, precision_score(truth, guess, average=None, **kw).tolist(), strict=True)),
        recall=dict(zip(classes, recall_score(truth, guess, average=None, **kw).tolist(), strict=True)),
        confusion=confusion_matrix(truth, guess, labels=list(classes)),
        n_drums=int(drums.sum()),
        n_negatives=int((~drums).sum()),
        drums_to_unknown=float(np.mean(maxp[drums] < threshold)) if drums.any() else float("nan"),
        negatives_to_unknown=float(np.mean(maxp[~drums] < threshold)) if (~drums).any() else float("nan"),
        threshold=threshold,
    )


def report(ev: Evaluation, likelihoods: np.ndarray, labels: Sequence[str], classes=CLASSES) -> str:
    """Markdown report of an evaluation, with a threshold sweep."""
    lines = [
        f"sounds: {ev.n_drums} drums, {ev.n_negatives} non-drum",
        "",
        f"- accuracy (5 classes, closed set): **{ev.accuracy:.4f}**",
        f"- macro-F1: **{ev.macro_f1:.4f}**",
        f"- at the Unknown threshold {ev.threshold:.2f}: non-drums → Unknown {ev.negatives_to_unknown:.1%}, "
        f"drums → Unknown {ev.drums_to_unknown:.1%}",
        "",
        "| class | precision | recall |",
        "|---|---:|---:|",
        *[f"| {c} | {ev.precision[c]:.3f} | {ev.recall[c]:.3f} |" for c in classes],
        "",
        "Confusion matrix (rows: truth, columns: prediction, closed set):",
        "",
        "| | " + " | ".join(classes) + " |",
        "|---|" + "---:|" * len(classes),
        *[f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(classes, ev.confusion, strict=True)],
        "",
        "Unknown rejection across thresholds:",
        "",
        "| threshold | non-drums → Unknown | drums → Unknown | accuracy of drums kept |",
        "|---:|---:|---:|---:|",
    ]
    labels_arr = np.asarray(labels)
    drums = labels_arr != UNKNOWN
    pred = np.array([classes[i] for i in likelihoods.argmax(axis=1)])
    maxp = likelihoods.max(axis=1)
    for t in np.round(np.arange(0.3, 0.96, 0.05), 2):
        kept = drums & (maxp >= t)
        acc = float(np.mean(pred[kept] == labels_arr[kept])) if kept.any() else float("nan")
        neg = float(np.mean(maxp[~drums] < t)) if (~drums).any() else float("nan")
        lines.append(f"| {t:.2f} | {neg:.1%} | {float(np.mean(maxp[drums] < t)):.1%} | {acc:.4f} |")
    return "\n".join(lines)


KIND_NAMES = {"hard_negative": "other percussion", "negative": "no percussion"}


def rejection_by_kind(likelihoods: np.ndarray, rows: Sequence[Row], threshold: float, classes=CLASSES) -> str:
    """Markdown table: per kind of non-drum sound, how many the threshold rejects and what the others become.

    Kinds follow the manifest's ``role`` (``hard_negative``: percussion outside the five classes, such as claps,
    shakers or hand drums; ``negative``: no percussion at all) and ``subclass``.
    """
    maxp = likelihoods.max(axis=1)
    pred = likelihoods.argmax(axis=1)
    kinds: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        if row.label == UNKNOWN:
            kinds.setdefault((KIND_NAMES.get(row.role, row.role or "?"), row.subclass or row.source), []).append(i)
    lines = [
        "| role | kind | sounds | → Unknown | tagged as (kept) |",
        "|---|---|---:|---:|---|",
    ]
    totals: dict[str, list[int]] = {}
    for (role, kind), idx in sorted(kinds.items()):
        kept = [i for i in idx if maxp[i] >= threshold]
        as_what = ", ".join(
            f"{classes[c]} {n}" for c, n in zip(*np.unique(pred[kept], return_counts=True), strict=True)
        )
        lines.append(f"| {role} | {kind} | {len(idx)} | {1 - len(kept) / len(idx):.0%} | {as_what or '–'} |")
        totals.setdefault(role, []).extend(idx)
    for role, idx in sorted(totals.items()):
        rejected = float(np.mean(maxp[idx] < threshold))
        lines.append(f"| **{role}** | all | {len(idx)} | **{rejected:.1%}** | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="data/dataset/manifest.csv")
    parser.add_argument("--cache", default="data/cache/embeddings")
    parser.add_argument("--split", default="test")
    parser.add_argument("--head", help="head .npz (default: the one shipped in the package)")
    parser.add_argument("--threshold", type=float, help="Unknown threshold (default: the head's calibrated one)")
    args = parser.parse_args(argv)

    head = Head.load(args.head) if args.head else Head.shipped()
    threshold = args.threshold if args.threshold is not None else float(head.meta.get("unknown_threshold", 0.6))
    rows: list[Row] = [r for r in read_manifest(args.manifest) if r.split == args.split]
    if not rows:
        print(f"error: no rows of split {args.split!r} in {args.manifest}", file=sys.stderr)
        return 2
    trim = bool(head.meta.get("trim_silence", False))
    front = FrontEnd.from_meta(head.meta).as_meta()
    embeddings, kept = patch_embeddings(rows, args.cache, desc=f"embedding {args.split}", trim_silence=trim, **front)
    likelihoods = file_likelihoods(head, embeddings)
    labels = [r.label for r in kept]
    ev = evaluate(likelihoods, labels, threshold)
    print(f"## Tagger on the {args.split} split ({args.manifest})\n")
    print(report(ev, likelihoods, labels))
    if ev.n_negatives:
        print(f"\nNon-drum sounds by kind, at the threshold {threshold:.2f}:\n")
        print(rejection_by_kind(likelihoods, kept, threshold))
    return 0


if __name__ == "__main__":
    sys.exit(main())

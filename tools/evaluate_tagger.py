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
from drumsamp_models.nondrum import NonDrumGate, gate_features
from drumsamp_models.subclasses import SUBCLASS_CLASS, subclass_of
from drumsamp_models.tagger import CLASSES, EMBEDDING_DIM, UNKNOWN, Head, calibrated_threshold, subclass_for
from tools.tagger_data import Row, patch_embeddings, read_manifest, row_descriptors


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
    gate_threshold: float | None = None


def file_likelihoods(
    head: Head, embeddings: Sequence[np.ndarray], described: np.ndarray | None = None, subclasses: bool = False
) -> np.ndarray:
    """Per-sound class (or with ``subclasses``, sub-class) likelihoods: the head on each patch, averaged over
    the sound's patches; ``described`` holds each sound's descriptors (n, 36), for a head that takes them."""
    out = head.subclass_likelihoods if subclasses else head.likelihoods
    if described is None:
        return np.stack([out(e).mean(axis=0) for e in embeddings])
    return np.stack([out(e, d).mean(axis=0) for e, d in zip(embeddings, described, strict=True)])


def rejected(
    likelihoods: np.ndarray, threshold: float, non_drum: np.ndarray | None = None, gate_threshold: float | None = None
) -> np.ndarray:
    """Which sounds are tagged Unknown: no likelihood reaches ``threshold``, or the gate's probability passes
    ``gate_threshold`` (when both gate arguments are given)."""
    out = likelihoods.max(axis=1) < threshold
    if non_drum is not None and gate_threshold is not None:
        out |= np.asarray(non_drum) > gate_threshold
    return out


def evaluate(
    likelihoods: np.ndarray,
    labels: Sequence[str],
    threshold: float,
    classes=CLASSES,
    non_drum: np.ndarray | None = None,
    gate_threshold: float | None = None,
) -> Evaluation:
    """Metrics for per-sound likelihoods (n, 5) against labels (a class or ``Unknown`` for non-drums); with
    the gate's ``non_drum`` probabilities and ``gate_threshold``, Unknown comes from either rule."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

    labels_arr = np.asarray(labels)
    drums = labels_arr != UNKNOWN
    pred = np.array([classes[i] for i in likelihoods.argmax(axis=1)])
    unknown = rejected(likelihoods, threshold, non_drum, gate_threshold)
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
        drums_to_unknown=float(np.mean(unknown[drums])) if drums.any() else float("nan"),
        negatives_to_unknown=float(np.mean(unknown[~drums])) if (~drums).any() else float("nan"),
        threshold=threshold,
        gate_threshold=gate_threshold if non_drum is not None else None,
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


def sub_label(row: Row) -> str:
    """The sub-class of a manifest row (:func:`drumsamp_models.subclasses.subclass_of`)."""
    return subclass_of(row.label, row.subclass, row.role)


def subclass_report(sub: np.ndarray, rows: Sequence[Row]) -> str:
    """Sub-class accuracy within each design class (given the true class: the arg-max among its sub-classes),
    with the confusion of sub-classes, as Markdown lines."""
    truth = [sub_label(r) for r in rows]
    lines = ["| design class | sounds | sub-class accuracy | confusions (truth → predicted: n) |"]
    lines.append("|---|---:|---:|---|")
    for design in (*CLASSES, UNKNOWN):
        idx = [i for i, t in enumerate(truth) if SUBCLASS_CLASS[t] == design]
        if len({truth[i] for i in idx}) < 2:  # Kick, Tom, Drumloop: one sub-class each
            continue
        pred = [subclass_for(design, sub[i]) for i in idx]
        ok = [p == truth[i] for p, i in zip(pred, idx, strict=True)]
        errors: dict[str, int] = {}
        for p, i in zip(pred, idx, strict=True):
            if p != truth[i]:
                errors[f"{truth[i]} → {p}"] = errors.get(f"{truth[i]} → {p}", 0) + 1
        worst = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items(), key=lambda kv: -kv[1])[:6])
        lines.append(f"| {design} | {len(idx)} | {np.mean(ok):.3f} | {worst or '–'} |")
    return "\n".join(lines)


KIND_NAMES = {"hard_negative": "other percussion", "negative": "no percussion"}


def rejection_by_kind(likelihoods: np.ndarray, rows: Sequence[Row], unknown: np.ndarray, classes=CLASSES) -> str:
    """Markdown table: per kind of non-drum sound, how many are tagged Unknown (``unknown``, one flag per row:
    see :func:`rejected`) and what the others become.

    Kinds follow the manifest's ``role`` (``hard_negative``: percussion outside the five classes, such as claps,
    shakers or hand drums; ``negative``: no percussion at all) and ``subclass``.
    """
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
        kept = [i for i in idx if not unknown[i]]
        as_what = ", ".join(
            f"{classes[c]} {n}" for c, n in zip(*np.unique(pred[kept], return_counts=True), strict=True)
        )
        lines.append(f"| {role} | {kind} | {len(idx)} | {1 - len(kept) / len(idx):.0%} | {as_what or '–'} |")
        totals.setdefault(role, []).extend(idx)
    for role, idx in sorted(totals.items()):
        share = float(np.mean(unknown[idx]))
        lines.append(f"| **{role}** | all | {len(idx)} | **{share:.1%}** | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="data/dataset/manifest.csv")
    parser.add_argument("--cache", default="data/cache/embeddings")
    parser.add_argument("--split", default="test")
    parser.add_argument("--head", help="head .npz (default: the one shipped in the package)")
    parser.add_argument("--threshold", type=float, help="Unknown threshold (default: the head's calibrated one)")
    parser.add_argument("--gate", help="non-drum gate .npz (default: the one shipped in the package)")
    args = parser.parse_args(argv)

    head = Head.load(args.head) if args.head else Head.shipped()
    gate = NonDrumGate.load(args.gate) if args.gate else NonDrumGate.shipped()
    threshold = args.threshold if args.threshold is not None else calibrated_threshold(head)
    rows: list[Row] = [r for r in read_manifest(args.manifest) if r.split == args.split]
    if not rows:
        print(f"error: no rows of split {args.split!r} in {args.manifest}", file=sys.stderr)
        return 2
    trim = bool(head.meta.get("trim_silence", False))
    front = FrontEnd.from_meta(head.meta).as_meta()
    # The head's input: the frozen embeddings or a tag branch's (that pass also caches the frozen ones, the gate's),
    # followed by any extra models' embeddings.
    extra = head.extra_embeddings
    inputs, kept = patch_embeddings(
        rows, args.cache, desc=f"embedding {args.split}", trim_silence=trim, branch=head.branch, extra=extra, **front
    )
    if head.branch is None:
        embeddings = [e[:, :EMBEDDING_DIM] for e in inputs]
    else:
        embeddings = patch_embeddings(kept, args.cache, trim_silence=trim, **front)[0]
    described = row_descriptors(kept, args.cache) if head.uses_descriptors else None
    likelihoods = file_likelihoods(head, inputs, described)
    labels = [r.label for r in kept]
    ev = evaluate(likelihoods, labels, threshold)
    print(f"## Tagger on the {args.split} split ({args.manifest})\n")
    print(report(ev, likelihoods, labels))
    if ev.n_negatives:
        print(f"\nNon-drum sounds by kind, at the threshold {threshold:.2f}:\n")
        print(rejection_by_kind(likelihoods, kept, rejected(likelihoods, threshold)))
    if gate is not None:
        print(gate_report(head, gate, likelihoods, embeddings, kept, args))
    if head.sub is not None:
        sub = file_likelihoods(head, inputs, described, subclasses=True)
        print("\nSub-classes (given the true design class: the most likely of its sub-classes):\n")
        print(subclass_report(sub, kept))
    print(machine_report(likelihoods, kept))
    return 0


def machine_report(likelihoods: np.ndarray, rows: Sequence[Row], classes=CLASSES) -> str:
    """Closed-set accuracy and Tom recall on the drum machines of the split (issue 21), per machine and overall."""
    from tools.dataset.split import DRUM_MACHINE_GROUPS

    idx = [i for i, r in enumerate(rows) if r.group in DRUM_MACHINE_GROUPS and r.label != UNKNOWN]
    if not idx:
        return ""
    pred = np.array([classes[k] for k in likelihoods.argmax(axis=1)])
    truth = np.array([r.label for r in rows])
    lines = ["", "Drum machines of this split:", "", "| machine | drums | accuracy | toms → Tom |"]
    lines.append("|---|---:|---:|---:|")
    for group in [*sorted({rows[i].group for i in idx}), "all"]:
        sel = np.array([i for i in idx if group in ("all", rows[i].group)])
        toms = sel[truth[sel] == "Tom"]
        tom = f"{int(np.sum(pred[toms] == 'Tom'))} of {len(toms)}" if len(toms) else "–"
        lines.append(f"| {group} | {len(sel)} | {np.mean(pred[sel] == truth[sel]):.3f} | {tom} |")
    return "\n".join(lines)


def gate_report(
    head: Head,
    gate: NonDrumGate,
    likelihoods: np.ndarray,
    embeddings: Sequence[np.ndarray],
    rows: Sequence[Row],
    args: argparse.Namespace,
) -> str:
    """Unknown rejection with the non-drum gate, as the :class:`~drumsamp_models.tagger.Tagger` applies it."""
    threshold = args.threshold if args.threshold is not None else calibrated_threshold(head, gate)
    x = gate_features(np.stack([e.mean(axis=0) for e in embeddings]), row_descriptors(rows, args.cache))
    non_drum = gate.probability(x)
    labels = [r.label for r in rows]
    ev = evaluate(likelihoods, labels, threshold, non_drum=non_drum, gate_threshold=gate.threshold)
    unknown = rejected(likelihoods, threshold, non_drum, gate.threshold)
    lines = [
        f"\nWith the non-drum gate (Unknown threshold {threshold:.2f}, gate threshold {gate.threshold:.2f}): "
        f"non-drums → Unknown {ev.negatives_to_unknown:.1%}, drums → Unknown {ev.drums_to_unknown:.1%}",
    ]
    if ev.n_negatives:
        lines += ["", "Non-drum sounds by kind, with the gate:", "", rejection_by_kind(likelihoods, rows, unknown)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

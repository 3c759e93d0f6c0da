"""Train the Drumsample Tagger's head and calibrate its Unknown threshold; the test split is never used.

Three recipes:

- ``--protocol grouped-cv`` (the default, the shipped 0.8): frozen MusiCNN and a NumPy head, estimated by
  leave-one-group-out cross-validation over the train and val splits (a group is a kit family, a drum machine or
  a non-drum source), which also gives the out-of-fold likelihoods the Unknown threshold is calibrated on; then
  the final head is fitted on train + val for a fixed number of epochs.
- ``--finetune-epochs N`` (measured, not shipped: docs/evaluation.md): MusiCNN's upper layers are fine-tuned
  together with the head (a *tag branch*, :mod:`tools.tag_branch`) on the cached front-end outputs; grouped
  K-fold (``--finetune-folds``, whole groups per fold) gives the estimate and the out-of-fold likelihoods; then
  the branch and head are fitted once on train + val, and the head carries the branch's weights.
- ``--protocol holdout``: the design's recipe — fit on train, keep the epoch with the best val loss, calibrate
  on val.

All also fit the non-drum gate (:mod:`drumsamp_models.nondrum`) on the same sounds and calibrate the
Unknown threshold and the gate's threshold together (out-of-fold, or on val); ``--gate-out`` writes it.

Reproducible (seeded); MusiCNN embeddings and front-end outputs are cached: after the first run the frozen
recipes take minutes, fine-tuning (30 epochs) about fifteen on two cores.

    .venv/bin/python -m tools.train_tagger --manifest data/dataset/manifest.csv \\
        --out drumsamp_models/src/drumsamp_models/weights/tagger_head.npz \\
        --gate-out drumsamp_models/src/drumsamp_models/weights/nondrum_gate.npz
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drumsamp_models.musicnn import MODELS
from drumsamp_models.nondrum import NonDrumGate, gate_features
from drumsamp_models.subclasses import SUBCLASSES
from drumsamp_models.tagger import CLASSES, EMBEDDING_DIM, UNKNOWN, Head, append_descriptors
from drumsamp_models.training import (
    FitResult,
    calibrate_unknown_threshold,
    calibrate_with_gate,
    class_weights,
    fit_head,
    fit_head_numpy,
    soft_targets,
)
from tools.evaluate_tagger import Evaluation, evaluate, file_likelihoods, sub_label, subclass_report
from tools.tag_branch import FrontEndData, TagBranch, frontend_outputs, group_folds
from tools.tagger_data import Row, patch_embeddings, read_manifest, reserved, row_descriptors, stack_patches


def _front_end(args: argparse.Namespace) -> dict:
    """The front-end settings the head is trained with (and records in its metadata)."""
    return {"trim_silence": args.trim_silence, "peak_normalize": args.peak_normalize, "sample_rate": args.sample_rate}


def _inputs(args: argparse.Namespace) -> dict:
    """The embedding settings the head is trained with: its front end, and the extra frozen models whose
    embeddings follow MTT_musicnn's (:attr:`drumsamp_models.tagger.Head.extra_embeddings`)."""
    return _front_end(args) | {"extra": tuple(args.extra_embedding)}


def _sha1(path: str) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def subsample(rows: Sequence[Row], per_label: int, seed: int) -> list[Row]:
    """At most ``per_label`` rows of each label (for the smoke test), chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    out: list[Row] = []
    for label in sorted({r.label for r in rows}):
        group = [r for r in rows if r.label == label]
        out.extend(group[i] for i in sorted(rng.permutation(len(group))[:per_label]))
    return out


def descriptor_scaling(args: argparse.Namespace, described: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Centre and scale of the descriptors appended to the head's input (``--descriptor-input``): the clean
    training sounds' mean and standard deviation / the factor; None when the head takes embeddings only."""
    if not args.descriptor_input:
        return None
    return described.mean(axis=0), (described.std(axis=0) + 1e-6) / args.descriptor_input


def widen(emb: Sequence[np.ndarray], described: np.ndarray, scaling: tuple | None) -> list[np.ndarray]:
    """The head's input for each (sound, variant): its patch embeddings with the sound's scaled descriptors
    (``described``, one row per sound) appended, or the embeddings alone without ``scaling``."""
    if scaling is None:
        return list(emb)
    return [append_descriptors(e, d, *scaling) for e, d in zip(emb, described, strict=True)]


def _fit_sub(args: argparse.Namespace, emb: list[np.ndarray], rows: list[Row]) -> FitResult:
    """Fit the sub-class output: the head's architecture on the 12 sub-classes, each weighted as one class."""
    x, _, owner = stack_patches(emb, rows)
    labels = [sub_label(rows[i]) for i in owner]
    return _train(
        args,
        x,
        soft_targets(labels, SUBCLASSES, args.smoothing),
        sample_weight=class_weights(labels),
        classes=SUBCLASSES,
        epochs=args.sub_epochs,
    )


def _train(args: argparse.Namespace, x: np.ndarray, y: np.ndarray, **kw) -> FitResult:
    """One head fit with the chosen trainer (NumPy by default; Keras where validation data selects the epoch)."""
    common = {"dropout": args.dropout, "learning_rate": args.lr, "batch_size": args.batch_size, "seed": args.seed}
    kw.setdefault("epochs", args.epochs)
    if args.trainer == "numpy" and "x_val" not in kw:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # tiny matrices: one BLAS thread is ten times faster than many on a busy machine
            return fit_head_numpy(x, y, **common, **kw)
    return fit_head(x, y, **common, verbose=2 if args.verbose else 0, **kw)


def _fit(args: argparse.Namespace, emb: list[np.ndarray], rows: list[Row], val=None) -> FitResult:
    """Fit a head on per-patch embeddings; ``val`` = (embeddings, rows) selects the best epoch."""
    x, labels, owner = stack_patches(emb, rows)
    groups = [rows[i].group for i in owner]
    kw: dict = {}
    if val is not None:
        xv, val_labels, _ = stack_patches(*val)
        kw = {
            "x_val": xv,
            "y_val": soft_targets(val_labels),
            "val_sample_weight": class_weights(val_labels, args.unknown_share),
        }
    return _train(
        args,
        x,
        soft_targets(labels, CLASSES, args.smoothing),
        sample_weight=class_weights(labels, args.unknown_share, groups, args.group_balance),
        **kw,
    )


def _summary(name: str, ev: Evaluation) -> str:
    return (
        f"{name}: accuracy {ev.accuracy:.4f}, macro-F1 {ev.macro_f1:.4f}; Unknown threshold {ev.threshold:.2f}: "
        f"non-drums → Unknown {ev.negatives_to_unknown:.1%}, drums → Unknown {ev.drums_to_unknown:.1%}"
    )


def _calibrated(args: argparse.Namespace, likelihoods: np.ndarray, labels: list[str]) -> Evaluation:
    drum_max = likelihoods.max(axis=1)[np.asarray(labels) != UNKNOWN]
    return evaluate(likelihoods, labels, calibrate_unknown_threshold(drum_max, args.max_drum_rejection))


def _gate_inputs(args: argparse.Namespace, emb: list[np.ndarray], rows: list[Row]) -> tuple[np.ndarray, np.ndarray]:
    """The gate's features of clean (not augmented) sounds and whether each is a non-drum (the gate reads
    MTT_musicnn's embedding, the first 200 columns, whatever the head's input)."""
    x = gate_features(np.stack([e[:, :EMBEDDING_DIM].mean(axis=0) for e in emb]), row_descriptors(rows, args.cache))
    return x, np.array([r.label == UNKNOWN for r in rows])


def _calibrated_gate(
    args: argparse.Namespace, likelihoods: np.ndarray, labels: list[str], non_drum: np.ndarray, where: str
) -> tuple[Evaluation, float]:
    """Joint calibration of the Unknown and gate thresholds on held-out likelihoods and gate probabilities."""
    is_drum = np.asarray(labels) != UNKNOWN
    t1, t2 = calibrate_with_gate(likelihoods.max(axis=1), non_drum, is_drum, args.max_drum_rejection)
    ev = evaluate(likelihoods, labels, t1, non_drum=non_drum, gate_threshold=t2)
    print(_summary(f"{where}, with the non-drum gate (gate threshold {t2:.2f})", ev))
    return ev, t2


def _fit_gate(args: argparse.Namespace, x: np.ndarray, is_non_drum: np.ndarray) -> NonDrumGate:
    return NonDrumGate.fit(x, is_non_drum, hidden=args.gate_hidden, alpha=args.gate_alpha, seed=args.seed)


def _final_gate(
    args: argparse.Namespace, x: np.ndarray, is_non_drum: np.ndarray, head: Head, ev: Evaluation, t2: float, meta: dict
) -> NonDrumGate:
    gate = _fit_gate(args, x, is_non_drum)
    meta = meta | {"head": head.fingerprint, "hidden": args.gate_hidden, "alpha": args.gate_alpha}
    meta |= {"sounds": len(x), "seed": args.seed}
    meta |= {"drums_to_unknown": ev.drums_to_unknown, "negatives_to_unknown": ev.negatives_to_unknown}
    return gate.with_thresholds(t2, ev.threshold, meta)


def train_holdout(args: argparse.Namespace, train_rows: list[Row], val_rows: list[Row]) -> tuple[Head, NonDrumGate]:
    """The design's protocol: fit on train, best epoch on val, threshold calibrated on val."""
    tr_emb, tr_kept = patch_embeddings(
        train_rows, args.cache, args.augment, args.seed, "train", eq=args.eq, **_inputs(args)
    )
    va_emb, va_kept = patch_embeddings(val_rows, args.cache, 0, args.seed, "val", **_inputs(args))
    tr_desc, va_desc = row_descriptors(tr_kept, args.cache), row_descriptors(va_kept, args.cache)
    scaling = descriptor_scaling(args, tr_desc)
    tr_in, va_in = widen(tr_emb, tr_desc, scaling), widen(va_emb, va_desc, scaling)
    fit = _fit(args, tr_in, tr_kept, (va_in, va_kept))
    ev = _calibrated(args, file_likelihoods(fit.head, va_in), [r.label for r in va_kept])
    print(f"best epoch {fit.best_epoch}/{args.epochs}; " + _summary("val", ev))
    meta = {"protocol": "holdout", "best_epoch": fit.best_epoch, "train_sounds": len(tr_kept) // (args.augment + 1)}
    meta |= {"val_sounds": len(va_kept), "val_accuracy": ev.accuracy, "val_macro_f1": ev.macro_f1}
    meta |= {"val_negatives_to_unknown": ev.negatives_to_unknown, "val_drums_to_unknown": ev.drums_to_unknown}
    head = Head(fit.head.w1, fit.head.b1, fit.head.w2, fit.head.b2, fit.head.classes, meta | _common_meta(args, ev))
    if args.sub_epochs:
        head = head.with_subclass_output(_fit_sub(args, tr_in, tr_kept).head)
    if scaling is not None:
        head = head.with_descriptor_input(*scaling)
    tr_clean, tr_clean_rows = patch_embeddings(train_rows, args.cache, 0, args.seed, "train", **_inputs(args))
    x_train, y_train = _gate_inputs(args, tr_clean, tr_clean_rows)
    x_val, _ = _gate_inputs(args, va_emb, va_kept)
    val_gate = _fit_gate(args, x_train, y_train).probability(x_val)
    va_lik = file_likelihoods(head, va_emb, va_desc if scaling is not None else None)
    gate_ev, t2 = _calibrated_gate(args, va_lik, [r.label for r in va_kept], val_gate, "val")
    return head, _final_gate(args, x_train, y_train, head, gate_ev, t2, {"protocol": "holdout"})


_FOLD_DATA: dict[str, tuple] = {}
"""The folds' shared inputs, set before the worker processes fork (inherited, not pickled)."""


def _run_fold(group: str) -> tuple[str, list[int], np.ndarray, np.ndarray | None, np.ndarray]:
    """Train on every group but ``group``; its clean sounds' likelihoods, sub-class likelihoods, gate output."""
    args, all_emb, all_rows, clean_emb, clean_rows, x_gate, y_gate = _FOLD_DATA["v"]
    train_idx = [i for i, r in enumerate(all_rows) if r.group != group]
    held = [i for i, r in enumerate(clean_rows) if r.group == group]
    fit = _fit(args, [all_emb[i] for i in train_idx], [all_rows[i] for i in train_idx])
    lik = file_likelihoods(fit.head, [clean_emb[i] for i in held])
    sub = None
    if args.sub_epochs:
        sub_fit = _fit_sub(args, [all_emb[i] for i in train_idx], [all_rows[i] for i in train_idx])
        sub = file_likelihoods(sub_fit.head, [clean_emb[i] for i in held])
    others = np.array([r.group != group for r in clean_rows])
    gate = _fit_gate(args, x_gate[others], y_gate[others]).probability(x_gate[held])
    return group, held, lik, sub, gate


def _map_folds(jobs: int, groups: Sequence[str]):
    """The folds' results in group order, computed by ``jobs`` forked processes (1: in this one)."""
    if jobs <= 1:
        yield from map(_run_fold, groups)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(_run_fold, groups)


def train_grouped_cv(args: argparse.Namespace, rows: list[Row]) -> tuple[Head, NonDrumGate]:
    """Leave-one-group-out over ``rows`` for the estimate and the threshold, then one fit on all of them."""
    all_emb, all_rows = patch_embeddings(
        rows, args.cache, args.augment, args.seed, "train+val", eq=args.eq, **_inputs(args)
    )
    clean_emb, clean_rows = patch_embeddings(rows, args.cache, 0, args.seed, "clean", **_inputs(args))
    groups = sorted({r.group for r in clean_rows})
    oof = np.zeros((len(clean_rows), len(CLASSES)))
    sub_oof = np.zeros((len(clean_rows), len(SUBCLASSES)))
    x_gate, y_gate = _gate_inputs(args, clean_emb, clean_rows)
    gate_oof = np.zeros(len(clean_rows))
    clean_desc = row_descriptors(clean_rows, args.cache)
    scaling = descriptor_scaling(args, clean_desc)
    all_in = widen(all_emb, row_descriptors(all_rows, args.cache), scaling)
    clean_in = widen(clean_emb, clean_desc, scaling)
    _FOLD_DATA["v"] = (args, all_in, all_rows, clean_in, clean_rows, x_gate, y_gate)
    for group, held, lik, sub, gate in _map_folds(args.jobs, groups):
        oof[held], gate_oof[held] = lik, gate
        if sub is not None:
            sub_oof[held] = sub
        labels = np.array([clean_rows[i].label for i in held])
        drums = labels != UNKNOWN
        pred = np.array([CLASSES[k] for k in lik.argmax(axis=1)])
        acc = f"{np.mean(pred[drums] == labels[drums]):.3f}" if drums.any() else "-"
        print(f"fold {group}: {int(drums.sum())} drums, {int((~drums).sum())} non-drums, accuracy {acc}", flush=True)
    _FOLD_DATA.clear()
    ev, gate_ev, t2 = _cross_validated(
        args, "leave-one-group-out", f"over {len(groups)} groups", clean_rows, oof, sub_oof, gate_oof
    )
    final = _fit(args, all_in, all_rows)
    meta = {"protocol": "grouped-cv", "groups": groups, "train_sounds": len(clean_rows)}
    meta |= {"cv_accuracy": ev.accuracy, "cv_macro_f1": ev.macro_f1}
    meta |= {"cv_negatives_to_unknown": ev.negatives_to_unknown, "cv_drums_to_unknown": ev.drums_to_unknown}
    head = Head(
        final.head.w1, final.head.b1, final.head.w2, final.head.b2, final.head.classes, meta | _common_meta(args, ev)
    )
    if args.sub_epochs:
        head = head.with_subclass_output(_fit_sub(args, all_in, all_rows).head)
    if scaling is not None:
        head = head.with_descriptor_input(*scaling)
    return head, _final_gate(args, x_gate, y_gate, head, gate_ev, t2, {"protocol": "grouped-cv", "groups": groups})


def branch_data(args: argparse.Namespace, rows: Sequence[Row]) -> tuple[FrontEndData, np.ndarray, tuple]:
    """The cached front-end outputs of ``rows`` (and of ``--augment`` variants of each) with the sounds' scaled
    descriptors, as :class:`tools.tag_branch.TagBranch` trains on them; the raw descriptors and their scaling."""
    if not args.descriptor_input:
        raise SystemExit("error: --finetune-epochs needs --descriptor-input > 0 (the tag branch's head reads them)")
    fe = _front_end(args)
    if not fe["trim_silence"]:
        raise SystemExit("error: --finetune-epochs needs --trim-silence (the front-end cache holds trimmed patches)")
    cache, peak, rate = Path(args.frontend_cache), fe["peak_normalize"], fe["sample_rate"]
    outputs = [
        frontend_outputs(rows, cache, peak, rate, variant, args.seed, args.eq) for variant in range(args.augment + 1)
    ]
    described = row_descriptors(rows, args.cache)
    scaling = descriptor_scaling(args, described)
    assert scaling is not None
    return (
        FrontEndData.of_variants(outputs, ((described - scaling[0]) / scaling[1]).astype(np.float32)),
        described,
        scaling,
    )


def fit_branch(
    args: argparse.Namespace,
    data: FrontEndData,
    sounds: np.ndarray,
    labels: Sequence[str],
    groups: Sequence[str],
    seed: int,
) -> TagBranch:
    """A tag branch and head fine-tuned with the options' recipe on ``sounds`` (indices into ``data``)."""
    branch = TagBranch(data.described.shape[1], args.finetune_lr, args.lr, args.dropout, seed)
    return branch.fit(
        data, sounds, labels, groups, args.finetune_epochs, seed, args.smoothing, args.unknown_share, args.group_balance
    )


def train_branch_cv(args: argparse.Namespace, rows: list[Row]) -> tuple[Head, NonDrumGate]:
    """MusiCNN's upper layers fine-tuned with the head (:mod:`tools.tag_branch`), estimated and calibrated by
    grouped K-fold over ``rows`` (``--finetune-folds``: a fold holds whole groups), then fitted once on all of
    them. The sub-class output is fitted on each fold's branch embeddings, the gate (which reads the frozen
    embedding) on the same folds."""
    clean_emb, clean_rows = patch_embeddings(rows, args.cache, 0, args.seed, "clean", **_front_end(args))
    data, described, scaling = branch_data(args, clean_rows)
    labels, groups = [r.label for r in clean_rows], [r.group for r in clean_rows]
    names = sorted(set(groups))
    fold_of = group_folds(groups, args.finetune_folds, args.seed)
    fold = np.array([fold_of[g] for g in groups])
    x_gate, y_gate = _gate_inputs(args, clean_emb, clean_rows)
    everyone = np.arange(len(clean_rows))

    def head_inputs(branch: TagBranch) -> list[np.ndarray]:
        """Every sound's branch embeddings with its scaled descriptors: the sub-class output's input."""
        emb = branch.embeddings(data, everyone)
        return widen([emb[i] for i in everyone], described, scaling)

    oof = np.zeros((len(clean_rows), len(CLASSES)))
    sub_oof = np.zeros((len(clean_rows), len(SUBCLASSES)))
    gate_oof = np.zeros(len(clean_rows))
    for k in range(args.finetune_folds):
        train_idx, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        branch = fit_branch(args, data, train_idx, labels, groups, args.seed + k)
        lik = branch.likelihoods(data, held)
        oof[held] = np.stack([lik[int(i)] for i in held])
        if args.sub_epochs:
            inputs = head_inputs(branch)
            sub = _fit_sub(args, [inputs[i] for i in train_idx], [clean_rows[i] for i in train_idx]).head
            sub_oof[held] = file_likelihoods(sub, [inputs[i] for i in held])
        gate_oof[held] = _fit_gate(args, x_gate[train_idx], y_gate[train_idx]).probability(x_gate[held])
        truth = np.array(labels)[held]
        drums = truth != UNKNOWN
        pred = np.array([CLASSES[j] for j in oof[held].argmax(axis=1)])
        print(
            f"fold {k} ({len(set(np.array(groups)[held]))} groups): {int(drums.sum())} drums, "
            f"accuracy {np.mean(pred[drums] == truth[drums]):.3f}",
            flush=True,
        )
    ev, gate_ev, t2 = _cross_validated(
        args, f"grouped {args.finetune_folds}-fold", f"over {len(names)} groups", clean_rows, oof, sub_oof, gate_oof
    )
    final = fit_branch(args, data, everyone, labels, groups, args.seed)
    meta = {"protocol": "grouped-cv", "groups": names, "train_sounds": len(clean_rows)}
    meta |= {"cv_folds": args.finetune_folds, "cv_accuracy": ev.accuracy, "cv_macro_f1": ev.macro_f1}
    meta |= {"cv_negatives_to_unknown": ev.negatives_to_unknown, "cv_drums_to_unknown": ev.drums_to_unknown}
    head = final.head(meta | _common_meta(args, ev))
    if args.sub_epochs:
        head = head.with_subclass_output(_fit_sub(args, head_inputs(final), clean_rows).head)
    head = head.with_descriptor_input(*scaling).with_branch(final.branch_weights())
    return head, _final_gate(args, x_gate, y_gate, head, gate_ev, t2, {"protocol": "grouped-cv", "groups": names})


def _cross_validated(
    args: argparse.Namespace,
    scheme: str,
    extent: str,
    rows: Sequence[Row],
    oof: np.ndarray,
    sub_oof: np.ndarray,
    gate_oof: np.ndarray,
) -> tuple[Evaluation, Evaluation, float]:
    """Calibrate and report the out-of-fold figures (``--cv-out`` writes them): the head's evaluation at its own
    threshold, the evaluation with the gate, and the gate's threshold."""
    labels = [r.label for r in rows]
    ev = _calibrated(args, oof, labels)
    print(_summary(f"{scheme} {extent}", ev))
    print(_cv_details(ev, oof, rows))
    if args.sub_epochs:
        print(f"\nSub-classes, {scheme}:\n\n" + subclass_report(sub_oof, rows))
    gate_ev, t2 = _calibrated_gate(args, oof, labels, gate_oof, scheme)
    if args.cv_out:
        np.savez(
            args.cv_out,
            likelihoods=oof,
            subclass_likelihoods=sub_oof,
            gate=gate_oof,
            paths=np.array([r.path for r in rows]),
            groups=np.array([r.group for r in rows]),
            labels=np.array(labels),
        )
    return ev, gate_ev, t2


def _cv_details(ev: Evaluation, oof: np.ndarray, rows: Sequence[Row]) -> str:
    """Per-class recall, the confusion matrix and the drum machines' out-of-fold figures, as Markdown."""
    from tools.dataset.split import DRUM_MACHINE_GROUPS

    lines = ["", "| class | recall |", "|---|---:|", *[f"| {c} | {ev.recall[c]:.3f} |" for c in CLASSES]]
    lines += ["", "| | " + " | ".join(CLASSES) + " |", "|---|" + "---:|" * len(CLASSES)]
    for c, row in zip(CLASSES, ev.confusion, strict=True):
        lines.append(f"| {c} | " + " | ".join(str(v) for v in row) + " |")
    machine = [i for i, r in enumerate(rows) if r.group in DRUM_MACHINE_GROUPS and r.label != UNKNOWN]
    if machine:
        truth = np.array([rows[i].label for i in machine])
        pred = np.array([CLASSES[k] for k in oof[machine].argmax(axis=1)])
        toms = truth == "Tom"
        tom = f"{np.mean(pred[toms] == 'Tom'):.3f}" if toms.any() else "-"
        lines += [
            "",
            f"drum machines held out ({len({rows[i].group for i in machine})} groups, {len(machine)} drums): "
            f"accuracy {np.mean(pred == truth):.3f}, Tom recall {tom} ({int(toms.sum())} toms)",
        ]
    return "\n".join(lines)


def _common_meta(args: argparse.Namespace, ev: Evaluation) -> dict:
    return {
        "unknown_threshold": ev.threshold,
        **_front_end(args),
        "epochs": args.epochs,
        "learning_rate": args.lr,
        "seed": args.seed,
        "augment": args.augment,
        "eq": args.eq,
        "smoothing": args.smoothing,
        "dropout": args.dropout,
        "unknown_share": args.unknown_share,
        "group_balance": args.group_balance,
        "sub_epochs": args.sub_epochs,
        "descriptor_input": args.descriptor_input,
        "trainer": args.trainer,
        "finetune_epochs": args.finetune_epochs,
        "finetune_lr": args.finetune_lr,
        "extra_embeddings": list(args.extra_embedding),
        "manifest_sha1": _sha1(args.manifest),
    }


def train(args: argparse.Namespace) -> tuple[Head, NonDrumGate]:
    """Read the manifest and run the chosen protocol."""
    rows = read_manifest(args.manifest)
    if bad := reserved(rows):
        raise SystemExit(
            f"error: {args.manifest} holds {len(bad)} sounds reserved for independent evaluation "
            f"(e.g. {bad[0].path}); they are never trained on"
        )
    train_rows = [r for r in rows if r.split == "train"]
    val_rows = [r for r in rows if r.split == "val"]
    if args.per_label:
        train_rows = subsample(train_rows, args.per_label, args.seed)
        val_rows = subsample(val_rows, args.per_label, args.seed)
    if not train_rows or not val_rows:
        raise SystemExit(f"error: {args.manifest} needs rows in both the train and the val split")
    if args.protocol == "holdout":
        if args.finetune_epochs:
            raise SystemExit("error: --finetune-epochs works with --protocol grouped-cv")
        return train_holdout(args, train_rows, val_rows)
    if args.finetune_epochs:
        if args.extra_embedding:
            raise SystemExit("error: --extra-embedding works with the frozen recipe (--finetune-epochs 0)")
        return train_branch_cv(args, train_rows + val_rows)
    return train_grouped_cv(args, train_rows + val_rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="data/dataset/manifest.csv")
    parser.add_argument("--cache", default="data/cache/embeddings")
    parser.add_argument("--out", required=True, help="where to write the head (.npz)")
    parser.add_argument("--gate-out", help="where to write the non-drum gate (.npz; default: not written)")
    parser.add_argument("--gate-hidden", type=int, default=64, help="hidden ReLU units of the non-drum gate")
    parser.add_argument("--gate-alpha", type=float, default=1.0, help="L2 penalty of the non-drum gate")
    parser.add_argument("--protocol", choices=["grouped-cv", "holdout"], default="grouped-cv")
    parser.add_argument(
        "--augment", type=int, default=0, help="augmented variants per training sound (0.6: 4; 0.7: none, see docs)"
    )
    parser.add_argument(
        "--eq", type=float, default=0.0, help="probability of a random tone change (high and low shelf) per variant"
    )
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--smoothing", type=float, default=0.1, help="label smoothing of drum targets")
    parser.add_argument("--unknown-share", type=float, default=1.0, help="weight of non-drums, in classes")
    parser.add_argument(
        "--group-balance",
        type=float,
        default=1.0,
        help="within a class, weight a 3 s patch n**-P where its group holds n patches of that class "
        "(a one-shot is one patch; 0: off, 1: groups equal, the 0.7 default)",
    )
    parser.add_argument(
        "--sub-epochs", type=int, default=100, help="epochs of the sub-class output (0: no sub-class output)"
    )
    parser.add_argument(
        "--descriptor-input",
        type=float,
        default=2.0,
        help="append each sound's 36 descriptors, z-scored and times this factor, to the head's input "
        "(0: embeddings only, as up to 0.7; 2: the 0.8 default, chosen by grouped cross-validation)",
    )
    parser.add_argument(
        "--trainer",
        choices=["numpy", "keras"],
        default="numpy",
        help="head trainer: the same network and recipe in NumPy (fast) or Keras (holdout's best epoch uses Keras)",
    )
    parser.add_argument(
        "--finetune-epochs",
        type=int,
        default=0,
        help="epochs of fine-tuning MusiCNN's upper layers with the head (a tag branch; 30 was measured, "
        "docs/evaluation.md; 0, the shipped 0.8 recipe: frozen MusiCNN and a NumPy head, leave-one-group-out)",
    )
    parser.add_argument(
        "--extra-embedding",
        action="append",
        default=[],
        choices=[m for m in MODELS if m != "MTT_musicnn"],
        help="append this frozen MusiCNN model's 200-d embedding to MTT_musicnn's in the head's input (repeatable)",
    )
    parser.add_argument("--finetune-lr", type=float, default=1e-4, help="learning rate of MusiCNN's upper layers")
    parser.add_argument("--finetune-folds", type=int, default=5, help="grouped folds of the fine-tuning recipe")
    parser.add_argument("--frontend-cache", default="data/cache/frontend", help="MusiCNN front-end outputs (cache)")
    parser.add_argument("--jobs", type=int, default=2, help="cross-validation folds trained at once (processes)")
    parser.add_argument("--cv-out", help="write the out-of-fold likelihoods here (.npz; for tools.evaluate_machines)")
    parser.add_argument("--max-drum-rejection", type=float, default=0.05, help="calibration: drums → Unknown")
    parser.add_argument("--per-label", type=int, default=0, help="use at most this many sounds per label (smoke)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--trim-silence",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="leave a short sound's zero-padding out of MusiCNN (faster; the head records it)",
    )
    parser.add_argument(
        "--peak-normalize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="scale every sound to a peak of 0 dBFS before MusiCNN (the head records it)",
    )
    parser.add_argument(
        "--sample-rate",
        type=int,
        default=32000,
        help="front-end rate, a multiple of 16000: 32000 lets the mel bands reach 16 kHz (see features.FrontEnd)",
    )
    parser.add_argument("--verbose", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    head, gate = train(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    head.save(args.out)
    print(f"wrote {args.out}")
    if args.gate_out:
        Path(args.gate_out).parent.mkdir(parents=True, exist_ok=True)
        gate.save(args.gate_out)
        print(f"wrote {args.gate_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

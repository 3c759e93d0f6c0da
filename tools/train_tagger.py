"""Train the Drumsample Tagger's head on the dataset's train split, select on val, calibrate Unknown.

Reproducible (seeded); MusiCNN embeddings are cached, so after the first run training takes minutes.

    .venv/bin/python -m tools.train_tagger --manifest data/dataset/manifest.csv \\
        --out drumsamp_models/src/drumsamp_models/weights/tagger_head.npz
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from drumsamp_models.tagger import CLASSES, UNKNOWN, Head
from drumsamp_models.training import calibrate_unknown_threshold, class_weights, fit_head, soft_targets
from tools.evaluate_tagger import evaluate, file_likelihoods
from tools.tagger_data import Row, patch_embeddings, read_manifest, stack_patches


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


def train(args: argparse.Namespace) -> Head:
    """Embed, fit, select, calibrate; returns the head with its metadata."""
    rows = read_manifest(args.manifest)
    train_rows = [r for r in rows if r.split == "train"]
    val_rows = [r for r in rows if r.split == "val"]
    if args.per_label:
        train_rows = subsample(train_rows, args.per_label, args.seed)
        val_rows = subsample(val_rows, args.per_label, args.seed)
    if not train_rows or not val_rows:
        raise SystemExit(f"error: {args.manifest} needs rows in both the train and the val split")

    trim = args.trim_silence
    train_emb, train_kept = patch_embeddings(train_rows, args.cache, args.augment, args.seed, "embedding train", trim)
    val_emb, val_kept = patch_embeddings(val_rows, args.cache, 0, args.seed, "embedding val", trim)
    x_tr, y_tr_labels, _ = stack_patches(train_emb, train_kept)
    x_va, y_va_labels, _ = stack_patches(val_emb, val_kept)
    fit = fit_head(
        x_tr,
        soft_targets(y_tr_labels, CLASSES, args.smoothing),
        x_va,
        soft_targets(y_va_labels, CLASSES, 0.0),
        sample_weight=class_weights(y_tr_labels, args.unknown_share),
        val_sample_weight=class_weights(y_va_labels, args.unknown_share),
        epochs=args.epochs,
        dropout=args.dropout,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        verbose=2 if args.verbose else 0,
    )
    val_like = file_likelihoods(fit.head, val_emb)
    val_labels = [r.label for r in val_kept]
    drum_max = val_like.max(axis=1)[np.asarray(val_labels) != UNKNOWN]
    threshold = calibrate_unknown_threshold(drum_max, args.max_drum_rejection)
    ev = evaluate(val_like, val_labels, threshold)
    meta = {
        "unknown_threshold": threshold,
        "trim_silence": trim,
        "best_epoch": fit.best_epoch,
        "epochs": args.epochs,
        "seed": args.seed,
        "augment": args.augment,
        "smoothing": args.smoothing,
        "dropout": args.dropout,
        "unknown_share": args.unknown_share,
        "manifest_sha1": _sha1(args.manifest),
        "train_sounds": len(train_kept) // (args.augment + 1),
        "train_patches": len(x_tr),
        "val_sounds": len(val_kept),
        "val_accuracy": ev.accuracy,
        "val_macro_f1": ev.macro_f1,
        "val_negatives_to_unknown": ev.negatives_to_unknown,
        "val_drums_to_unknown": ev.drums_to_unknown,
    }
    print(
        f"best epoch {fit.best_epoch}/{args.epochs}; val accuracy {ev.accuracy:.4f}, macro-F1 {ev.macro_f1:.4f}; "
        f"Unknown threshold {threshold:.2f}: non-drums → Unknown {ev.negatives_to_unknown:.1%}, "
        f"drums → Unknown {ev.drums_to_unknown:.1%}"
    )
    return Head(fit.head.w1, fit.head.b1, fit.head.w2, fit.head.b2, fit.head.classes, meta)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="data/dataset/manifest.csv")
    parser.add_argument("--cache", default="data/cache/embeddings")
    parser.add_argument("--out", required=True, help="where to write the head (.npz)")
    parser.add_argument("--augment", type=int, default=4, help="augmented variants per training sound")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--smoothing", type=float, default=0.1, help="label smoothing of drum targets")
    parser.add_argument("--unknown-share", type=float, default=1.0, help="weight of non-drums, in classes")
    parser.add_argument("--max-drum-rejection", type=float, default=0.05, help="calibration: drums → Unknown on val")
    parser.add_argument("--per-label", type=int, default=0, help="use at most this many sounds per label (smoke)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--trim-silence",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="leave a short sound's zero-padding out of MusiCNN (faster; the head records it)",
    )
    parser.add_argument("--verbose", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    head = train(args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    head.save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

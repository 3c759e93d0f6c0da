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

    .venv/bin/python -m tools.finetune_cv --folds 5 --epochs 30 --lr-base 0 1e-4
    .venv/bin/python -m tools.finetune_cv --test --epochs 30 --lr-base 0 1e-4   # once, on the test split
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from drumsamp_models import audio, features
from drumsamp_models.tagger import CLASSES, UNKNOWN, silence_trimmed_length
from drumsamp_models.training import class_weights, soft_targets
from tools.dataset.split import DRUM_MACHINE_GROUPS
from tools.evaluate_tagger import evaluate
from tools.tagger_data import Row, _file_stamp, read_manifest, reserved, row_descriptors
from tools.train_tagger import descriptor_scaling

FRONTEND_DIM = 561
UPPER_LAYERS = (
    "midend_1_conv",
    "midend_1_bn",
    "midend_2_conv",
    "midend_2_bn",
    "midend_3_conv",
    "midend_3_bn",
    "pool_bn",
    "penultimate_dense",
    "embedding",
)


def frontend_outputs(rows: Sequence[Row], cache: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """MusiCNN's front-end output of every silence-trimmed patch of ``rows`` (float16) and the row of each patch;
    cached under ``cache`` by the rows' files (path, size, time)."""
    key = hashlib.sha1("\n".join(_file_stamp(r.path) for r in rows).encode()).hexdigest()[:16]
    target = cache / f"frontend-{key}.npz"
    if target.exists():
        with np.load(target, allow_pickle=True) as z:
            return list(z["feats"]), z["owner"]
    import keras

    from drumsamp_models.musicnn import load_musicnn

    model = load_musicnn(None)
    front_end = keras.Model(model.input, model.get_layer("frontend").output)
    mel = features.FrontEnd(peak_normalize=True, sample_rate=32000)
    feats: list[np.ndarray] = []
    owner: list[int] = []
    for i, row in enumerate(rows):
        for patch in mel.patches(audio.load(row.path, mel.sample_rate)):
            frames = silence_trimmed_length(patch)
            feats.append(np.asarray(front_end(patch[None, :frames]))[0].astype(np.float16))
            owner.append(i)
    cache.mkdir(parents=True, exist_ok=True)
    stored = np.empty(len(feats), object)
    stored[:] = feats
    np.savez(target, feats=stored, owner=np.array(owner))
    return feats, np.array(owner)


def build(lr_base: float, lr_head: float, n_desc: int, seed: int) -> tuple[Callable, Callable]:
    """(train step, predict) of MusiCNN's upper layers (trainable when ``lr_base`` > 0) and a fresh head."""
    import keras
    import tensorflow as tf

    from drumsamp_models.musicnn import load_musicnn

    keras.utils.set_random_seed(seed)
    base = load_musicnn(None)
    layer = {name: base.get_layer(name) for name in UPPER_LAYERS}
    for each in layer.values():
        each.trainable = lr_base > 0
    x_in = keras.Input((None, FRONTEND_DIM))
    d_in = keras.Input((n_desc,))
    m1 = layer["midend_1_bn"](layer["midend_1_conv"](x_in), training=False)
    r2 = layer["midend_2_bn"](layer["midend_2_conv"](m1), training=False) + m1
    r3 = layer["midend_3_bn"](layer["midend_3_conv"](r2), training=False) + r2
    pooled = base.get_layer("time_pool")(keras.layers.Concatenate(axis=-1)([x_in, m1, r2, r3]))
    hidden = layer["penultimate_dense"](layer["pool_bn"](pooled, training=False))
    embedding = layer["embedding"](hidden, training=False)
    z = keras.layers.Dropout(0.5)(keras.layers.Concatenate()([embedding, d_in]))
    z = keras.layers.Dense(200, activation="relu", name="head_hidden")(z)
    model = keras.Model([x_in, d_in], keras.layers.Dense(len(CLASSES), activation="softmax", name="head_out")(z))
    head_vars = [*model.get_layer("head_hidden").trainable_variables, *model.get_layer("head_out").trainable_variables]
    base_vars = [v for each in layer.values() for v in each.trainable_variables] if lr_base > 0 else []
    head_opt = keras.optimizers.Adam(lr_head)
    base_opt = keras.optimizers.Adam(lr_base) if base_vars else None
    x_spec = tf.TensorSpec((None, None, FRONTEND_DIM), tf.float32)
    d_spec = tf.TensorSpec((None, n_desc), tf.float32)

    @tf.function(input_signature=[x_spec, d_spec, tf.TensorSpec((None, len(CLASSES))), tf.TensorSpec((None,))])
    def step(x: Any, d: Any, y: Any, w: Any) -> Any:
        with tf.GradientTape() as tape:
            p = model([x, d], training=True)
            loss = tf.reduce_mean(w * -tf.reduce_sum(y * tf.math.log(p + 1e-7), axis=1))
        grads = tape.gradient(loss, head_vars + base_vars)
        head_opt.apply_gradients(zip(grads[: len(head_vars)], head_vars, strict=True))
        if base_opt is not None:
            base_opt.apply_gradients(zip(grads[len(head_vars) :], base_vars, strict=True))
        return loss

    @tf.function(input_signature=[x_spec, d_spec])
    def predict(x: Any, d: Any) -> Any:
        return model([x, d], training=False)

    return step, predict


def batches(index: np.ndarray, lengths: np.ndarray, rng: np.random.Generator, size: int = 32) -> list[np.ndarray]:
    """Shuffled batches of patches of one length each (trimmed patches come in a few lengths)."""
    out = []
    for length in np.unique(lengths[index]):
        members = index[lengths[index] == length]
        members = members[rng.permutation(len(members))]
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return [out[i] for i in rng.permutation(len(out))]


def run_fold(
    data: tuple[list[np.ndarray], np.ndarray, list[Row], np.ndarray],
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    lr_base: float,
    epochs: int,
    seed: int,
) -> dict[int, np.ndarray]:
    """Train on the patches of ``train_rows``; the mean likelihoods of each of ``test_rows``."""
    feats, owner, rows, described = data
    lengths = np.array([len(f) for f in feats])
    step, predict = build(lr_base, 3e-4, described.shape[1], seed)
    rng = np.random.default_rng(seed)
    train = np.flatnonzero(np.isin(owner, train_rows))
    labels = [rows[owner[i]].label for i in train]
    targets = soft_targets(labels, CLASSES, 0.1)
    weights = class_weights(labels, 1.0, [rows[owner[i]].group for i in train], 1.0)
    position = {int(i): j for j, i in enumerate(train)}
    for _ in range(epochs):
        for batch in batches(train, lengths, rng):
            at = [position[int(i)] for i in batch]
            x = np.stack([feats[i] for i in batch]).astype(np.float32)
            step(x, described[owner[batch]], targets[at], weights[at])
    test = np.flatnonzero(np.isin(owner, test_rows))
    sums: dict[int, list[np.ndarray]] = {}
    for batch in batches(test, lengths, np.random.default_rng(0), 64):
        x = np.stack([feats[i] for i in batch]).astype(np.float32)
        for i, p in zip(batch, np.asarray(predict(x, described[owner[batch]])), strict=True):
            sums.setdefault(int(owner[i]), []).append(p)
    return {row: np.mean(ps, axis=0) for row, ps in sums.items()}


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
    feats, owner = frontend_outputs(rows, Path(args.frontend_cache))
    described = row_descriptors(rows, args.cache)
    if args.test:  # one "fold": the test split
        fold = np.array([0 if r.split == "test" else -1 for r in rows])
        args.folds = 1
    else:
        permuted = np.random.default_rng(args.seed).permutation(groups)
        fold_of = {str(g): i % args.folds for i, g in enumerate(permuted)}
        fold = np.array([fold_of.get(r.group, -1) for r in rows])  # -1: the extra font, always trained on
    results: dict[float, dict[int, np.ndarray]] = {lr: {} for lr in args.lr_base}
    for k in range(args.folds):
        train_rows, test_rows = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        center, scale = descriptor_scaling(args, described[train_rows])  # the trainer's definition
        scaled = ((described - center) / scale).astype(np.float32)
        for lr in args.lr_base:
            start = time.perf_counter()
            out = run_fold((feats, owner, rows, scaled), train_rows, test_rows, lr, args.epochs, args.seed + k)
            results[lr].update(out)
            print(summary(f"fold {k}, lr_base {lr:g} ({time.perf_counter() - start:.0f} s)", rows, out), flush=True)
    for lr in args.lr_base:
        print(summary(f"{'test split' if args.test else 'all folds'}, lr_base {lr:g}", rows, results[lr]))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    raise SystemExit(main())

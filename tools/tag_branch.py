"""Fine-tuning MusiCNN's upper layers for the tag (issue 21): the *tag branch* of tagger 0.9, trained on CPU.

MusiCNN's front end (its mel convolutions, most of its cost) stays frozen and its output, (frames, 561) per
silence-trimmed patch, is computed once and cached. On it, a copy of the mid end (three 1-D convolutions), the pooled
batch-norm, the 200-unit penultimate layer and its batch-norm (:data:`~drumsamp_models.musicnn.UPPER_LAYERS`, starting
from MusiCNN's weights) is trained together with a head of the shipped shape (branch embedding + the sound's scaled
descriptors → Dropout → Dense 200 ReLU → Dense 5 softmax): learning rate ``lr_base`` for MusiCNN's layers (0: frozen)
and ``lr_head`` for the head. Batch-norm statistics stay MusiCNN's (inference mode), so the branch runs unchanged
inside :class:`drumsamp_models.tagger.MusicnnEmbedder`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drumsamp_models import audio, features
from drumsamp_models.tagger import CLASSES, Head, silence_trimmed_length
from drumsamp_models.training import augment, class_weights, soft_targets
from tools.tagger_data import Row, _file_stamp

FRONTEND_DIM = 561


def frontend_outputs(
    rows: Sequence[Row],
    cache: Path,
    peak_normalize: bool = True,
    sample_rate: int = 32000,
    variant: int = 0,
    seed: int = 0,
    eq: float = 0.0,
) -> tuple[list[np.ndarray], np.ndarray]:
    """MusiCNN's front-end output of every silence-trimmed patch of ``rows`` (float16) and the row of each patch;
    cached under ``cache`` by the rows' files (path, size, time) and the settings. ``variant`` > 0: of a random
    variant of each sound (:func:`drumsamp_models.training.augment`, seeded by ``seed``, row and variant)."""
    stamps = [_file_stamp(r.path) for r in rows]
    if (peak_normalize, sample_rate) != (True, 32000):
        stamps.append(f"peak={peak_normalize}|sr={sample_rate}")
    if variant:
        stamps.append(f"variant={variant}|seed={seed}|eq={eq:g}")
    key = hashlib.sha1("\n".join(stamps).encode()).hexdigest()[:16]
    target = cache / f"frontend-{key}.npz"
    if target.exists():
        with np.load(target, allow_pickle=True) as z:
            return list(z["feats"]), z["owner"]
    import keras

    from drumsamp_models.musicnn import load_musicnn

    model = load_musicnn(None)
    front_end = keras.Model(model.input, model.get_layer("frontend").output)
    mel = features.FrontEnd(peak_normalize=peak_normalize, sample_rate=sample_rate)
    feats: list[np.ndarray] = []
    owner: list[int] = []
    for i, row in enumerate(rows):
        y = audio.load(row.path, mel.sample_rate)
        if variant:
            y = augment(y, mel.sample_rate, np.random.default_rng([seed, i, variant]), eq)
        for patch in mel.patches(y):
            frames = silence_trimmed_length(patch)
            feats.append(np.asarray(front_end(patch[None, :frames]))[0].astype(np.float16))
            owner.append(i)
    cache.mkdir(parents=True, exist_ok=True)
    stored = np.empty(len(feats), object)
    stored[:] = feats
    np.savez(target, feats=stored, owner=np.array(owner))
    return feats, np.array(owner)


def group_folds(groups: Sequence[str], k: int, seed: int) -> dict[str, int]:
    """The fold (0 to ``k`` - 1) of each group: the groups in a seeded random order, dealt out in turn."""
    return {str(g): i % k for i, g in enumerate(np.random.default_rng(seed).permutation(sorted(set(groups))))}


def batches(index: np.ndarray, lengths: np.ndarray, rng: np.random.Generator, size: int = 32) -> list[np.ndarray]:
    """Shuffled batches of patches of one length each (trimmed patches come in a few lengths)."""
    out = []
    for length in np.unique(lengths[index]):
        members = index[lengths[index] == length]
        members = members[rng.permutation(len(members))]
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return [out[i] for i in rng.permutation(len(out))]


@dataclass
class FrontEndData:
    """The cached front-end outputs of some sounds: ``feats`` per patch, ``owner`` (the sound of each patch),
    each sound's scaled descriptors (``described``, one row per sound, as the head reads them) and, with
    augmented variants, each patch's ``variant`` (0: the sound as recorded; variants are trained on only)."""

    feats: list[np.ndarray]
    owner: np.ndarray
    described: np.ndarray
    variant: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.lengths = np.array([len(f) for f in self.feats])

    @classmethod
    def of_variants(cls, outputs: Sequence[tuple[list[np.ndarray], np.ndarray]], described: np.ndarray) -> FrontEndData:
        """The front-end outputs of the sounds as recorded, then of their variants (:func:`frontend_outputs`)."""
        feats = [f for each, _ in outputs for f in each]
        owner = np.concatenate([o for _, o in outputs])
        variant = np.concatenate([np.full(len(o), v) for v, (_, o) in enumerate(outputs)])
        return cls(feats, owner, described, variant)

    def patches_of(self, sounds: np.ndarray, clean: bool = False) -> np.ndarray:
        """Indices of the patches of ``sounds`` (with ``clean``, of the sounds as recorded only)."""
        keep = np.isin(self.owner, sounds)
        if clean and self.variant is not None:
            keep &= self.variant == 0
        return np.flatnonzero(keep)

    def batch(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Front-end outputs (float32) and descriptors of patches of one length."""
        return np.stack([self.feats[i] for i in index]).astype(np.float32), self.described[self.owner[index]]


class TagBranch:
    """MusiCNN's upper layers (trainable when ``lr_base`` > 0) and a fresh head, as one Keras model."""

    def __init__(self, n_desc: int, lr_base: float, lr_head: float = 3e-4, dropout: float = 0.5, seed: int = 0) -> None:
        import keras
        import tensorflow as tf

        from drumsamp_models.musicnn import UPPER_LAYERS, load_musicnn, upper_layers

        keras.utils.set_random_seed(seed)
        base = load_musicnn(None)
        x_in = keras.Input((None, FRONTEND_DIM))
        d_in = keras.Input((n_desc,))
        embedding = upper_layers(x_in)
        self.embedder = keras.Model(x_in, embedding)
        for name in UPPER_LAYERS:
            layer = self.embedder.get_layer(name)
            layer.set_weights(base.get_layer(name).get_weights())
            layer.trainable = lr_base > 0
        concat, drop = keras.layers.Concatenate(), keras.layers.Dropout(dropout)
        hidden = keras.layers.Dense(200, activation="relu", name="head_hidden")
        out = keras.layers.Dense(len(CLASSES), activation="softmax", name="head_out")
        self.model = model = keras.Model([x_in, d_in], out(hidden(drop(concat([embedding, d_in])))))
        head_vars = [*hidden.trainable_variables, *out.trainable_variables]
        base_vars = list(self.embedder.trainable_variables) if lr_base > 0 else []
        head_opt = keras.optimizers.Adam(lr_head)
        base_opt = keras.optimizers.Adam(lr_base) if base_vars else None
        x_spec = tf.TensorSpec((None, None, FRONTEND_DIM), tf.float32)
        d_spec = tf.TensorSpec((None, n_desc), tf.float32)

        @tf.function(input_signature=[x_spec, d_spec, tf.TensorSpec((None, len(CLASSES))), tf.TensorSpec((None,))])
        def step(x: Any, d: Any, y: Any, w: Any) -> Any:
            # Batch-norm layers run in inference mode (MusiCNN's statistics); only dropout is in training mode.
            with tf.GradientTape() as tape:
                h = self.embedder(x, training=False)
                p = out(hidden(drop(concat([h, d]), training=True)))
                loss = tf.reduce_mean(w * -tf.reduce_sum(y * tf.math.log(p + 1e-7), axis=1))
            grads = tape.gradient(loss, head_vars + base_vars)
            head_opt.apply_gradients(zip(grads[: len(head_vars)], head_vars, strict=True))
            if base_opt is not None:
                base_opt.apply_gradients(zip(grads[len(head_vars) :], base_vars, strict=True))
            return loss

        @tf.function(input_signature=[x_spec, d_spec])
        def predict(x: Any, d: Any) -> Any:
            return model([x, d], training=False)

        @tf.function(input_signature=[x_spec])
        def embed(x: Any) -> Any:
            return self.embedder(x, training=False)

        self._step, self._predict, self._embed = step, predict, embed

    def fit(
        self,
        data: FrontEndData,
        sounds: np.ndarray,
        labels: Sequence[str],
        groups: Sequence[str],
        epochs: int,
        seed: int = 0,
        smoothing: float = 0.1,
        unknown_share: float = 1.0,
        group_balance: float = 1.0,
    ) -> TagBranch:
        """Train on the patches of ``sounds`` and of their variants (indices into ``labels``/``groups``, one per
        sound of ``data``)."""
        rng = np.random.default_rng(seed)
        train = data.patches_of(sounds)
        patch_labels = [labels[data.owner[i]] for i in train]
        targets = soft_targets(patch_labels, CLASSES, smoothing)
        weights = class_weights(patch_labels, unknown_share, [groups[data.owner[i]] for i in train], group_balance)
        position = {int(i): j for j, i in enumerate(train)}
        for _ in range(epochs):
            for batch in batches(train, data.lengths, rng):
                at = [position[int(i)] for i in batch]
                self._step(*data.batch(batch), targets[at], weights[at])
        return self

    def likelihoods(self, data: FrontEndData, sounds: np.ndarray) -> dict[int, np.ndarray]:
        """Each of ``sounds``' class likelihoods, averaged over its patches."""
        out: dict[int, list[np.ndarray]] = {}
        for batch in batches(data.patches_of(sounds, clean=True), data.lengths, np.random.default_rng(0), 64):
            for i, p in zip(batch, np.asarray(self._predict(*data.batch(batch))), strict=True):
                out.setdefault(int(data.owner[i]), []).append(p)
        return {sound: np.mean(ps, axis=0) for sound, ps in out.items()}

    def embeddings(self, data: FrontEndData, sounds: np.ndarray) -> dict[int, np.ndarray]:
        """Each of ``sounds``' patch embeddings (n_patches, 200) by the branch, patches in their order."""
        out: dict[int, dict[int, np.ndarray]] = {}
        for batch in batches(data.patches_of(sounds, clean=True), data.lengths, np.random.default_rng(0), 64):
            for i, e in zip(batch, np.asarray(self._embed(data.batch(batch)[0])), strict=True):
                out.setdefault(int(data.owner[i]), {})[int(i)] = e
        return {sound: np.stack([e for _, e in sorted(patches.items())]) for sound, patches in out.items()}

    def branch_weights(self) -> dict[str, list[np.ndarray]]:
        """The trained upper layers' weights, as :attr:`drumsamp_models.tagger.Head.branch` holds them."""
        from drumsamp_models.musicnn import branch_weights

        return branch_weights(self.embedder)

    def head(self, meta: dict | None = None) -> Head:
        """The trained head's two dense layers as a :class:`~drumsamp_models.tagger.Head` (embedding + scaled
        descriptors in; add the scaling with ``with_descriptor_input`` and the branch with ``with_branch``)."""
        w1, b1 = self.model.get_layer("head_hidden").get_weights()
        w2, b2 = self.model.get_layer("head_out").get_weights()
        return Head(w1, b1, w2, b2, CLASSES, dict(meta or {}))

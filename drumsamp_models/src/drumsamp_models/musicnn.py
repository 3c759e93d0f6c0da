"""MusiCNN (MTT_musicnn, Pons & Serra 2019) re-implemented in plain Keras 3, with the original weights.

The network maps log-mel patches (batch, frames, 96) — as made by
:func:`drumsamp_models.features.musicnn_patches` — to the 50 MagnaTagATune tags (``taggram``) and to
the 200-d penultimate feature (``embedding``: Dense 200 ReLU, then batch-norm). The weights were
converted from the TF1 checkpoint shipped in PyPI ``musicnn==0.1.0`` (ISC licence, Music Technology
Group, Universitat Pompeu Fabra; see ``weights/LICENSE-musicnn.txt``) by ``tools/convert_musicnn.py``
and checked against the original TF1 graph by ``tests/models/test_musicnn_port.py``.

TensorFlow/Keras are imported by this module only; the rest of the package works without them.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
from keras import layers, ops

__all__ = [
    "EMBEDDING_DIM",
    "MODELS",
    "MSD_TAGS",
    "MTT_TAGS",
    "N_MELS",
    "N_PARAMS",
    "TF1_LAYER_NAMES",
    "UPPER_LAYERS",
    "WEIGHTS_FILE",
    "FrequencyMaxPool",
    "InterleavedTimePool",
    "branch_weights",
    "build_musicnn",
    "load_musicnn",
    "load_musicnn_with_branch",
    "upper_layers",
    "weights_path",
]

MTT_TAGS: tuple[str, ...] = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing",
    "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop",
    "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice",
    "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip
"""The 50 MagnaTagATune tags, in the order of the taggram."""

MSD_TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
    "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House",
    "happy",
)  # fmt: skip
"""The 50 Million Song Dataset (last.fm) tags of MSD_musicnn, in the order of its taggram."""

MODELS: dict[str, tuple[str, ...]] = {"MTT_musicnn": MTT_TAGS, "MSD_musicnn": MSD_TAGS}
"""The shipped MusiCNN models (same architecture, different training data) and their tags. MTT_musicnn is the
design's base; MSD_musicnn can give a head a second frozen embedding
(:attr:`drumsamp_models.tagger.Head.extra_embeddings`)."""

N_MELS = 96
EMBEDDING_DIM = 200
N_PARAMS = 792_079
"""Parameters of MTT_musicnn, batch-norm statistics included (the checkpoint minus its optimiser state)."""
WEIGHTS_FILE = "MTT_musicnn.weights.h5"
"""MTT_musicnn's weights; every model of :data:`MODELS` ships as ``<name>.weights.h5``."""
_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default
UPPER_LAYERS: tuple[str, ...] = (
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
"""MusiCNN's layers above the front end that hold weights (the mid end and back end up to the embedding)."""
BRANCH_PREFIX = "tag_"

TF1_LAYER_NAMES: dict[str, str] = {
    "batch_normalization": "input_bn",
    "conv2d": "timbral_74_conv",
    "batch_normalization_1": "timbral_74_bn",
    "conv2d_1": "timbral_77_conv",
    "batch_normalization_2": "timbral_77_bn",
    "conv2d_2": "temporal_128_conv",
    "batch_normalization_3": "temporal_128_bn",
    "conv2d_3": "temporal_64_conv",
    "batch_normalization_4": "temporal_64_bn",
    "conv2d_4": "temporal_32_conv",
    "batch_normalization_5": "temporal_32_bn",
    "conv2d_5": "midend_1_conv",
    "batch_normalization_6": "midend_1_bn",
    "conv2d_6": "midend_2_conv",
    "batch_normalization_7": "midend_2_bn",
    "conv2d_7": "midend_3_conv",
    "batch_normalization_8": "midend_3_bn",
    "batch_normalization_9": "pool_bn",
    "dense": "penultimate_dense",
    "batch_normalization_10": "embedding",
    "dense_1": "taggram",
}
"""Variable scope of each layer in the original TF1 graph -> name of the Keras layer that replaces it."""


@keras.saving.register_keras_serializable(package="drumsamp_models")
class FrequencyMaxPool(layers.Layer):
    """Max over the frequency axis: (batch, time, freq, channels) -> (batch, time, channels)."""

    def call(self, x: Any) -> Any:
        """Reduce axis 2 with max."""
        return ops.max(x, axis=2)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Drop the frequency axis."""
        return (input_shape[0], input_shape[1], input_shape[3])


@keras.saving.register_keras_serializable(package="drumsamp_models")
class InterleavedTimePool(layers.Layer):
    """Max and mean over time, interleaved per channel: (b, t, c) -> (b, 2c) = (max₀, mean₀, max₁, …).

    This is the original's ``flatten(concat([max, mean], axis=2))`` over (b, c, 1) tensors.
    """

    def call(self, x: Any) -> Any:
        """Pool over axis 1 and interleave."""
        pooled = ops.stack([ops.max(x, axis=1), ops.mean(x, axis=1)], axis=-1)
        return ops.reshape(pooled, (-1, 2 * x.shape[-1]))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Two values per channel."""
        return (input_shape[0], 2 * input_shape[2])


def _bn(name: str) -> layers.BatchNormalization:
    """Batch-norm over the last axis with the original's epsilon."""
    return layers.BatchNormalization(axis=-1, epsilon=_EPS, name=name)


def build_musicnn(n_frames: int | None = 187, name: str = "MTT_musicnn") -> keras.Model:
    """Build MusiCNN (random weights): input (batch, n_frames, 96) log-mel; ``n_frames=None`` = any length.

    Outputs a dict: ``taggram`` (batch, 50) sigmoid and ``embedding`` (batch, 200), the batch-normed
    penultimate feature. Dropout layers are kept (inactive at inference) so the graph mirrors the original.
    """
    x_in = keras.Input(shape=(n_frames, N_MELS), name="mel")
    x = layers.Reshape((-1, N_MELS, 1), name="add_channel")(x_in)
    x = _bn("input_bn")(x)

    # Front end: timbral (7 frames x 38/67 bands, time-padded, valid) and temporal (128/64/32 x 1, same)
    # convolutions, each ReLU -> batch-norm -> max over frequency.
    x_pad = layers.ZeroPadding2D(padding=((3, 3), (0, 0)), name="timbral_pad")(x)
    front = []
    for tag, bands in (("timbral_74", int(0.4 * N_MELS)), ("timbral_77", int(0.7 * N_MELS))):
        h = layers.Conv2D(204, (7, bands), padding="valid", activation="relu", name=f"{tag}_conv")(x_pad)
        front.append(FrequencyMaxPool(name=f"{tag}_pool")(_bn(f"{tag}_bn")(h)))
    for length in (128, 64, 32):
        tag = f"temporal_{length}"
        h = layers.Conv2D(51, (length, 1), padding="same", activation="relu", name=f"{tag}_conv")(x)
        front.append(FrequencyMaxPool(name=f"{tag}_pool")(_bn(f"{tag}_bn")(h)))
    frontend = layers.Concatenate(axis=-1, name="frontend")(front)  # (b, t, 561)
    embedding = upper_layers(frontend, dropout=True)
    h = layers.Dropout(0.5, name="embedding_dropout")(embedding)
    taggram = layers.Dense(len(MTT_TAGS), activation="sigmoid", name="taggram")(h)
    return keras.Model(x_in, {"taggram": taggram, "embedding": embedding}, name=name)


def upper_layers(frontend: Any, prefix: str = "", dropout: bool = False) -> Any:
    """MusiCNN's mid end and back end on a front-end output (b, t, 561): the 200-d embedding (b, 200).

    Three 64-filter convolutions over 7 frames (residual adds on the 2nd and 3rd), the front- and mid-end
    channels' interleaved max and mean over time, batch-norm, Dense 200 ReLU, batch-norm. Layers are named
    ``prefix`` + the names of :data:`UPPER_LAYERS`; ``dropout`` keeps the original's (inactive) dropout layer.
    """
    m1 = _bn(f"{prefix}midend_1_bn")(
        layers.Conv1D(64, 7, padding="same", activation="relu", name=f"{prefix}midend_1_conv")(frontend)
    )
    m2 = _bn(f"{prefix}midend_2_bn")(
        layers.Conv1D(64, 7, padding="same", activation="relu", name=f"{prefix}midend_2_conv")(m1)
    )
    r2 = layers.Add(name=f"{prefix}midend_2_res")([m2, m1])
    m3 = _bn(f"{prefix}midend_3_bn")(
        layers.Conv1D(64, 7, padding="same", activation="relu", name=f"{prefix}midend_3_conv")(r2)
    )
    r3 = layers.Add(name=f"{prefix}midend_3_res")([m3, r2])
    midend = layers.Concatenate(axis=-1, name=f"{prefix}midend")([frontend, m1, r2, r3])  # (b, t, 753)
    pooled = _bn(f"{prefix}pool_bn")(InterleavedTimePool(name=f"{prefix}time_pool")(midend))
    if dropout:
        pooled = layers.Dropout(0.5, name=f"{prefix}pool_dropout")(pooled)
    h = layers.Dense(EMBEDDING_DIM, activation="relu", name=f"{prefix}penultimate_dense")(pooled)
    return _bn(f"{prefix}embedding")(h)


def branch_weights(model: keras.Model, prefix: str = "") -> dict[str, list[Any]]:
    """The weights of a model's :data:`UPPER_LAYERS` (named ``prefix`` + name), as NumPy arrays per layer."""
    return {name: list(model.get_layer(prefix + name).get_weights()) for name in UPPER_LAYERS}


def load_musicnn_with_branch(branch: dict[str, Any], n_frames: int | None = None) -> keras.Model:
    """Frozen MTT_musicnn plus a second mid and back end (a *tag branch*, weights ``branch`` as returned by
    :func:`branch_weights`) on the same front end: outputs ``embedding`` (the original 200-d embedding) and
    ``tag_embedding`` (the branch's), the front end computed once."""
    base = load_musicnn(n_frames)
    tag = upper_layers(base.get_layer("frontend").output, prefix=BRANCH_PREFIX)
    model = keras.Model(base.input, {"embedding": base.get_layer("embedding").output, "tag_embedding": tag})
    for name in UPPER_LAYERS:
        model.get_layer(BRANCH_PREFIX + name).set_weights(list(branch[name]))
    model.trainable = False
    return model


def weights_path(model: str = "MTT_musicnn") -> Any:
    """A model's shipped weights file inside the installed package (an importlib.resources Traversable)."""
    if model not in MODELS:
        raise ValueError(f"unknown MusiCNN model {model!r}; the package ships {', '.join(MODELS)}")
    return resources.files("drumsamp_models").joinpath("weights", f"{model}.weights.h5")


def load_musicnn(n_frames: int | None = 187, model: str = "MTT_musicnn") -> keras.Model:
    """A MusiCNN model of :data:`MODELS` (MTT_musicnn by default) with the shipped original weights, frozen (all
    layers non-trainable, inference mode)."""
    weights = weights_path(model)
    network = build_musicnn(n_frames, model)
    with resources.as_file(weights) as path:
        network.load_weights(str(path))
    network.trainable = False
    for layer in network.layers:
        layer.trainable = False
    return network

"""The Drumsample Tagger: MusiCNN (MTT) → 200-d embedding → Dropout → Dense(200) → Dense(5).

A head may carry a *tag branch* (:attr:`Head.branch`: MusiCNN's mid and back end fine-tuned for the five classes, on
the frozen front end's output; ``tools/train_tagger.py --finetune-epochs``) and then reads the branch's embedding;
the frozen network's own embedding is still computed in the same pass and is the one returned (the gate, the
similarity spaces and the custom tagger use it). The shipped head has none (docs/evaluation.md says why).

Classes are Kick, Snare, Cymbal, Tom and Drumloop; a sound whose highest class likelihood stays below
``unknown_threshold`` is tagged ``Unknown``, and so is one that the :mod:`~drumsamp_models.nondrum` gate
takes for a non-drum (the :class:`Tagger`'s default; the design's ``predict_tags_on_computed_mels`` applies
the threshold alone). Sounds longer than one 3 s patch are cut into successive
patches and the class likelihoods are averaged over the patches.

Beside the tag, a head trained since issue 21 carries a sub-class output (:mod:`~drumsamp_models.subclasses`:
kick; snare, rimshot, clap; closed_hat, open_hat, ride, crash; tom; loop; percussion; other): every result
also holds a ``subclass`` that always belongs to its tag's design class (``Unknown`` → ``percussion`` or
``other``) and the 12 ``subclass_likelihoods``.

The head's weights ship inside the package (``weights/tagger_head.npz``) and run in NumPy; only the
MusiCNN base needs TensorFlow, and it is loaded on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from typing import Any, ClassVar

import numpy as np

from . import audio, features
from .batches import CLASSIFICATION, Batch, load_batch
from .errors import AudioError, FeatureFileError
from .nondrum import NonDrumGate, gate_features
from .subclasses import SUBCLASS_CLASS, SUBCLASSES, subclasses_of

__all__ = [
    "CLASSES",
    "DEFAULT_UNKNOWN_THRESHOLD",
    "SUBCLASSES",
    "SUBCLASS_CLASS",
    "UNKNOWN",
    "Head",
    "MusicnnEmbedder",
    "TagResult",
    "Tagger",
    "TaggingReport",
    "append_descriptors",
    "branch_fingerprint",
    "calibrated_threshold",
    "predict_tags_on_computed_mels",
    "subclass_for",
]

CLASSES: tuple[str, ...] = ("Kick", "Snare", "Cymbal", "Tom", "Drumloop")
UNKNOWN = "Unknown"
DEFAULT_UNKNOWN_THRESHOLD = 0.6
"""The design's threshold, used when a head carries no calibrated one."""
HEAD_FILE = "tagger_head.npz"
DEFAULT_BATCH_SIZE = 1
"""Patches per forward pass of MusiCNN. One patch a call keeps a tagging process near 0.9 GB: from two patches
on, TensorFlow's oneDNN convolutions keep reordered copies per input shape (+0.3 GB at once on AVX-512 CPUs,
0.5 GB after a few hundred sounds of varied lengths), for 5-8 % more one-shots per second (docs/benchmarks.md)."""
PENDING_PATCHES = 32
"""Patches of several files gathered before MusiCNN runs (with ``batch_size`` above 1, trimmed patches are run in
groups of one length, so gathering more of them makes each call fuller); they are small mels."""
EMBEDDING_DIM = 200
TRIM_STEP = 16
"""With silence trimming, patch lengths are rounded up to a multiple of this many frames (~0.26 s)."""
TRIM_MIN_FRAMES = 32


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def append_descriptors(
    embeddings: np.ndarray, described: np.ndarray, center: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """One sound's patch embeddings (n, 200) with its (36,) descriptors, scaled as ``(d - center) / scale``,
    appended to every patch: the input of a head that takes descriptors (see :meth:`Head.inputs`)."""
    x = np.asarray(embeddings, dtype=np.float32)
    d = (np.asarray(described, dtype=np.float32).reshape(-1) - center) / scale
    return np.concatenate([x, np.broadcast_to(d, (len(x), len(d)))], axis=1)


def _branch_arrays(branch: Mapping[str, Sequence[np.ndarray]]) -> list[np.ndarray]:
    """A tag branch's arrays in a fixed order."""
    return [a for name in sorted(branch) for a in branch[name]]


def branch_fingerprint(branch: Mapping[str, Sequence[np.ndarray]]) -> str:
    """SHA-1 of a tag branch's weights (see :attr:`Head.branch`): what identifies its embeddings."""
    digest = hashlib.sha1()
    for array in _branch_arrays(branch):
        digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Head:
    """The trained classification head, as plain arrays: Dense(200, ReLU) then Dense(n classes, softmax).

    Its input is each patch's 200-d embedding (followed by those of :attr:`extra_embeddings`' models, if any); a
    head with ``desc_center``/``desc_scale`` (tagger 0.8 on) also takes the sound's 36
    :mod:`~drumsamp_models.descriptors`, scaled as ``(d - desc_center) / desc_scale`` and appended to every patch's
    embedding. (The Dropout layer before the first Dense layer
    only acts during training.)
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    classes: tuple[str, ...] = CLASSES
    meta: dict[str, Any] = field(default_factory=dict)
    sub: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    """The sub-class output: Dense(hidden, ReLU) → Dense(len(subclasses), softmax) weights, or None."""
    subclasses: tuple[str, ...] = SUBCLASSES
    desc_center: np.ndarray | None = None
    desc_scale: np.ndarray | None = None
    branch: dict[str, tuple[np.ndarray, ...]] | None = None
    """A *tag branch*: fine-tuned weights of MusiCNN's mid and back end (:data:`~drumsamp_models.musicnn.UPPER_LAYERS`,
    layer name → arrays). The head then reads the branch's 200-d output instead of the frozen embedding (which the
    gate, the similarity spaces and the custom tagger keep using); the front end still runs once."""

    @property
    def extra_embeddings(self) -> tuple[str, ...]:
        """Further frozen MusiCNN models (:data:`~drumsamp_models.musicnn.MODELS`, e.g. MSD_musicnn) whose 200-d
        embeddings follow the main one (MTT_musicnn's, or the branch's) in the head's input (metadata
        ``extra_embeddings``; none by default)."""
        return tuple(self.meta.get("extra_embeddings", ()))

    @property
    def uses_descriptors(self) -> bool:
        """Whether the head also takes each sound's descriptors (see :meth:`inputs`)."""
        return self.desc_center is not None

    def inputs(self, embeddings: np.ndarray, described: np.ndarray | None = None) -> np.ndarray:
        """The first layer's input: the (n, 200) patch embeddings, with the sound's scaled (36,) descriptors
        appended to each patch when the head takes them (then ``described`` is required)."""
        if self.desc_center is None or self.desc_scale is None:
            return np.asarray(embeddings, dtype=np.float32)
        if described is None:
            raise ValueError("this tagger head also takes the sound's descriptors (drumsamp_models.descriptors)")
        return append_descriptors(embeddings, described, self.desc_center, self.desc_scale)

    def likelihoods(self, embeddings: np.ndarray, described: np.ndarray | None = None) -> np.ndarray:
        """Class likelihoods (n, classes) for one sound's patch embeddings (n, 200) (and its descriptors,
        for a head that takes them)."""
        h = np.maximum(self.inputs(embeddings, described) @ self.w1 + self.b1, 0.0)
        return _softmax(h @ self.w2 + self.b2)

    def subclass_likelihoods(self, embeddings: np.ndarray, described: np.ndarray | None = None) -> np.ndarray | None:
        """Sub-class likelihoods (n, subclasses) for embeddings (n, 200); None for a head without that output."""
        if self.sub is None:
            return None
        w1, b1, w2, b2 = self.sub
        h = np.maximum(self.inputs(embeddings, described) @ w1 + b1, 0.0)
        return _softmax(h @ w2 + b2)

    def with_subclass_output(self, sub: Head) -> Head:
        """This head with ``sub``'s two dense layers (trained on :data:`SUBCLASSES`) as its sub-class output."""
        return replace(self, sub=(sub.w1, sub.b1, sub.w2, sub.b2), subclasses=sub.classes)

    def with_descriptor_input(self, center: np.ndarray, scale: np.ndarray) -> Head:
        """This head (trained on embeddings with scaled descriptors appended) reading raw descriptors."""
        return replace(self, desc_center=np.asarray(center, np.float32), desc_scale=np.asarray(scale, np.float32))

    @cached_property
    def fingerprint(self) -> str:
        """SHA-1 of the weights, classes and metadata (front-end settings included): changes with the model."""
        digest = hashlib.sha1()
        scaling = (self.desc_center, self.desc_scale) if self.desc_center is not None else ()
        for array in (self.w1, self.b1, self.w2, self.b2, *(self.sub or ()), *scaling, *self._branch_arrays()):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        extra = [list(self.subclasses)] if self.sub is not None else []
        digest.update(json.dumps([list(self.classes), self.meta, *extra], sort_keys=True).encode())
        return digest.hexdigest()

    def _branch_arrays(self) -> list[np.ndarray]:
        return _branch_arrays(self.branch or {})

    @cached_property
    def branch_fingerprint(self) -> str | None:
        """SHA-1 of the tag branch's weights (None without a branch): what identifies its embeddings."""
        return branch_fingerprint(self.branch) if self.branch is not None else None

    def with_branch(self, branch: Mapping[str, Sequence[np.ndarray]]) -> Head:
        """This head (trained on a tag branch's embeddings) with the branch's weights."""
        return replace(self, branch={k: tuple(np.asarray(a, np.float32) for a in v) for k, v in branch.items()})

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the head to an ``.npz`` (arrays plus JSON metadata; the sub-class output when there is one)."""
        extra: dict[str, np.ndarray] = {}
        if self.sub is not None:
            extra = dict(zip(("sw1", "sb1", "sw2", "sb2"), self.sub, strict=True))
            extra["subclasses"] = np.array(self.subclasses)
        if self.desc_center is not None and self.desc_scale is not None:
            extra |= {"desc_center": self.desc_center, "desc_scale": self.desc_scale}
        for name, arrays in (self.branch or {}).items():
            extra |= {f"branch/{name}/{i}": a for i, a in enumerate(arrays)}
        np.savez(
            path,
            w1=self.w1,
            b1=self.b1,
            w2=self.w2,
            b2=self.b2,
            classes=np.array(self.classes),
            meta=np.array(json.dumps(self.meta, sort_keys=True)),
            **extra,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Head:
        """Read a head written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as npz:
            sub = None
            branch: dict[str, list[np.ndarray]] = {}
            stored = [k for k in npz.files if k.startswith("branch/")]
            for key in sorted(stored, key=lambda k: int(k.rsplit("/", 1)[1])):
                branch.setdefault(key.split("/")[1], []).append(npz[key].astype(np.float32))
            if "sw1" in npz.files:
                sub = tuple(npz[k].astype(np.float32) for k in ("sw1", "sb1", "sw2", "sb2"))
            return cls(
                w1=npz["w1"].astype(np.float32),
                b1=npz["b1"].astype(np.float32),
                w2=npz["w2"].astype(np.float32),
                b2=npz["b2"].astype(np.float32),
                classes=tuple(str(c) for c in npz["classes"]),
                meta=json.loads(str(npz["meta"])),
                sub=sub,  # type: ignore[arg-type]
                subclasses=tuple(str(c) for c in npz["subclasses"]) if sub is not None else SUBCLASSES,
                desc_center=npz["desc_center"].astype(np.float32) if "desc_center" in npz.files else None,
                desc_scale=npz["desc_scale"].astype(np.float32) if "desc_scale" in npz.files else None,
                branch={k: tuple(v) for k, v in branch.items()} or None,
            )

    @classmethod
    def shipped(cls) -> Head:
        """The head trained by the project and shipped in the wheel."""
        ref = resources.files("drumsamp_models").joinpath("weights", HEAD_FILE)
        if not ref.is_file():
            raise FileNotFoundError(
                f"no trained tagger head in the package ({ref}); train one with tools/train_tagger.py"
            )
        with resources.as_file(ref) as path:
            return cls.load(path)


def calibrated_threshold(head: Head, gate: NonDrumGate | None = None) -> float:
    """The Unknown threshold calibrated together with ``gate`` when the gate was made for ``head``, else the
    head's own (else the design's 0.6)."""
    if gate is not None and gate.head_threshold is not None and gate.meta.get("head") == head.fingerprint:
        return gate.head_threshold
    return float(head.meta.get("unknown_threshold", DEFAULT_UNKNOWN_THRESHOLD))


def subclass_for(tag: str, likelihoods: np.ndarray, subclasses: Sequence[str] = SUBCLASSES) -> str:
    """The most likely sub-class among those of ``tag``'s design class (``Unknown``: ``percussion`` or
    ``other``), so that the sub-class never contradicts the tag."""
    allowed = set(subclasses_of(tag))
    ranked = [subclasses[i] for i in np.argsort(-np.asarray(likelihoods), kind="stable")]
    return next((s for s in ranked if s in allowed), "other")


def silence_trimmed_length(patch: np.ndarray, step: int = TRIM_STEP, minimum: int = TRIM_MIN_FRAMES) -> int:
    """Frames of a patch worth computing: up to its last non-silent frame, rounded up to ``step``.

    Zero-padding (and digital silence) is exactly 0 in MusiCNN's log-mel, so a padded one-shot's
    trailing zero frames are found exactly.
    """
    active = np.flatnonzero(np.any(patch != 0.0, axis=1))
    last = int(active[-1]) + 1 if active.size else 0
    return int(min(len(patch), max(minimum, -(-last // step) * step)))


class MusicnnEmbedder:
    """The frozen MusiCNN base as a feature extractor: patches (n, frames, 96) → embeddings (n, 200).

    With ``trim_silence`` the trailing silence of a patch (a short one-shot's zero-padding) is left
    out of the computation: the network pools over time, so it accepts any length, and a 0.5 s kick
    then costs a third of a 3 s patch. The head must have been trained the same way (its metadata
    says so). ``model`` picks the network (:data:`~drumsamp_models.musicnn.MODELS`; MTT_musicnn, the design's
    base, by default). With a ``branch`` (a head's fine-tuned tag branch, see :attr:`Head.branch`) and/or
    ``extra`` models (a head's second frozen embeddings, see :attr:`Head.extra_embeddings`), :meth:`embed` also returns
    the head's input. The networks are built once per process and configuration (thread-safe), compiled with
    ``tf.function`` for any length, and called in small batches.
    """

    _lock = threading.Lock()
    _fns: ClassVar[dict[tuple[str, str | None, tuple[str, ...]], Any]] = {}

    def __init__(
        self,
        batch_size: int = DEFAULT_BATCH_SIZE,
        trim_silence: bool = False,
        branch: Mapping[str, Sequence[np.ndarray]] | None = None,
        model: str = "MTT_musicnn",
        extra: Sequence[str] = (),
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if branch is not None and model != "MTT_musicnn":
            raise ValueError("a tag branch is fine-tuned from MTT_musicnn: it cannot run on another model")
        self.batch_size = batch_size
        self.trim_silence = trim_silence
        self.branch = branch
        self.model = model
        self.extra = tuple(extra)
        self._key = (model, branch_fingerprint(branch) if branch is not None else None, self.extra)

    @property
    def width(self) -> int:
        """Columns of the networks' joint output: the embedding, the branch's, then each extra model's."""
        return EMBEDDING_DIM * (1 + (self.branch is not None) + len(self.extra))

    def _network(self) -> Any:
        """A compiled function (batch, frames, 96) → (batch, :attr:`width`): the embeddings, then the branch's,
        then each extra model's; shared by every embedder of the same configuration."""
        with self._lock:
            if self._key not in self._fns:
                from ._stderr import silenced_stderr

                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
                with silenced_stderr():  # TensorFlow's C++ start-up chatter
                    import tensorflow as tf

                    from .musicnn import load_musicnn, load_musicnn_with_branch

                main = load_musicnn(None, self.model) if self.branch is None else load_musicnn_with_branch(self.branch)
                extras = [load_musicnn(None, name) for name in self.extra]
                outputs = ["embedding"] + (["tag_embedding"] if self.branch is not None else [])

                @tf.function(input_signature=[tf.TensorSpec((None, None, features.MUSICNN_N_MELS), tf.float32)])
                def embed(x: Any) -> Any:
                    out = main(x, training=False)
                    parts = [out[name] for name in outputs] + [m(x, training=False)["embedding"] for m in extras]
                    return tf.concat(parts, axis=1) if len(parts) > 1 else parts[0]

                self._fns[self._key] = embed
            return self._fns[self._key]

    def _run(self, patches: np.ndarray) -> np.ndarray:
        patches = np.asarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[2] != features.MUSICNN_N_MELS or patches.shape[1] < 1:
            raise ValueError(f"expected patches of shape (n, frames, 96), got {patches.shape}")
        out = np.zeros((len(patches), self.width), dtype=np.float32)
        if not len(patches):
            return out
        lengths = (
            np.array([silence_trimmed_length(p) for p in patches])
            if self.trim_silence
            else np.full(len(patches), patches.shape[1])
        )
        fn = self._network()
        for length in np.unique(lengths):
            index = np.flatnonzero(lengths == length)
            for i in range(0, len(index), self.batch_size):
                chunk = index[i : i + self.batch_size]
                out[chunk] = np.asarray(fn(patches[chunk, :length]))
        return out

    def __call__(self, patches: np.ndarray) -> np.ndarray:
        """200-d embedding of every patch (the frozen network's, with or without a branch)."""
        return self._run(patches)[:, :EMBEDDING_DIM]

    def embed(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every patch's frozen embedding (n, 200) and the head's input embedding: the branch's (or, without a
        branch, the frozen one again) followed by the extra models' embeddings."""
        out = self._run(patches)
        return out[:, :EMBEDDING_DIM], out[:, EMBEDDING_DIM:] if self.branch is not None else out


@dataclass(frozen=True)
class TagResult:
    """The tag of one sound, its class likelihoods (averaged over patches), its 200-d embedding, from a
    :class:`Tagger` made with ``describe=True`` its :mod:`~drumsamp_models.descriptors` (else None), and the
    non-drum gate's probability that it is not a drum (None when no gate looked at it)."""

    path: str
    tag: str
    likelihoods: dict[str, float]
    embedding: np.ndarray
    n_patches: int
    descriptors: np.ndarray | None = None
    non_drum: float | None = None
    subclass: str | None = None
    subclass_likelihoods: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form: ``{"tag": ..., "likelihoods": {class: float}, "n_patches": n}``, plus
        ``"non_drum": float`` when the gate looked at the sound, and ``"subclass": str`` and
        ``"subclass_likelihoods": {subclass: float}`` when the head has a sub-class output."""
        out: dict[str, Any] = {"tag": self.tag, "likelihoods": dict(self.likelihoods), "n_patches": self.n_patches}
        if self.non_drum is not None:
            out["non_drum"] = self.non_drum
        if self.subclass is not None:
            out["subclass"] = self.subclass
            out["subclass_likelihoods"] = dict(self.subclass_likelihoods or {})
        return out


@dataclass
class TaggingReport:
    """Outcome of tagging many files: ``results`` per audio path, ``failed`` audio path → reason."""

    results: dict[str, TagResult] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class Tagger:
    """Tag drum sounds: ``Tagger().predict(paths)``.

    Parameters: ``unknown_threshold`` (below this maximum likelihood the tag is ``Unknown``; by default the
    threshold calibrated with the head, see ``docs/evaluation.md``, else the design's 0.6), ``batch_size`` (patches
    per MusiCNN call: 1 keeps memory lowest, 8 is 5-8 % faster for 0.5 GB more), ``head`` (defaults to the shipped
    head), ``max_duration`` (longest accepted file, seconds), ``describe`` (also measure each decoded file's
    envelope and spectral-shape :mod:`~drumsamp_models.descriptors`, which the default similarity space
    ``"musicnn+descriptors"`` needs, without decoding it twice), ``gate`` (the
    :class:`~drumsamp_models.nondrum.NonDrumGate` that also sends sounds it takes for non-drums to ``Unknown``:
    ``True``, the default, is the shipped one, ``False`` none). With the shipped head and gate and no explicit
    ``unknown_threshold``, the threshold is the one calibrated together with the gate. The front end follows the
    head's metadata (:class:`~drumsamp_models.features.FrontEnd`: peak normalisation, wide-band analysis; and
    ``trim_silence``).
    """

    def __init__(
        self,
        unknown_threshold: float | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        head: Head | None = None,
        max_duration: float | None = audio.DEFAULT_MAX_DURATION,
        describe: bool = False,
        gate: NonDrumGate | bool = True,
    ) -> None:
        self.describe = describe
        self.head = head if head is not None else Head.shipped()
        self.gate = NonDrumGate.shipped() if gate is True else (gate or None)
        if unknown_threshold is None:
            unknown_threshold = calibrated_threshold(self.head, self.gate)
        if not 0.0 <= unknown_threshold <= 1.0:
            raise ValueError("unknown_threshold must lie in [0, 1]")
        self.unknown_threshold = unknown_threshold
        self.batch_size = batch_size
        self.max_duration = max_duration
        trim = bool(self.head.meta.get("trim_silence", False))
        self.embedder = MusicnnEmbedder(
            batch_size, trim_silence=trim, branch=self.head.branch, extra=self.head.extra_embeddings
        )
        self.front_end = features.FrontEnd.from_meta(self.head.meta)

    def load_patches(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Decode a file and compute the mel patches this tagger's head expects."""
        y = audio.load(path, self.front_end.sample_rate, max_duration=self.max_duration)
        return self.front_end.patches(y)

    @property
    def classes(self) -> tuple[str, ...]:
        """The head's classes, in the order of the likelihoods."""
        return self.head.classes

    def tag_of(
        self, likelihoods: np.ndarray, unknown_threshold: float | None = None, non_drum: float | None = None
    ) -> str:
        """The arg-max class, or ``Unknown`` when no likelihood reaches the threshold (default: the tagger's)
        or when the gate's ``non_drum`` probability passes the gate's threshold."""
        threshold = self.unknown_threshold if unknown_threshold is None else unknown_threshold
        best = int(np.argmax(likelihoods))
        if likelihoods[best] < threshold:
            return UNKNOWN
        if non_drum is not None and self.gate is not None and non_drum > self.gate.threshold:
            return UNKNOWN
        return self.classes[best]

    def _result(
        self, path: str, patch_embeddings: np.ndarray, head_inputs: np.ndarray, described: np.ndarray | None = None
    ) -> TagResult:
        """One sound's result from its patches' frozen embeddings and the head's input embeddings (the same
        arrays, or with a tag branch the branch's)."""
        mean = self.head.likelihoods(head_inputs, described).mean(axis=0)
        embedding = patch_embeddings.mean(axis=0)
        non_drum = None
        if self.gate is not None and described is not None:
            non_drum = float(self.gate.probability(gate_features(embedding, described)))
        tag = self.tag_of(mean, non_drum=non_drum)
        sub = self.head.subclass_likelihoods(head_inputs, described)
        sub_mean = sub.mean(axis=0) if sub is not None else None
        return TagResult(
            path=path,
            tag=tag,
            likelihoods={c: float(v) for c, v in zip(self.classes, mean, strict=True)},
            embedding=embedding,
            n_patches=len(patch_embeddings),
            descriptors=described if self.describe else None,
            non_drum=non_drum,
            subclass=subclass_for(tag, sub_mean, self.head.subclasses) if sub_mean is not None else None,
            subclass_likelihoods=(
                {c: float(v) for c, v in zip(self.head.subclasses, sub_mean, strict=True)}
                if sub_mean is not None
                else None
            ),
        )

    def _decode(self, path: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Mel patches of a file, and its descriptors when the tagger describes or gates."""
        y = audio.load(path, self.front_end.sample_rate, max_duration=self.max_duration)
        if self.describe or self.gate is not None or self.head.uses_descriptors:
            return self.front_end.patches_and_descriptors(y)
        return self.front_end.patches(y), None

    def _batched(self, items: Iterable[tuple[str, np.ndarray, np.ndarray | None]]) -> Iterator[TagResult]:
        """Run patches of several files through MusiCNN together, ``batch_size`` patches at a time."""
        pending: list[tuple[str, np.ndarray, np.ndarray | None]] = []
        count = 0

        def flush() -> Iterator[TagResult]:
            emb, inputs = self.embedder.embed(np.concatenate([p for _, p, _ in pending]))
            start = 0
            for key, patches, described in pending:
                end = start + len(patches)
                yield self._result(key, emb[start:end], inputs[start:end], described)
                start += len(patches)
            pending.clear()

        for key, patches, described in items:
            pending.append((key, patches, described))
            count += len(patches)
            if count >= max(self.batch_size, PENDING_PATCHES):
                yield from flush()
                count = 0
        if pending:
            yield from flush()

    def predict_features(
        self,
        patches: Iterable[np.ndarray],
        names: Sequence[str] | None = None,
        described: Sequence[np.ndarray] | None = None,
    ) -> list[TagResult]:
        """Tag pre-computed mel patches, one (n, 187, 96) array per sound, with each sound's descriptors
        (``described``, one (36,) array per sound): the shipped head takes them (without them a head that
        does raises ValueError, and the gate is skipped)."""
        arrays = list(patches)
        if described is None and self.head.uses_descriptors:
            raise ValueError("this tagger's head takes each sound's descriptors: pass described=")
        keys = list(names) if names is not None else [str(i) for i in range(len(arrays))]
        extra = list(described) if described is not None else [None] * len(arrays)
        if len(keys) != len(arrays) or len(extra) != len(arrays):
            raise ValueError("names, patches and descriptors differ in length")
        return list(self._batched(zip(keys, arrays, extra, strict=True)))

    def predict(
        self,
        paths: Iterable[str | os.PathLike[str]],
        progress: Callable[[int, int | None, str], None] | None = None,
    ) -> TaggingReport:
        """Decode, analyse and tag audio files; files that cannot be decoded are reported and skipped."""
        report = TaggingReport()
        total = len(paths) if hasattr(paths, "__len__") else None  # type: ignore[arg-type]
        done = 0

        def decoded() -> Iterator[tuple[str, np.ndarray, np.ndarray | None]]:
            nonlocal done
            for raw in paths:
                path = os.fspath(raw)
                try:
                    patches, described = self._decode(path)
                except AudioError as exc:
                    report.failed[path] = exc.reason
                    done += 1
                    if progress is not None:
                        progress(done, total, path)
                    continue
                yield path, patches, described

        for result in self._batched(decoded()):
            report.results[result.path] = result
            done += 1
            if progress is not None:
                progress(done, total, result.path)
        return report

    def predict_file(self, path: str | os.PathLike[str]) -> TagResult:
        """Tag one file; raises the :class:`~drumsamp_models.errors.AudioError` of a bad file."""
        patches, described = self._decode(os.fspath(path))
        return self._result(os.fspath(path), *self.embedder.embed(patches), described)


_shared: dict[int, Tagger] = {}


def _matching_front_end(batch: Batch, tagger: Tagger) -> Batch:
    """``batch`` if its patches were computed the way the tagger's head expects, else a FeatureFileError."""
    if batch.front_end != tagger.front_end:
        raise FeatureFileError(
            batch.path,
            f"mel patches computed with front end {batch.front_end.as_meta()}, the tagger's head expects "
            f"{tagger.front_end.as_meta()}; write them again with utils.save_classification_batches_to_disk",
        )
    return batch


def _with_descriptors(batch: Batch, tagger: Tagger) -> Batch:
    """``batch`` if it holds the descriptors the tagger's head takes, else a FeatureFileError."""
    if tagger.head.uses_descriptors and batch.descriptors is None:
        raise FeatureFileError(
            batch.path,
            "no descriptors in this classification file (written before drumsamp_models 0.4), which the tagger's "
            "head takes; write it again with utils.save_classification_batches_to_disk",
        )
    return batch


def predict_tags_on_computed_mels(
    npz_files: Iterable[str | os.PathLike[str]],
    unknown_threshold: float | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, dict[str, Any]]:
    """The design's call: tag the sounds whose mel patches ``utils.save_classification_batches_to_disk`` wrote.

    Returns ``{audio path as given to the batch writer: {"tag": str, "likelihoods": {class: float},
    "n_patches": int, "subclass": str, "subclass_likelihoods": {subclass: float}}}`` in the order of
    ``npz_files`` (the sub-class keys with a head that has a sub-class output, as the shipped one does; the
    sub-class always belongs to the entry's tag, see :func:`subclass_for`). ``unknown_threshold`` defaults to
    the threshold calibrated with the shipped head alone (the design's 0.6 when the head has none; the non-drum
    gate is not applied: the design's rule is the threshold alone). A file that is not a classification feature
    file raises :class:`~drumsamp_models.errors.FeatureFileError` naming it.
    """
    tagger = _shared.get(batch_size)
    if tagger is None:
        tagger = _shared[batch_size] = Tagger(batch_size=batch_size, gate=False)
    batches = (_with_descriptors(_matching_front_end(load_batch(f, CLASSIFICATION), tagger), tagger) for f in npz_files)
    out: dict[str, dict[str, Any]] = {}
    for result in tagger._batched((b.source_path, b.data, b.descriptors) for b in batches):
        entry = result.as_dict()
        entry["tag"] = tagger.tag_of(np.array([result.likelihoods[c] for c in tagger.classes]), unknown_threshold)
        if result.subclass_likelihoods is not None:
            sub = np.array([result.subclass_likelihoods[c] for c in tagger.head.subclasses])
            entry["subclass"] = subclass_for(entry["tag"], sub, tagger.head.subclasses)
        out[result.path] = entry
    return out

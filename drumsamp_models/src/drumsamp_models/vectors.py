"""Fixed-size sound vectors for the similarity index, and finding a sound's feature file by name.

Four feature spaces:

``"mfcc"`` — the design's CMVN-MFCC. The design compares two (frames, 20) sequences by zero-padding
    the shorter to the longer and taking the cosine distance of the flattened arrays. Zero-padding adds
    nothing to the dot product (only the overlapping frames count) and leaves each norm unchanged, so
    :func:`mfcc_vector` — the sequence divided by its own full norm, then zero-padded or truncated to
    ``frames`` frames and flattened — gives exactly the design's distance as ``1 - <u, v>`` whenever at
    least one of the two sounds is at most ``frames`` frames long (the overlap then lies inside the
    kept frames). Only pairs of two longer sounds lose the frames past ``frames``.
``"musicnn"`` — MusiCNN's 200-d penultimate embedding (:mod:`.musicnn`), averaged over the sound's
    3-second patches; compared by cosine distance.
``"musicnn+mfcc"`` — both, concatenated with weights (:func:`combined_vector`): the L2-normalised MusiCNN
    vector times ``sqrt(1 - w)`` beside the ``"mfcc"`` vector times ``sqrt(w)``, so that the cosine
    similarity is ``(1 - w)·cos_musicnn + w·cos_mfcc`` (exactly, for sounds up to ``MFCC_FRAMES`` frames).
    MusiCNN knows the instrument; the CMVN-MFCC sequence keeps the temporal envelope that tells open
    from closed hats and rimshots from snares. ``COMBINED_MFCC_WEIGHT`` was chosen on the train kits.
``"musicnn+descriptors"`` — the default: the L2-normalised MusiCNN vector times ``sqrt(1 - w)`` beside the
    standardised, L2-normalised envelope and spectral-shape descriptors (:mod:`.descriptors`, 36-d) times
    ``sqrt(w)``: cosine similarity ``(1 - w)·cos_musicnn + w·cos_descriptors``, 236 floats per sound.
    ``DESCRIPTOR_WEIGHT`` was chosen on the train kits; on the val and test kits this space beats the
    others on both quality measures of ``bench/similarity_quality.py`` (docs/evaluation.md).
"""

from __future__ import annotations

import glob
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import descriptors, features
from .batches import CLASSIFICATION, RECOMMENDATION, Batch, feature_file_name, load_batch
from .errors import FeatureFileError
from .index import LibraryIndex, UnknownSoundError, _normalise

__all__ = [
    "COMBINED",
    "COMBINED_MFCC_WEIGHT",
    "DEFAULT_SPACE",
    "DESCRIBED",
    "DESCRIPTOR_WEIGHT",
    "MFCC",
    "MFCC_FRAMES",
    "MUSICNN",
    "SPACES",
    "MusicnnEmbedder",
    "combined_vector",
    "combined_vectors",
    "described_vector",
    "described_vectors",
    "design_distance",
    "feature_files",
    "load_cached",
    "make_index",
    "mfcc_vector",
    "mfcc_vectors",
    "musicnn_vector",
    "resolve_feature_file",
    "vectors_from_audio",
    "vectors_from_batches",
]

MFCC = "mfcc"
MUSICNN = "musicnn"
COMBINED = "musicnn+mfcc"
DESCRIBED = "musicnn+descriptors"
SPACES = (MUSICNN, MFCC, COMBINED, DESCRIBED)
DEFAULT_SPACE = DESCRIBED
"""The best space on both quality measures on kits the choice never saw (docs/evaluation.md)."""
DESCRIPTOR_WEIGHT = 0.4
"""Share ``w`` of the descriptors' cosine in the ``"musicnn+descriptors"`` space: the best mean of precision@10
and calibrated custom-tag F1 on the train kits (``bench/similarity_quality.py``; w = 0.1 … 0.6 tried)."""
COMBINED_MFCC_WEIGHT = 0.1
"""Share ``w`` of the CMVN-MFCC cosine in the combined space: the best mean of precision@10 and calibrated
custom-tag F1 on the train kits of the drum dataset (``bench/similarity_quality.py``; w = 0.1 … 0.5 tried)."""
MFCC_FRAMES = 128
"""Frames kept per sound in the CMVN-MFCC space: 128 hops of 512 at 22 050 Hz ≈ 2.97 s."""


# ---------------------------------------------------------------------- the design's distance
def design_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The design's distance of two CMVN-MFCC sequences: zero-pad the shorter, cosine distance of the flat arrays.

    An all-zero sequence (silence after CMVN) has no direction: its distance to anything is 1.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two (frames, n) sequences with the same n, got {a.shape} and {b.shape}")
    frames = max(len(a), len(b))
    pa = np.zeros((frames, a.shape[1]))
    pb = np.zeros((frames, b.shape[1]))
    pa[: len(a)] = a
    pb[: len(b)] = b
    na, nb = np.linalg.norm(pa), np.linalg.norm(pb)
    if na == 0 or nb == 0:
        return 1.0
    return float(1.0 - np.dot(pa.ravel(), pb.ravel()) / (na * nb))


def mfcc_vector(seq: np.ndarray, frames: int = MFCC_FRAMES) -> np.ndarray:
    """A (frames·n,) float32 vector: ``seq`` / its full norm, zero-padded or truncated to ``frames`` frames.

    ``1 - <mfcc_vector(a), mfcc_vector(b)>`` equals :func:`design_distance` ``(a, b)`` whenever one of
    the two is at most ``frames`` frames long.
    """
    x = np.asarray(seq, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a (frames, coefficients) sequence, got shape {x.shape}")
    out = np.zeros((frames, x.shape[1]), dtype=np.float32)
    norm = float(np.linalg.norm(x.astype(np.float64)))
    if norm > 0:
        keep = min(frames, len(x))
        out[:keep] = x[:keep] / norm
    return out.ravel()


def mfcc_vectors(seqs: Iterable[np.ndarray], frames: int = MFCC_FRAMES) -> np.ndarray:
    """Stack :func:`mfcc_vector` of each sequence: (n_sounds, frames·20)."""
    rows = [mfcc_vector(s, frames) for s in seqs]
    return np.stack(rows) if rows else np.zeros((0, frames * features.N_MFCC), dtype=np.float32)


def musicnn_vector(embeddings: np.ndarray) -> np.ndarray:
    """One sound's vector from its per-patch MusiCNN embeddings (n_patches, 200): the mean, L2-normalised."""
    e = np.asarray(embeddings, dtype=np.float32)
    if e.ndim != 2 or len(e) == 0:
        raise ValueError(f"expected (n_patches, dim) embeddings, got shape {e.shape}")
    v = e.mean(axis=0)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def combined_vector(
    musicnn: np.ndarray, mfcc_seq: np.ndarray, weight: float = COMBINED_MFCC_WEIGHT, frames: int = MFCC_FRAMES
) -> np.ndarray:
    """One sound's vector in the ``"musicnn+mfcc"`` space: ``[sqrt(1-w)·m/|m|, sqrt(w)·mfcc_vector(seq)]``.

    ``musicnn`` is the sound's MusiCNN vector (200,) or its per-patch embeddings (n_patches, 200), which are
    averaged first; ``mfcc_seq`` its CMVN-MFCC sequence (frames, 20). The inner product of two such vectors is
    ``(1 - w)·cos(m_a, m_b) + w·(1 - design distance(a, b))`` whenever one of the two sounds is at most
    ``frames`` frames long; a sound of at most ``frames`` frames gets a unit-norm vector.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must lie in [0, 1], got {weight}")
    m = np.asarray(musicnn, dtype=np.float32)
    m = musicnn_vector(m) if m.ndim == 2 else musicnn_vector(m[None, :])
    f = mfcc_vector(mfcc_seq, frames)
    return np.concatenate([np.sqrt(1.0 - weight) * m, np.sqrt(weight) * f]).astype(np.float32)


def combined_vectors(
    musicnn: Sequence[np.ndarray] | np.ndarray,
    mfcc_seqs: Iterable[np.ndarray],
    weight: float = COMBINED_MFCC_WEIGHT,
    frames: int = MFCC_FRAMES,
) -> np.ndarray:
    """Stack :func:`combined_vector` of each (MusiCNN vector or patch embeddings, CMVN-MFCC sequence) pair."""
    seqs = list(mfcc_seqs)
    if len(musicnn) != len(seqs):
        raise ValueError(f"{len(musicnn)} MusiCNN vectors but {len(seqs)} MFCC sequences")
    if not seqs:
        return np.zeros((0, 200 + frames * features.N_MFCC), dtype=np.float32)
    return np.stack([combined_vector(m, q, weight, frames) for m, q in zip(musicnn, seqs, strict=True)])


def described_vector(musicnn: np.ndarray, values: np.ndarray, weight: float = DESCRIPTOR_WEIGHT) -> np.ndarray:
    """One sound's vector in the ``"musicnn+descriptors"`` space: ``[sqrt(1-w)·m/|m|, sqrt(w)·d/|d|]``.

    ``musicnn`` is the MusiCNN vector (200,) or per-patch embeddings (n_patches, 200), averaged first;
    ``values`` the sound's raw descriptors (36,). The inner product of two such vectors is
    ``(1 - w)·cos(m_a, m_b) + w·cos(d_a, d_b)`` of the standardised descriptors ``d``.
    """
    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 1:
        raise ValueError(f"expected one sound's descriptors (36,), got shape {v.shape}")
    return described_vectors([musicnn], [v], weight)[0]


def described_vectors(
    musicnn: Sequence[np.ndarray] | np.ndarray,
    values: Sequence[np.ndarray] | np.ndarray,
    weight: float = DESCRIPTOR_WEIGHT,
) -> np.ndarray:
    """:func:`described_vector` of each (MusiCNN vector or patch embeddings, descriptors) pair, as one (n, 236)
    array; the descriptors are standardised and normalised all at once."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must lie in [0, 1], got {weight}")
    if len(musicnn) != len(values):
        raise ValueError(f"{len(musicnn)} MusiCNN vectors but {len(values)} descriptor rows")
    if not len(values):
        return np.zeros((0, 200 + len(descriptors.NAMES)), dtype=np.float32)
    rows = [np.asarray(e, dtype=np.float32) for e in musicnn]
    m = _normalise(np.stack([r if r.ndim == 1 else musicnn_vector(r) for r in rows]))  # per-patch: averaged
    z = _normalise(descriptors.standardize(np.stack(values)).astype(np.float32))
    return np.hstack([np.sqrt(1.0 - weight) * m, np.sqrt(weight) * z]).astype(np.float32)


class MusicnnEmbedder:
    """MusiCNN's 200-d embedding of whole mel patches (no silence trimming), ``batch_size`` patches per call.

    The network is :class:`drumsamp_models.tagger.MusicnnEmbedder`'s, built once per process (TensorFlow
    is loaded on first use only).
    """

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def embed_patches(self, patches: np.ndarray) -> np.ndarray:
        """Per-patch embeddings (n_patches, 200) of mel patches (n_patches, 187, 96)."""
        from .tagger import MusicnnEmbedder as PatchEmbedder

        return PatchEmbedder(self.batch_size)(patches)

    def vectors(self, patch_sets: Sequence[np.ndarray]) -> np.ndarray:
        """One :func:`musicnn_vector` per sound from each sound's patches, embedded in shared batches."""
        if not patch_sets:
            return np.zeros((0, 200), dtype=np.float32)
        counts = [len(p) for p in patch_sets]
        emb = self.embed_patches(np.concatenate(patch_sets))
        bounds = np.cumsum([0, *counts])
        return np.stack([musicnn_vector(emb[bounds[i] : bounds[i + 1]]) for i in range(len(counts))])


def vectors_from_batches(
    npz_files: Sequence[str | os.PathLike[str]],
    space: str = DEFAULT_SPACE,
    *,
    frames: int = MFCC_FRAMES,
    mfcc_files: Sequence[str | os.PathLike[str]] | None = None,
    weight: float | None = None,
) -> tuple[list[str], np.ndarray]:
    """``(ids, vectors)`` of feature files: recommendation batches for ``"mfcc"``, classification batches for
    ``"musicnn"`` and ``"musicnn+descriptors"`` (files written by version 0.4 or later hold the descriptors);
    for ``"musicnn+mfcc"`` the classification batches in ``npz_files`` and each sound's recommendation batch,
    in the same order, in ``mfcc_files``. Ids are the original audio paths as given to the batch writer.
    ``weight`` overrides the space's :data:`COMBINED_MFCC_WEIGHT` or :data:`DESCRIPTOR_WEIGHT`."""
    kind = RECOMMENDATION if space == MFCC else CLASSIFICATION
    _check_space(space)
    batches = [load_batch(f, kind) for f in npz_files]
    ids = [b.source_path for b in batches]
    if space == MFCC:
        return ids, mfcc_vectors((b.data for b in batches), frames)
    if space == DESCRIBED:
        stale = [b.path for b in batches if b.descriptors is None]
        if stale:
            raise FeatureFileError(
                stale[0], "holds no descriptors (written before version 0.4): write the classification batches again"
            )
    embedded = MusicnnEmbedder().vectors([b.data for b in batches])
    if space == MUSICNN:
        return ids, embedded
    if space == DESCRIBED:
        described = [b.descriptors for b in batches]
        return ids, described_vectors(embedded, described, _weight(space, weight))  # type: ignore[arg-type]
    if mfcc_files is None or len(mfcc_files) != len(batches):
        raise ValueError(f"space {COMBINED!r} needs one recommendation batch per sound in mfcc_files")
    seqs = [load_batch(f, RECOMMENDATION).data for f in mfcc_files]
    return ids, combined_vectors(embedded, seqs, _weight(space, weight), frames)


def vectors_from_audio(
    audio_files: Sequence[str | os.PathLike[str]],
    space: str = DEFAULT_SPACE,
    *,
    frames: int = MFCC_FRAMES,
    weight: float | None = None,
    **load_kw: object,
) -> tuple[list[str], np.ndarray]:
    """``(ids, vectors)`` computed straight from audio files (ids = the paths as given)."""
    from .batches import classification_arrays, classification_features, recommendation_features

    _check_space(space)
    ids = [os.fspath(f) for f in audio_files]
    if space == MFCC:
        return ids, mfcc_vectors((recommendation_features(f, **load_kw) for f in ids), frames)
    if space == DESCRIBED:  # patches and descriptors from one decode of each file
        arrays = [classification_arrays(f, **load_kw) for f in ids]
        embedded = MusicnnEmbedder().vectors([a["patches"] for a in arrays])
        return ids, described_vectors(embedded, [a["descriptors"] for a in arrays], _weight(space, weight))
    embedded = MusicnnEmbedder().vectors([classification_features(f, **load_kw) for f in ids])
    if space == MUSICNN:
        return ids, embedded
    seqs = [recommendation_features(f, **load_kw) for f in ids]
    return ids, combined_vectors(embedded, seqs, _weight(space, weight), frames)


def _weight(space: str, weight: float | None) -> float:
    """The given weight, else the space's own."""
    if weight is not None:
        return weight
    return DESCRIPTOR_WEIGHT if space == DESCRIBED else COMBINED_MFCC_WEIGHT


def make_index(space: str = DEFAULT_SPACE, **params: Any) -> LibraryIndex:
    """An empty :class:`LibraryIndex` set up for ``space`` (CMVN-MFCC vectors are pre-scaled: no re-normalising;
    combined vectors are re-normalised, which only changes those of sounds longer than ``MFCC_FRAMES``)."""
    _check_space(space)
    params.setdefault("normalize", space != MFCC)
    return LibraryIndex(space=space, **params)


def _check_space(space: str) -> None:
    if space not in SPACES:
        raise ValueError(f"unknown feature space {space!r}; expected one of {SPACES}")


# ---------------------------------------------------------------------- feature files by name
def feature_files(batches_dir: str | os.PathLike[str]) -> list[str]:
    """Every ``.npz`` under ``batches_dir`` (recursively, sorted); temporary files of the writer skipped."""
    root = os.fspath(batches_dir)
    if not os.path.isdir(root):
        raise FeatureFileError(root, "no such batches directory")
    found = glob.glob(os.path.join(glob.escape(root), "**", "*.npz"), recursive=True)
    return sorted(f for f in found if not os.path.basename(f).startswith(".tmp-"))


def resolve_feature_file(name: str | os.PathLike[str], batches_dir: str | os.PathLike[str]) -> str:
    """The feature file in ``batches_dir`` of a sound named by its audio path, base name or ``.npz`` path.

    Tried in order: an existing ``.npz`` path (as given or inside ``batches_dir``); the writer's file
    name for the audio path (:func:`~drumsamp_models.batches.feature_file_name`); files whose
    recorded source path or base name equals ``name``. Raises :class:`UnknownSoundError` when nothing
    or more than one sound matches.
    """
    raw = os.fspath(name)
    root = os.fspath(batches_dir)
    if raw.endswith(".npz"):
        for cand in (raw, os.path.join(root, raw)):
            if os.path.isfile(cand):
                return cand
    direct = os.path.join(root, feature_file_name(raw))
    if os.path.isfile(direct):
        return direct
    base = os.path.basename(raw)
    # The writer names files "<base name>.<12 hex>.npz": candidates by base name without opening anything.
    pattern = os.path.join(glob.escape(root), "**", glob.escape(base) + "." + "?" * 12 + ".npz")
    matches = sorted(glob.glob(pattern, recursive=True))
    if len(matches) > 1:
        norm = os.path.normpath(raw)
        exact = [m for m in matches if _source_matches(m, norm)]
        if len(exact) == 1:
            return exact[0]
        shown = ", ".join(_describe(m) for m in matches[:5])
        raise UnknownSoundError(raw, f"ambiguous: {len(matches)} sounds of that name ({shown}); give the full path")
    if len(matches) == 1:
        return matches[0]
    raise UnknownSoundError(raw, f"no feature file for this sound in {root}")


def _source_matches(npz_path: str, norm_name: str) -> bool:
    try:
        batch = load_cached(npz_path)
    except FeatureFileError:
        return False
    return norm_name in (os.path.normpath(batch.source_path), os.path.normpath(batch.source_abspath))


def _describe(npz_path: str) -> str:
    try:
        return load_cached(npz_path).source_path
    except FeatureFileError:
        return npz_path


class _BatchCache:
    """Feature files read back, kept while their file is unchanged; bounded by total array bytes (LRU)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str | None], tuple[tuple[int, int], Batch]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, path: str, kind: str | None) -> Batch:
        key = (os.path.abspath(path), kind)
        try:
            st = os.stat(path)
        except OSError:
            raise FeatureFileError(path, "no such feature file") from None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] == stamp:
                self._items.move_to_end(key)
                return hit[1]
        batch = load_batch(path, kind)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1].data.nbytes
            if batch.data.nbytes <= self.max_bytes:
                self._items[key] = (stamp, batch)
                self._bytes += batch.data.nbytes
            while self._bytes > self.max_bytes and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped.data.nbytes
        return batch

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


_CACHE = _BatchCache(max_bytes=256 * 2**20)


def load_cached(path: str | os.PathLike[str], kind: str | None = None) -> Batch:
    """:func:`~drumsamp_models.batches.load_batch` through a 256 MiB in-process cache keyed by path, mtime, size."""
    return _CACHE.get(os.fspath(path), kind)

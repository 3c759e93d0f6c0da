"""A library index: cosine k-NN over fixed-size sound vectors, keyed by sound id (the audio path).

Search runs in `faiss <https://github.com/facebookresearch/faiss>`_: exact (a flat inner-product
index, BLAS/SIMD) while the library is small, an inverted-file index with float16 vectors (IVF-SQfp16)
from ``ivf_threshold`` sounds on. ``bench/knn.py`` measured the choice (docs/evaluation.md): exact
search of 200-d float32 vectors costs ~2 ms per query at 100 000 sounds and 37–154 ms (p95, quiet or
busy machine) at 1 000 000; the IVF index ~7 ms at 1 000 000 with recall@10 0.96 in 583 MiB.

Distances are cosine distances, ``1 - <x, y>`` of the stored vectors: rows are L2-normalised on the way
in unless ``normalize=False`` (the CMVN-MFCC space brings its own scaling, see :mod:`.vectors`).
Sounds are added and removed one at a time or in bulk without rebuilding; the only rebuild is the
one-time switch from exact to IVF when an ``"auto"`` index grows past ``ivf_threshold``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DrumsampError

__all__ = [
    "DEFAULT_IVF_THRESHOLD",
    "EmptyLibraryError",
    "IndexFileError",
    "LibraryIndex",
    "UnknownSoundError",
    "default_index_path",
]

DEFAULT_IVF_THRESHOLD = 50_000
"""An ``"auto"`` index searches exactly below this many sounds and with IVF from there on."""
FORMAT_VERSION = 1
_MIN_TRAIN_PER_LIST = 39  # faiss' own lower bound for k-means training points per centroid


class UnknownSoundError(DrumsampError, KeyError):
    """A sound name matches no sound of the library (or several); ``name`` says which."""

    def __init__(self, name: str, reason: str = "no such sound in the library") -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


class EmptyLibraryError(DrumsampError, ValueError):
    """A search was asked of a library (or candidate set) that holds no sounds."""


class IndexFileError(DrumsampError, ValueError):
    """A saved index file is missing, unreadable or of another format."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def default_index_path(library_dir: str | os.PathLike[str], space: str) -> Path:
    """Where a library's index lives: ``<library_dir>/.drumsamp/index-<space>.npz``."""
    return Path(library_dir) / ".drumsamp" / f"index-{space}.npz"


def _faiss() -> Any:
    """Import faiss lazily (it is only needed once an index is built or loaded)."""
    import faiss

    return faiss


def _as_matrix(X: Any, dim: int | None = None) -> np.ndarray:
    """A C-contiguous float32 (n, d) copy-if-needed of ``X`` (a single vector becomes one row)."""
    arr = np.asarray(X, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors (n_sounds, n_features), got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"vectors have {arr.shape[1]} features, the index holds {dim}-d vectors")
    if not np.all(np.isfinite(arr)):
        raise ValueError("vectors contain NaN or infinite values")
    return np.ascontiguousarray(arr)


def _simd_width(dim: int) -> int:
    """``dim`` rounded up to a multiple of 8."""
    return -(-dim // 8) * 8


def _normalise(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; all-zero rows stay zero (cosine distance 1 to everything)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)


class LibraryIndex:
    """Cosine k-NN over one library's sound vectors, with incremental add/remove and save/load.

    Parameters
    ----------
    algorithm : ``"auto"`` (exact below ``ivf_threshold`` sounds, IVF above), ``"exact"`` or ``"ivf"``.
    n_lists : IVF lists; default ``4·√n`` (at most n / 39) when the IVF index is trained.
    n_probe : lists visited per query; default ``max(16, n_lists // 8)``: recall@10 0.96 at
        1 000 000 clustered vectors in ``bench/knn.py`` (``n_lists // 32`` gave 0.94).
    ivf_threshold : library size at which ``"auto"`` switches to IVF.
    normalize : L2-normalise vectors (cosine similarity); ``False`` when vectors come pre-scaled.
    space : name of the feature space the vectors come from (kept with the index, informational).
    random_state : seed of the IVF k-means.
    n_jobs : threads faiss may use per search (default 1: a single query gains nothing from more,
        and waking idle OpenMP threads added milliseconds to the tail latency on a busy machine);
        ``None`` leaves faiss' own setting.

    Attributes (after ``fit``): ``dim_`` (vector size), ``algorithm_`` (``"exact"`` or ``"ivf"``).
    """

    def __init__(
        self,
        algorithm: str = "auto",
        n_lists: int | None = None,
        n_probe: int | None = None,
        ivf_threshold: int = DEFAULT_IVF_THRESHOLD,
        normalize: bool = True,
        space: str | None = None,
        random_state: int = 0,
        n_jobs: int | None = 1,
    ) -> None:
        self.algorithm = algorithm
        self.n_lists = n_lists
        self.n_probe = n_probe
        self.ivf_threshold = ivf_threshold
        self.normalize = normalize
        self.space = space
        self.random_state = random_state
        self.n_jobs = n_jobs
        self._reset()

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        self._index: Any = None
        self._ids: list[str | None] = []  # label -> id (None once removed)
        self._label: dict[str, int] = {}  # id -> label
        self.dim_: int | None = None
        self.algorithm_: str | None = None
        self._by_base: dict[str, list[str]] | None = None  # base name -> ids, built on demand

    def __len__(self) -> int:
        return len(self._label)

    def __contains__(self, sound_id: object) -> bool:
        return sound_id in self._label

    def __repr__(self) -> str:
        return (
            f"LibraryIndex(algorithm={self.algorithm!r}, space={self.space!r}, sounds={len(self)}, "
            f"dim={self.dim_}, using={self.algorithm_!r})"
        )

    @property
    def ids(self) -> list[str]:
        """Ids of the indexed sounds, in the order they were added."""
        return [i for i in self._ids if i is not None]

    # ------------------------------------------------------------------ building
    def _prepare(self, X: Any) -> np.ndarray:
        arr = _as_matrix(X, self.dim_)
        return _normalise(arr) if self.normalize else arr

    def _check_ids(self, ids: Sequence[str], n: int) -> list[str]:
        ids = [str(i) for i in ids]
        if len(ids) != n:
            raise ValueError(f"{n} vectors but {len(ids)} ids")
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
            raise ValueError(f"duplicate sound ids: {dupes}")
        return ids

    def _padded(self, arr: np.ndarray) -> np.ndarray:
        """Rows zero-padded to the faiss index's width: a multiple of 8, which faiss' SIMD code needs.

        Zero columns change no inner product; at 236-d (the default space) the padding to 240 makes IVF
        search ~6 times faster.
        """
        width = self._index.d if self._index is not None else _simd_width(arr.shape[1])
        if arr.shape[1] >= width:
            return arr
        out = np.zeros((len(arr), width), dtype=np.float32)
        out[:, : arr.shape[1]] = arr
        return out

    def _new_exact(self, dim: int) -> Any:
        faiss = _faiss()
        return faiss.IndexIDMap2(faiss.IndexFlatIP(_simd_width(dim)))

    def _new_ivf(self, train: np.ndarray) -> Any:
        """An IVF-SQfp16 inner-product index trained (k-means) on ``train``."""
        faiss = _faiss()
        train = self._padded(train)
        n, dim = train.shape
        n_lists = self.n_lists or round(4 * math.sqrt(n))
        n_lists = max(1, min(n_lists, n // _MIN_TRAIN_PER_LIST or 1))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, n_lists, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        index.by_residual = False
        index.cp.seed = self.random_state
        max_train = 64 * n_lists  # k-means on a sample: enough for stable centroids, bounded build time
        if n > max_train:
            rng = np.random.default_rng(self.random_state)
            train = train[np.sort(rng.choice(n, max_train, replace=False))]
        index.train(train)
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.nprobe = min(n_lists, self.n_probe or max(16, n_lists // 8))
        return index  # faiss' Python wrapper keeps the quantizer alive (referenced_objects)

    def _use_ivf(self, n: int) -> bool:
        if self.algorithm not in ("auto", "exact", "ivf"):
            raise ValueError(f"algorithm must be 'auto', 'exact' or 'ivf', not {self.algorithm!r}")
        return self.algorithm == "ivf" or (self.algorithm == "auto" and n >= self.ivf_threshold)

    def fit(self, X: Any, ids: Sequence[str]) -> LibraryIndex:
        """Index ``X`` (n_sounds, n_features) under ``ids`` (one unique name per row), replacing any content."""
        self._reset()
        arr = _as_matrix(X)
        ids = self._check_ids(ids, len(arr))
        self.dim_ = arr.shape[1]
        arr = self._prepare(arr)
        if self._use_ivf(len(arr)) and len(arr) > 0:
            self._index, self.algorithm_ = self._new_ivf(arr), "ivf"
        else:
            self._index, self.algorithm_ = self._new_exact(self.dim_), "exact"
        self._append(arr, ids)
        return self

    def _append(self, arr: np.ndarray, ids: list[str]) -> None:
        start = len(self._ids)
        labels = np.arange(start, start + len(ids), dtype=np.int64)
        if len(ids):
            # Bulk adds (fit) use every core; small incremental adds run like searches, on n_jobs threads.
            arr = self._padded(arr)
            if len(ids) > 1000:
                self._index.add_with_ids(arr, labels)
            else:
                self._threads(self._index.add_with_ids, arr, labels)
        self._ids.extend(ids)
        self._label.update(zip(ids, range(start, start + len(ids)), strict=True))
        self._by_base = None

    def add(self, X: Any, ids: Sequence[str]) -> LibraryIndex:
        """Add sounds; an id already indexed gets its new vector (the old one is removed first)."""
        arr = _as_matrix(X, self.dim_)
        ids = self._check_ids(ids, len(arr))
        if self._index is None:
            return self.fit(arr, ids)
        present = [i for i in ids if i in self._label]
        if present:
            self.remove(present)
        self._append(self._prepare(arr), ids)
        if self.algorithm_ == "exact" and self._use_ivf(len(self)):
            self._switch_to_ivf()
        return self

    def _switch_to_ivf(self) -> None:
        """One-time rebuild when an ``"auto"`` index grows past ``ivf_threshold``."""
        ids = self.ids
        arr = self._reconstruct([self._label[i] for i in ids])
        self._reset_index_keep_params()
        self.dim_ = arr.shape[1]
        self._index, self.algorithm_ = self._new_ivf(arr), "ivf"
        self._append(arr, ids)

    def _reset_index_keep_params(self) -> None:
        self._index = None
        self._ids = []
        self._label = {}
        self._by_base = None

    def remove(self, ids: Iterable[str], missing: str = "raise") -> LibraryIndex:
        """Remove sounds by id; an unknown id raises :class:`UnknownSoundError` unless ``missing="ignore"``."""
        ids = list(dict.fromkeys(str(i) for i in ids))
        unknown = [i for i in ids if i not in self._label]
        if unknown and missing == "raise":
            raise UnknownSoundError(unknown[0], "cannot remove: no such sound in the index")
        labels = np.array([self._label.pop(i) for i in ids if i not in unknown], dtype=np.int64)
        if len(labels):
            faiss = _faiss()
            self._index.remove_ids(faiss.IDSelectorArray(labels))
            for lab in labels:
                self._ids[lab] = None
            self._by_base = None
        return self

    def resolve(self, name: str | os.PathLike[str]) -> str:
        """The id of the sound called ``name``: its id, the same path normalised or absolute, or a unique base name.

        Raises :class:`UnknownSoundError` for a name that matches no sound, or several (same base name).
        """
        raw = os.fspath(name)
        if raw in self._label:
            return raw
        for cand in (os.path.normpath(raw), os.path.abspath(raw)):
            if cand in self._label:
                return cand
        if self._by_base is None:
            self._by_base = {}
            for sound_id in self._label:
                self._by_base.setdefault(os.path.basename(sound_id), []).append(sound_id)
        found = self._by_base.get(os.path.basename(raw), [])
        if len(found) == 1 and (os.path.basename(raw) == raw or os.path.abspath(found[0]) == os.path.abspath(raw)):
            return found[0]
        if len(found) > 1:
            raise UnknownSoundError(raw, f"ambiguous: {len(found)} sounds of that name ({', '.join(found[:5])})")
        if len(self) == 0:
            raise UnknownSoundError(raw, "the library index holds no sounds")
        raise UnknownSoundError(raw)

    # ------------------------------------------------------------------ queries
    def _reconstruct(self, labels: Sequence[int]) -> np.ndarray:
        if not len(labels):
            return np.zeros((0, self.dim_ or 0), dtype=np.float32)
        rows = self._index.reconstruct_batch(np.asarray(labels, dtype=np.int64))
        return np.asarray(rows, dtype=np.float32)[:, : self.dim_]

    def _threads(self, call: Any, *args: Any) -> Any:
        """Run a faiss call with ``n_jobs`` OpenMP threads (faiss' global setting, restored afterwards)."""
        if self.n_jobs is None:
            return call(*args)
        faiss = _faiss()
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(max(1, int(self.n_jobs)))
        try:
            return call(*args)
        finally:
            faiss.omp_set_num_threads(before)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """faiss search with ``n_jobs`` threads."""
        return self._threads(self._index.search, self._padded(queries), k)

    def label_of(self, sound_id: str) -> int:
        """Internal label of a sound id (raises :class:`UnknownSoundError`)."""
        try:
            return self._label[sound_id]
        except KeyError:
            raise UnknownSoundError(sound_id) from None

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored (normalised; float16-rounded under IVF) vectors of ``ids``, shape (len(ids), dim)."""
        return self._reconstruct([self.label_of(i) for i in ids])

    def kneighbors(
        self,
        X: Any = None,
        n_neighbors: int = 10,
        *,
        exclude: Iterable[str] = (),
        return_distance: bool = True,
    ) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """The ``n_neighbors`` nearest indexed sounds of each query vector, nearest first.

        ``X`` (n_queries, n_features); ``None`` queries every indexed sound against the others (itself
        excluded). Sounds in ``exclude`` are never returned. Returns ``(distances, ids)``: float32 cosine
        distances and an object array of sound ids, both (n_queries, k) with ``k = min(n_neighbors,
        candidates)``; a row that finds fewer candidates (IVF only) is padded with ``inf`` / ``None``.
        """
        if self._index is None or len(self) == 0:
            raise EmptyLibraryError("the library index holds no sounds: add sounds before searching")
        excluded = {self._label[i] for i in set(exclude) if i in self._label}
        self_labels: np.ndarray | None = None
        if X is None:
            self_labels = np.array([self._label[i] for i in self.ids], dtype=np.int64)
            queries = self._reconstruct(self_labels)
        else:
            queries = self._prepare(X)
        candidates = len(self) - len(excluded) - (1 if X is None else 0)
        if candidates <= 0:
            raise EmptyLibraryError("no candidate sounds left after the exclusions")
        k = max(0, min(int(n_neighbors), candidates))
        fetch = min(len(self), k + len(excluded) + (1 if X is None else 0))
        sims, labels = self._search(queries, fetch)
        dist_out = np.full((len(queries), k), np.inf, dtype=np.float32)
        ids_out = np.full((len(queries), k), None, dtype=object)
        for row in range(len(queries)):
            skip = excluded if self_labels is None else excluded | {int(self_labels[row])}
            col = 0
            for sim, lab in zip(sims[row], labels[row], strict=True):
                if col == k:
                    break
                if lab < 0 or int(lab) in skip:
                    continue
                dist_out[row, col] = 1.0 - sim
                ids_out[row, col] = self._ids[lab]
                col += 1
        np.maximum(dist_out, 0.0, out=dist_out)  # rounding can make 1 - <x, x> slightly negative
        return (dist_out, ids_out) if return_distance else ids_out

    def set_params(self, **params: Any) -> LibraryIndex:
        """Set constructor parameters (scikit-learn style); ``n_probe`` applies to a trained IVF index at once."""
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"unknown parameter {key!r}")
            setattr(self, key, value)
        if "n_probe" in params and self.algorithm_ == "ivf" and params["n_probe"]:
            self._index.nprobe = min(int(params["n_probe"]), self._index.nlist)
        return self

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style)."""
        return {
            "algorithm": self.algorithm,
            "n_lists": self.n_lists,
            "n_probe": self.n_probe,
            "ivf_threshold": self.ivf_threshold,
            "normalize": self.normalize,
            "space": self.space,
            "random_state": self.random_state,
            "n_jobs": self.n_jobs,
        }

    def memory_bytes(self) -> int:
        """Approximate memory held by the index: faiss' vectors and lists plus the id tables."""
        if self._index is None:
            return 0
        n, dim = len(self), self._index.d  # the padded width faiss stores
        if self.algorithm_ == "ivf":
            ivf = self._index
            vectors = n * (2 * dim + 8) + ivf.nlist * dim * 4 + n * 24  # fp16 codes, ids, centroids, direct map
        else:
            vectors = n * (4 * dim + 8) + n * 24  # float32 rows, ids, IDMap2 reverse map
        ids = sum(len(i) + 49 for i in self._label) + len(self._ids) * 8 + len(self._label) * 100
        return int(vectors + ids)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index to one ``.npz`` file (atomically: a temporary file, then a rename)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        faiss = _faiss()
        live = [(lab, i) for lab, i in enumerate(self._ids) if i is not None]
        encoded = [i.encode("utf-8", "surrogateescape") for _, i in live]
        offsets = np.cumsum([0, *map(len, encoded)]).astype(np.int64)
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        meta = {
            "format_version": FORMAT_VERSION,
            "params": self.get_params(),
            "dim": self.dim_,
            "algorithm_": self.algorithm_,
            "next_label": len(self._ids),
        }
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps(meta)),
            "labels": np.array([lab for lab, _ in live], dtype=np.int64),
            "id_offsets": offsets,
            "id_blob": blob,
        }
        if self._index is not None:
            arrays["faiss"] = faiss.serialize_index(self._index)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LibraryIndex:
        """Read an index written by :meth:`save`."""
        p = os.fspath(path)
        if not os.path.isfile(p):
            raise IndexFileError(p, "no such index file")
        try:
            with np.load(p, allow_pickle=False) as npz:
                meta = json.loads(str(npz["meta"]))
                labels = npz["labels"]
                offsets = npz["id_offsets"]
                blob = npz["id_blob"].tobytes()
                raw = npz["faiss"] if "faiss" in npz.files else None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexFileError(p, f"not a drumsamp_models index file ({type(exc).__name__}: {exc})") from None
        if meta.get("format_version") != FORMAT_VERSION:
            raise IndexFileError(p, f"index format {meta.get('format_version')!r}, expected {FORMAT_VERSION}")
        index = cls(**meta["params"])
        index.dim_ = meta["dim"]
        index.algorithm_ = meta["algorithm_"]
        index._ids = [None] * int(meta["next_label"])
        for k, lab in enumerate(labels):
            sound_id = blob[offsets[k] : offsets[k + 1]].decode("utf-8", "surrogateescape")
            index._ids[int(lab)] = sound_id
            index._label[sound_id] = int(lab)
        if raw is not None:
            index._index = _faiss().deserialize_index(raw)
        return index

"""Feature files on disk: one ``.npz`` per audio file, written atomically, streamed one file at a time."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import audio, features
from .errors import AudioError, FeatureFileError

__all__ = [
    "CLASSIFICATION",
    "RECOMMENDATION",
    "Batch",
    "BatchReport",
    "ProgressCallback",
    "classification_arrays",
    "classification_features",
    "feature_file_name",
    "load_batch",
    "recommendation_features",
    "tagger_front_end",
    "write_batches",
]

log = logging.getLogger("drumsamp_models")

CLASSIFICATION = "classification"
RECOMMENDATION = "recommendation"
FORMAT_VERSION = 2
"""2: classification patches follow the tagger's front end (keys ``peak_normalize`` and ``sample_rate``)."""
_DATA_KEY = {CLASSIFICATION: "patches", RECOMMENDATION: "mfcc"}

ProgressCallback = Callable[[int, "int | None", str], None]
"""Called after each file as ``progress(done, total, audio_path)``; ``total`` is None for iterators."""


@dataclass
class BatchReport:
    """Outcome of a batch run: ``written`` maps audio path → feature file, ``failed`` audio path → reason."""

    written: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def feature_files(self) -> list[str]:
        """The feature files written, in input order."""
        return list(self.written.values())


@dataclass(frozen=True)
class Batch:
    """One feature file read back: its kind, the audio file it came from, and the feature array.

    ``source_path`` is the audio path exactly as given to the batch writer, ``source_abspath`` its
    absolute form.
    """

    path: str
    kind: str
    source_path: str
    source_abspath: str
    data: np.ndarray
    front_end: features.FrontEnd = field(default_factory=features.FrontEnd)
    """How classification patches were computed (format 1 files: the plain front end)."""
    descriptors: np.ndarray | None = None
    """The sound's :mod:`~drumsamp_models.descriptors` (classification files written since version 0.4)."""


def feature_file_name(audio_path: str | os.PathLike[str]) -> str:
    """``<base name>.<12 hex of the absolute path's SHA-1>.npz``: same base names in other folders don't collide."""
    p = os.path.abspath(os.fspath(audio_path))
    digest = hashlib.sha1(p.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = os.path.basename(p).encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore")
    return f"{name}.{digest}.npz"


@functools.cache
def tagger_front_end() -> features.FrontEnd:
    """The front end of the tagger head shipped in the package (the plain one if there is none)."""
    from .tagger import Head

    try:
        return features.FrontEnd.from_meta(Head.shipped().meta)
    except FileNotFoundError:
        return features.FrontEnd()


def classification_features(path: str, **load_kw: object) -> np.ndarray:
    """MusiCNN mel patches, (n, 187, 96), of one audio file, as the shipped tagger's front end computes them."""
    front = tagger_front_end()
    y = audio.load(path, front.sample_rate, **load_kw)  # type: ignore[arg-type]
    return front.patches(y)


def classification_arrays(path: str, **load_kw: object) -> dict[str, np.ndarray]:
    """``{"patches": mel patches, "descriptors": envelope/spectral descriptors}`` of one audio file, decoded once."""
    front = tagger_front_end()
    y = audio.load(path, front.sample_rate, **load_kw)  # type: ignore[arg-type]
    patches, described = front.patches_and_descriptors(y)
    return {"patches": patches, "descriptors": described}


def recommendation_features(path: str, **load_kw: object) -> np.ndarray:
    """CMVN-MFCC, (frames, 20), of one audio file."""
    y = audio.load(path, features.MFCC_SR, **load_kw)  # type: ignore[arg-type]
    return features.cmvn_mfcc(y, features.MFCC_SR)


def _recommendation_arrays(path: str, **load_kw: object) -> dict[str, np.ndarray]:
    return {"mfcc": recommendation_features(path, **load_kw)}


_COMPUTE = {CLASSIFICATION: classification_arrays, RECOMMENDATION: _recommendation_arrays}


def _save_npz(target: Path, kind: str, source: str, abspath: str, arrays: dict[str, np.ndarray]) -> None:
    """Write the feature file through a temporary file and rename: never a half-written ``.npz``."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                **arrays,
                kind=np.array(kind),
                source_path=np.array(source),
                source_abspath=np.array(abspath),
                format_version=np.array(FORMAT_VERSION),
                **({k: np.array(v) for k, v in tagger_front_end().as_meta().items()} if kind == CLASSIFICATION else {}),
            )
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _process_one(
    kind: str, source: str, out_dir: str, load_kw: dict[str, object]
) -> tuple[str, str | None, str | None]:
    """Compute and save one file's features; returns (source, feature file or None, failure reason or None)."""
    try:
        arrays = _COMPUTE[kind](source, **load_kw)
        target = Path(out_dir) / feature_file_name(source)
        _save_npz(target, kind, source, os.path.abspath(source), arrays)
        return source, str(target), None
    except AudioError as exc:
        return source, None, exc.reason
    except (OSError, ValueError, MemoryError) as exc:
        return source, None, f"{type(exc).__name__}: {exc}"


def _single_threaded_worker() -> None:
    """Worker processes run one BLAS thread each: n_jobs processes × the BLAS pool would oversubscribe the cores."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def write_batches(
    kind: str,
    audio_files: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    n_jobs: int = 1,
    **load_kw: object,
) -> BatchReport:
    """Compute ``kind`` features for every file and save one ``.npz`` each into ``out_dir``.

    Files that fail are logged, listed in the report with their reason and skipped. Files are
    processed one at a time (or by ``n_jobs`` worker processes), so memory does not grow with their
    number. ``load_kw`` goes to :func:`drumsamp_models.audio.load` (e.g. ``max_duration``).
    """
    if kind not in _COMPUTE:
        raise ValueError(f"unknown feature kind {kind!r}; expected {sorted(_COMPUTE)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    total = len(audio_files) if hasattr(audio_files, "__len__") else None  # type: ignore[arg-type]
    sources = (os.fspath(f) for f in audio_files)
    report = BatchReport()

    def record(done: int, result: tuple[str, str | None, str | None]) -> None:
        source, target, reason = result
        if target is not None:
            report.written[source] = target
        else:
            report.failed[source] = reason or "unknown error"
            log.warning("skipped %s: %s", source, reason)
        if progress is not None:
            progress(done, total, source)

    if n_jobs <= 1:
        for done, source in enumerate(sources, 1):
            record(done, _process_one(kind, source, str(out), load_kw))
    else:
        with ProcessPoolExecutor(max_workers=n_jobs, initializer=_single_threaded_worker) as pool:
            pending = []
            done = 0
            for source in sources:
                pending.append(pool.submit(_process_one, kind, source, str(out), load_kw))
                if len(pending) >= 4 * n_jobs:  # bounded queue: streaming, not all files at once
                    done += 1
                    record(done, pending.pop(0).result())
            for fut in pending:
                done += 1
                record(done, fut.result())
    return report


def load_batch(path: str | os.PathLike[str], kind: str | None = None) -> Batch:
    """Read a feature file written by :func:`write_batches`; checks its kind when ``kind`` is given."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise FeatureFileError(p, "no such feature file")
    try:
        with np.load(p, allow_pickle=False) as npz:
            found = str(npz["kind"])
            if kind is not None and found != kind:
                raise FeatureFileError(p, f"holds {found} features, {kind} features expected")
            front = features.FrontEnd.from_meta(
                {k: npz[k].item() for k in ("peak_normalize", "sample_rate") if k in npz.files}
            )
            described = npz["descriptors"] if "descriptors" in npz.files else None
            return Batch(
                p, found, str(npz["source_path"]), str(npz["source_abspath"]), npz[_DATA_KEY[found]], front, described
            )
    except FeatureFileError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise FeatureFileError(p, f"not a drumsamp_models feature file ({type(exc).__name__}: {exc})") from None

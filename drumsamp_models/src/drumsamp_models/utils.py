"""Pre-processing, under the names of the original design (``save_*_batches_to_disk``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .batches import (
    CLASSIFICATION,
    RECOMMENDATION,
    Batch,
    BatchReport,
    ProgressCallback,
    feature_file_name,
    load_batch,
    write_batches,
)

AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".mp3"})
"""File name extensions (lower case) of the formats the package decodes: WAV, AIFF, FLAC, OGG/Vorbis, MP3."""

__all__ = [
    "AUDIO_EXTENSIONS",
    "Batch",
    "BatchReport",
    "feature_file_name",
    "find_audio_files",
    "load_batch",
    "save_classification_batches_to_disk",
    "save_recommendation_batches_to_disk",
]


def find_audio_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every audio file below ``root`` (any case of its extension: ``.WAV``, ``.Flac``...), sorted by path.

    Symbolic links to folders are not followed, so a link cannot lead the walk out of ``root`` or round in a loop.
    """
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(Path(folder, name) for name in files if Path(name).suffix.lower() in AUDIO_EXTENSIONS)
    return sorted(found)


def save_classification_batches_to_disk(
    audio_files: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    n_jobs: int = 1,
    **load_kw: object,
) -> BatchReport:
    """Write the MusiCNN mel patches of each audio file to ``out_dir``, one ``.npz`` per file.

    The patches follow the shipped tagger's front end (:func:`~drumsamp_models.batches.tagger_front_end`),
    which each file records, so that :func:`~drumsamp_models.tagger.predict_tags_on_computed_mels` can check it.
    Each file also holds the sound's :mod:`~drumsamp_models.descriptors` (for the default similarity space).

    Returns a :class:`BatchReport`: ``written`` maps each audio path to its ``.npz``, ``failed``
    maps each file that could not be decoded to the reason (those files are skipped).
    """
    return write_batches(CLASSIFICATION, audio_files, out_dir, progress=progress, n_jobs=n_jobs, **load_kw)


def save_recommendation_batches_to_disk(
    audio_files: Iterable[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    n_jobs: int = 1,
    **load_kw: object,
) -> BatchReport:
    """Write the CMVN-MFCC of each audio file to ``out_dir``, one ``.npz`` per file (see the classification twin)."""
    return write_batches(RECOMMENDATION, audio_files, out_dir, progress=progress, n_jobs=n_jobs, **load_kw)

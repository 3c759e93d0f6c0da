"""Patch embeddings of the dataset's sounds, cached on disk, for training and evaluating the tagger head.

Each (sound, augmentation) pair is embedded once by the frozen MusiCNN and stored as
``<cache>/<sha1>.npy`` (n_patches, 200); re-running training costs seconds.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from drumsamp_models import audio, descriptors, features
from drumsamp_models.errors import AudioError
from drumsamp_models.tagger import MusicnnEmbedder, branch_fingerprint
from drumsamp_models.training import augment

CACHE_VERSION = "v1"
# DATA_NOTES reserves these sources for independent evaluation: no training, tuning or calibration on them.
RESERVED_SOURCES = ("sonic-pi", "supersonic")


@dataclass(frozen=True)
class Row:
    """One labelled sound of the manifest."""

    path: str
    label: str
    split: str
    group: str
    subclass: str = ""
    source: str = ""
    role: str = ""


def read_manifest(path: str | os.PathLike[str]) -> list[Row]:
    """The rows of a dataset manifest (``tools/build_dataset.py`` writes it)."""
    with open(path, newline="") as fh:
        return [
            Row(
                r["path"],
                r["label"],
                r["split"],
                r.get("group", ""),
                r.get("subclass", ""),
                r.get("source", ""),
                r.get("role", ""),
            )
            for r in csv.DictReader(fh)
        ]


def is_reserved(source: str, path: str) -> bool:
    """Whether a sound comes from a source reserved for independent evaluation (:data:`RESERVED_SOURCES`)."""
    return any(k in f"{source}|{path}".lower() for k in RESERVED_SOURCES)


def reserved(rows: Sequence[Row]) -> list[Row]:
    """The rows that come from a source reserved for independent evaluation."""
    return [r for r in rows if is_reserved(r.source, r.path)]


def _file_stamp(path: str) -> str:
    """Absolute path, size and modification time: what identifies a file's content in the cache keys."""
    stat = os.stat(path)
    return f"{os.path.abspath(path)}|{stat.st_size}|{int(stat.st_mtime)}"


def _key(
    path: str,
    aug: int,
    seed: int,
    trim_silence: bool,
    peak_normalize: bool = False,
    sample_rate: int = features.MUSICNN_SR,
    eq: float = 0.0,
) -> str:
    text = f"{CACHE_VERSION}|{_file_stamp(path)}|{aug}|{seed}|{trim_silence}"
    if peak_normalize:
        text += "|peak"
    if sample_rate != features.MUSICNN_SR:
        text += f"|sr{sample_rate}"
    if eq and aug:
        text += f"|eq{eq:g}"
    return hashlib.sha1(text.encode()).hexdigest()


def patch_embeddings(
    rows: Sequence[Row],
    cache_dir: str | os.PathLike[str],
    augmentations: int = 0,
    seed: int = 0,
    desc: str = "embedding",
    trim_silence: bool = True,
    peak_normalize: bool = False,
    sample_rate: int = features.MUSICNN_SR,
    eq: float = 0.0,
    branch: Mapping[str, Sequence[np.ndarray]] | None = None,
    extra: Sequence[str] = (),
) -> tuple[list[np.ndarray], list[Row]]:
    """Per-patch embeddings of every row and of ``augmentations`` random variants of each.

    With ``branch`` (a head's tag branch, :attr:`drumsamp_models.tagger.Head.branch`) the embeddings are the
    branch's, the head's input (cached by the branch's fingerprint beside the frozen ones). ``extra`` models
    (:attr:`drumsamp_models.tagger.Head.extra_embeddings`) append their embeddings (each cached as
    ``<key>-<model>.npy``).

    ``trim_silence`` must match the head's: see :class:`drumsamp_models.tagger.MusicnnEmbedder`;
    ``peak_normalize`` and ``sample_rate`` too: see :class:`drumsamp_models.features.FrontEnd`.
    ``eq`` is the augmentations' probability of a random tone change (:func:`~drumsamp_models.training.augment`).

    Returns one (n_patches, 200 × (1 + extra models)) array per (row, variant) and the matching rows. Rows whose audio
    cannot be decoded are skipped with a message.
    """
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    embedder = MusicnnEmbedder(trim_silence=trim_silence, branch=branch)
    extras = {name: MusicnnEmbedder(trim_silence=trim_silence, model=name) for name in extra}
    suffix = f"-{branch_fingerprint(branch)[:16]}" if branch is not None else ""
    front = features.FrontEnd(peak_normalize, sample_rate)
    out: list[np.ndarray] = []
    out_rows: list[Row] = []
    for index, row in enumerate(tqdm(rows, desc=desc, unit="sound", mininterval=5)):
        if not os.path.isfile(row.path):
            print(f"skipped {row.path}: no such file")
            continue
        for aug in range(augmentations + 1):
            key = _key(row.path, aug, seed, trim_silence, peak_normalize, sample_rate, eq)
            targets = {None: cache / f"{key}{suffix}.npy"} | {name: cache / f"{key}-{name}.npy" for name in extra}
            if any(not t.exists() for t in targets.values()):
                try:
                    y = audio.load(row.path, front.sample_rate)
                except AudioError as exc:
                    print(f"skipped {row.path}: {exc.reason}")
                    break
                if aug:
                    y = augment(y, front.sample_rate, np.random.default_rng([seed, index, aug]), eq)
                patches = front.patches(y)
                if not targets[None].exists():
                    frozen, emb = embedder.embed(patches)
                    if branch is not None and not (cache / f"{key}.npy").exists():
                        np.save(cache / f"{key}.npy", frozen)
                    np.save(targets[None], emb)
                for name, extra_embedder in extras.items():
                    if not targets[name].exists():
                        np.save(targets[name], extra_embedder(patches))
            out.append(np.concatenate([np.load(t) for t in targets.values()], axis=1))
            out_rows.append(row)
    return out, out_rows


def row_descriptors(rows: Sequence[Row], cache_dir: str | os.PathLike[str]) -> np.ndarray:
    """The (n, 36) :mod:`~drumsamp_models.descriptors` of each row's sound (cached in ``<cache>/descriptors``)."""
    cache = Path(cache_dir) / "descriptors"
    cache.mkdir(parents=True, exist_ok=True)
    out = np.zeros((len(rows), len(descriptors.NAMES)), np.float32)
    for i, row in enumerate(rows):
        text = f"descriptors-v{descriptors.VERSION}|{_file_stamp(row.path)}"
        target = cache / f"{hashlib.sha1(text.encode()).hexdigest()}.npy"
        if not target.exists():
            np.save(target, descriptors.describe_file(row.path))
        out[i] = np.load(target)
    return out


def stack_patches(embeddings: Sequence[np.ndarray], rows: Sequence[Row]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Flatten per-sound patch embeddings into (patches, 200), their labels and the owning sound index."""
    x = np.concatenate(embeddings) if embeddings else np.zeros((0, 200), np.float32)
    labels = [row.label for emb, row in zip(embeddings, rows, strict=True) for _ in range(len(emb))]
    owner = np.concatenate([np.full(len(emb), i) for i, emb in enumerate(embeddings)]) if embeddings else np.zeros(0)
    return x, labels, owner

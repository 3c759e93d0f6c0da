"""Fit the descriptor scaler shipped in the wheel: mean and standard deviation of each descriptor.

Measured on the drum sounds (one-shots and loops) of the ``train`` split of the dataset only, so that the
similarity figures of the val and test kits stay out-of-sample.

    .venv/bin/python -m tools.fit_descriptor_scaler --manifest data/dataset/manifest.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from drumsamp_models import descriptors
from drumsamp_models.errors import AudioError
from tools.tagger_data import read_manifest

DRUMS = ("Kick", "Snare", "Cymbal", "Tom", "Drumloop")
TARGET = Path(__file__).resolve().parents[1] / "drumsamp_models/src/drumsamp_models/weights" / descriptors.SCALER_FILE


def fit(paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of the descriptors of the files (unreadable files skipped with a message)."""
    rows = []
    for path in paths:
        try:
            rows.append(descriptors.describe_file(path))
        except AudioError as exc:
            print(f"skipped {path}: {exc.reason}", file=sys.stderr)
    if not rows:
        raise SystemExit("no readable training sound")
    values = np.stack(rows).astype(np.float64)
    return values.mean(axis=0).astype(np.float32), values.std(axis=0).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", default="data/dataset/manifest.csv")
    parser.add_argument("--split", default="train")
    parser.add_argument("--out", default=str(TARGET))
    args = parser.parse_args(argv)
    paths = [r.path for r in read_manifest(args.manifest) if r.split == args.split and r.label in DRUMS]
    mean, std = fit(paths)
    np.savez(args.out, names=np.array(descriptors.NAMES), mean=mean, std=std, version=np.array(descriptors.VERSION))
    print(f"{len(paths)} {args.split} drum sounds → {args.out}")
    for name, m, s in zip(descriptors.NAMES, mean, std, strict=True):
        print(f"  {name:28s} mean {m:9.3f}  std {s:8.3f}")


if __name__ == "__main__":
    main()

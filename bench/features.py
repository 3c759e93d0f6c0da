"""Feature-extraction throughput: decode + MusiCNN mel, decode + CMVN-MFCC, on generated one-shots.

Prints files/s and peak RSS for N one-shots (0.2-2 s, 44.1 kHz 16-bit WAV), in this process
(one core) and with 2 worker processes through the batch writer. Run: ``make bench`` or
``.venv/bin/python -m bench.features [--files 1000]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import soundfile as sf

from bench.common import make_one_shots, peak_rss_mb
from drumsamp_models import audio, features
from drumsamp_models.batches import CLASSIFICATION, RECOMMENDATION, tagger_front_end, write_batches


def timed(label: str, n: int, fn) -> None:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    print(f"| {label:<48} | {n / elapsed:8.0f} | {elapsed:7.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = make_one_shots(folder / "lib", args.files)
        front = tagger_front_end()  # the shipped tagger's: what the classification batches compute
        # Warm-up: librosa's numba functions compile (and cache) on first use.
        front.patches(audio.load(files[0], front.sample_rate))
        features.cmvn_mfcc(audio.load(files[0], 22050))
        total_s = sum(sf.info(f).duration for f in files)
        print(f"{len(files)} one-shots, {total_s:.0f} s of audio, cpus={os.cpu_count()}, tagger front end {front}")
        print("| what | files/s | seconds |")
        print("|---|---:|---:|")
        timed(
            "decode + mel patches (1 process)",
            len(files),
            lambda: [front.patches(audio.load(f, front.sample_rate)) for f in files],
        )
        timed(
            "decode + CMVN-MFCC (1 process)",
            len(files),
            lambda: [features.cmvn_mfcc(audio.load(f, 22050)) for f in files],
        )
        timed(
            "decode + both (1 process)",
            len(files),
            lambda: [
                (front.patches(audio.load(f, front.sample_rate)), features.cmvn_mfcc(audio.load(f, 22050)))
                for f in files
            ],
        )
        for jobs in (1, 2):
            timed(
                f"classification batches to .npz (n_jobs={jobs})",
                len(files),
                lambda jobs=jobs: write_batches(CLASSIFICATION, files, folder / f"c{jobs}", n_jobs=jobs),
            )
            timed(
                f"recommendation batches to .npz (n_jobs={jobs})",
                len(files),
                lambda jobs=jobs: write_batches(RECOMMENDATION, files, folder / f"r{jobs}", n_jobs=jobs),
            )
        print(f"peak RSS: this process {peak_rss_mb():.0f} MB, largest worker {peak_rss_mb(True):.0f} MB")


if __name__ == "__main__":
    main()

"""Probe (issue 21): does the body's pitch, given to the head, keep drum-machine toms from going to Kick?

The drum machines' toms that the head calls Kick are pitched above their machine's kick (kicks 53-83 Hz, toms
90-230 Hz on eight of the nine machines of train + val), while the 36 descriptors see the low end only in octave
bands. This probe appends two numbers to every sound's descriptors: log2 of the strongest spectral peak between
25 Hz and 1 kHz over 10-150 ms after the attack, and that peak's share of the spectrum; then it runs
``tools.evaluate_machines`` (leave-one-machine-out with the shipped recipe) on them::

    .venv/bin/python -m tools.probe_body_pitch --manifest data/dataset/manifest.csv --seeds 0 1 2

The test machines' part of that report tags with the shipped head and its own 36 descriptors. Measured in
``docs/evaluation.md`` ("Synthetic drum machines and the body's pitch"); not part of the shipped head.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import tools.evaluate_machines as machines
import tools.tagger_data as tagger_data
import tools.train_tagger as train_tagger
from drumsamp_models.audio import load
from drumsamp_models.tagger import Head

RATE = 22050


def body_pitch(path: str | Path) -> np.ndarray:
    """[log2 Hz of the strongest 25-1000 Hz peak 10-150 ms after the attack, its share of the 25 Hz-11 kHz
    spectrum in %]."""
    audio = np.asarray(load(path, sr=RATE, max_duration=None, silence_db=None), dtype=np.float64)
    if not audio.size or not np.abs(audio).max():
        return np.zeros(2, np.float32)
    attack = int(np.argmax(np.abs(audio) > 0.3 * np.abs(audio).max()))
    body = audio[attack + int(0.01 * RATE) : attack + int(0.15 * RATE)]
    if len(body) < 256:
        body = audio[attack : attack + int(0.15 * RATE)]
    n = 16384
    spectrum = np.abs(np.fft.rfft(body * np.hanning(len(body)), n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    low = (freqs > 25) & (freqs < 1000)
    peak = int(np.argmax(spectrum[low]))
    share = spectrum[low][peak] / (spectrum[(freqs > 25) & (freqs < 11000)].sum() + 1e-9) * 100
    return np.array([np.log2(freqs[low][peak]), share], np.float32)


def main(argv: Sequence[str] | None = None) -> int:
    describe = tagger_data.row_descriptors
    likelihoods = machines.file_likelihoods
    cache: dict[str, np.ndarray] = {}

    def with_pitch(rows: Sequence[tagger_data.Row], cache_dir: str) -> np.ndarray:
        for row in rows:
            if row.path not in cache:
                cache[row.path] = body_pitch(row.path)
        pitch = np.reshape([cache[row.path] for row in rows], (len(rows), 2))
        return np.concatenate([describe(rows, cache_dir), pitch], axis=1)

    def shipped_inputs(head: Head, embeddings: list, described: np.ndarray | None = None) -> np.ndarray:
        """The shipped head (the test machines' part) reads its own 36 descriptors."""
        return likelihoods(head, embeddings, None if described is None else described[:, :-2])

    machines.row_descriptors = tagger_data.row_descriptors = train_tagger.row_descriptors = with_pitch
    machines.file_likelihoods = shipped_inputs
    return machines.main(argv)


if __name__ == "__main__":
    sys.exit(main())

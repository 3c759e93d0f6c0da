"""Generated audio and measurement helpers shared by the benchmarks."""

from __future__ import annotations

import hashlib
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100


def make_one_shots(folder: Path, n: int, seed: int = 0, min_s: float = 0.2, max_s: float = 2.0) -> list[str]:
    """N different decaying one-shots (pitch-swept sines + noise), ``min_s``-``max_s`` seconds long."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        seconds = rng.uniform(min_s, max_s)
        t = np.arange(int(seconds * SR)) / SR
        f0 = rng.uniform(40, 400)
        tone = np.sin(2 * np.pi * np.cumsum(f0 * (1 + 2 * np.exp(-t * 40))) / SR)
        y = (rng.uniform(0, 1) * tone + rng.uniform(0, 1) * rng.standard_normal(t.size)) * np.exp(
            -t * rng.uniform(3, 30)
        )
        y = 0.9 * y / np.max(np.abs(y))
        path = folder / f"shot_{i:05d}.wav"
        sf.write(path, y.astype(np.float32), SR, subtype="PCM_16")
        paths.append(str(path))
    return paths


def make_loops(folder: Path, n: int, seconds: float = 6.0, seed: int = 0) -> list[str]:
    """N drum-loop-like clips: one-shots placed on a 16-step grid at 90-150 bpm."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    shots = [sf.read(p)[0] for p in make_one_shots(folder / "_shots", 8, seed=seed + 1, max_s=0.6)]
    paths = []
    for i in range(n):
        y = np.zeros(int(seconds * SR))
        step = int(SR * 60 / rng.uniform(90, 150) / 4)
        for start in range(0, len(y), step):
            if rng.random() < 0.6:
                shot = shots[rng.integers(len(shots))] * rng.uniform(0.3, 1.0)
                end = min(len(y), start + len(shot))
                y[start:end] += shot[: end - start]
        path = folder / f"loop_{i:04d}.wav"
        sf.write(path, (0.9 * y / np.max(np.abs(y))).astype(np.float32), SR, subtype="PCM_16")
        paths.append(str(path))
    return paths


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its largest finished child) in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def percentiles(samples_ms: list[float]) -> str:
    """``p50 / p90 / p95 / p99`` of latencies in milliseconds."""
    p = np.percentile(samples_ms, [50, 90, 95, 99])
    return " / ".join(f"{v:.1f}" for v in p)


def tagged(paths: Sequence[str], cache: Path, verbose: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """The backend's analysis of each file (the shipped ``Tagger(describe=True)``): ``{path: {"embedding",
    "descriptors", "likelihoods", "tag"}}``, cached in ``cache`` by file and model; files that fail are left out."""
    from drumsamp_models import descriptors
    from drumsamp_models.tagger import Tagger

    tagger = Tagger(describe=True)
    model = tagger.head.fingerprint + (tagger.gate.fingerprint if tagger.gate else "") + descriptors.fingerprint()

    def cached(path: str) -> Path:
        st = os.stat(path)
        key = f"{os.path.abspath(path)}|{st.st_mtime_ns}|{st.st_size}|{model}|v2"
        return cache / (hashlib.sha1(key.encode()).hexdigest() + ".npz")

    cache.mkdir(parents=True, exist_ok=True)
    todo = [p for p in paths if not cached(p).exists()]
    if todo and verbose:
        print(f"tagging {len(todo)} files (cached under {cache})", file=sys.stderr)
    start = time.perf_counter()

    def progress(done: int, total: int | None, path: str) -> None:
        if verbose and done % 100 == 0:
            print(f"  {done}/{total} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)

    report = tagger.predict(todo, progress=progress)
    for path, r in report.results.items():
        likelihoods = np.array([r.likelihoods[c] for c in tagger.classes], np.float32)
        np.savez(cached(path), embedding=r.embedding, descriptors=r.descriptors, likelihoods=likelihoods, tag=r.tag)
    for path, reason in report.failed.items():
        print(f"skipped {path}: {reason}", file=sys.stderr)
    out = {}
    for p in paths:
        if cached(p).exists():
            with np.load(cached(p)) as z:
                out[p] = {k: z[k] for k in z.files}
    return out

"""k-NN at library scale: single-query latency, recall@10, index memory and the cost of adding one sound.

Synthetic 236-d vectors (the size of the default ``musicnn+descriptors`` space: 200 MusiCNN + 36 descriptors;
``--dim 200`` for the MusiCNN space) with cluster structure: one cluster per
~1000 sounds, each a random centre plus variation in its own 8-d subspace plus a little isotropic
noise. Queries are library sounds slightly perturbed. For each library size the script prints, for the
:class:`~drumsamp_models.index.LibraryIndex` as configured by default (``algorithm="auto"``) and for
plain exact BLAS search (NumPy matrix-vector product + argpartition, the alternative it was measured
against): p50 / p95 / p99 latency of one query at a time (10 nearest), recall@10 against exact search,
resident memory of the index, its file size, and the time to add (and remove) one sound.

Run: ``.venv/bin/python bench/knn.py`` (sizes 1000,10000,100000,1000000; several minutes and a few GB
of RAM at 1 000 000) or ``--sizes 1000,10000``.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from collections.abc import Callable

import faiss  # noqa: F401  (imported up front: its own start-up memory is not the index's)
import numpy as np

from drumsamp_models import descriptors
from drumsamp_models.index import LibraryIndex

DIM = 200 + len(descriptors.NAMES)
K = 10


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def clustered(n: int, dim: int = DIM, seed: int = 0, rank: int = 8) -> np.ndarray:
    """``n`` unit vectors: ~n/1000 clusters, each a centre plus variation in its own ``rank``-d subspace."""
    rng = np.random.default_rng(seed)
    n_clusters = max(10, n // 1000)
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = rng.standard_normal((n_clusters, rank, dim)).astype(np.float32) * np.float32(0.35 / np.sqrt(rank))
    which = rng.integers(0, n_clusters, n)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        w = which[start : start + 100_000]
        z = rng.standard_normal((len(w), rank)).astype(np.float32)
        noise = rng.standard_normal((len(w), dim)).astype(np.float32) * np.float32(0.05 / np.sqrt(dim))
        out[start : start + len(w)] = centres[w] + np.einsum("nr,nrd->nd", z, bases[w]) + noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def percentiles(times: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    ms = np.asarray(times) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), float(np.percentile(ms, 99))


def time_queries(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Run each query alone; return the per-query wall times and the (n_queries, K) results."""
    search(queries[0])  # warm-up
    times, results = [], []
    for q in queries:
        start = time.perf_counter()
        results.append(search(q))
        times.append(time.perf_counter() - start)
    return times, np.stack(results)


def exact_numpy(X: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Exact cosine search with one BLAS matrix-vector product (vectors are unit length)."""

    def search(q: np.ndarray) -> np.ndarray:
        sims = X @ q
        top = np.argpartition(-sims, K)[:K]
        return top[np.argsort(-sims[top])]

    return search


def recall_at_k(got: np.ndarray, want: np.ndarray) -> float:
    """Mean share of the true K nearest found."""
    return float(np.mean([len(set(g) & set(w)) / K for g, w in zip(got, want, strict=True)]))


def bench_size(n: int, n_queries: int, numpy_baseline: bool, dim: int = DIM) -> list[str]:
    """Measure one library size; returns markdown table rows."""
    X = clustered(n, dim)
    rng = np.random.default_rng(1)
    picks = rng.choice(n, n_queries, replace=False)
    queries = X[picks] + rng.standard_normal((n_queries, dim)).astype(np.float32) * np.float32(0.01 / np.sqrt(dim))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = np.stack([exact_numpy(X)(q) for q in queries])
    ids = [f"sound_{i:07d}.wav" for i in range(n)]
    rows = []

    if numpy_baseline:
        times, got = time_queries(exact_numpy(X), queries)
        p50, p95, p99 = percentiles(times)
        rows.append(
            f"| {n:>9,} | exact BLAS (NumPy) | {p50:.2f} | {p95:.2f} | {p99:.2f} | {recall_at_k(got, truth):.3f} "
            f"| {X.nbytes / 2**20:,.0f} | – | – | – | – |"
        )

    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    index = LibraryIndex().fit(X, ids)
    build_s = time.perf_counter() - start
    gc.collect()
    memory = max(rss_bytes() - before, index.memory_bytes())  # RSS delta; the estimate where RSS is noise
    label_of = {s: i for i, s in enumerate(ids)}

    def search(q: np.ndarray) -> np.ndarray:
        _, found = index.kneighbors(q, K)
        return np.array([label_of[s] if s is not None else -1 for s in found[0]])

    times, got = time_queries(search, queries)
    p50, p95, p99 = percentiles(times)
    extra = clustered(100, seed=7)
    add_times = []
    for i, vec in enumerate(extra):
        start = time.perf_counter()
        index.add(vec, [f"new_{i}.wav"])
        add_times.append(time.perf_counter() - start)
    remove_times = []
    for i in range(len(extra)):
        start = time.perf_counter()
        index.remove([f"new_{i}.wav"])
        remove_times.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        path = index.save(os.path.join(tmp, "index.npz"))
        file_mb = path.stat().st_size / 2**20
    what = f"LibraryIndex ({index.algorithm_}"
    if index.algorithm_ == "ivf":
        inner = index._index
        what += f", {inner.nlist} lists, probe {inner.nprobe}"
    rows.append(
        f"| {n:>9,} | {what}) | {p50:.2f} | {p95:.2f} | {p99:.2f} | {recall_at_k(got, truth):.3f} "
        f"| {memory / 2**20:,.0f} | {file_mb:,.0f} | {build_s:.1f} | {np.median(add_times) * 1e3:.2f} "
        f"| {np.median(remove_times) * 1e3:.2f} |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-numpy", action="store_true", help="skip the exact NumPy baseline rows")
    parser.add_argument("--dim", type=int, default=DIM, help="vector size (default: the default feature space's)")
    args = parser.parse_args()
    print(f"{args.dim}-d unit vectors, {args.queries} single queries per size, k={K}, cpus={os.cpu_count()}")
    print(
        "| sounds | search | p50 ms | p95 ms | p99 ms | recall@10 | index memory MiB | file MiB | build s "
        "| add one ms | remove one ms |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        for row in bench_size(n, args.queries, not args.no_numpy, args.dim):
            print(row, flush=True)


if __name__ == "__main__":
    main()

"""Analysis throughput of the job backends on one library, and the memory of a web process and of a worker.

One run, the same library each time, each on fresh data: (1) the default setup of ``make run`` (SQLite, gunicorn and
one local worker process), (2) PostgreSQL + Redis with 1 Celery worker, (3) the same with 2 Celery workers. Each
analysis is timed from ``GET /analyze`` to the job's ``done`` (workers warmed up first); ratios are printed since the
machine is shared. Then the RSS of the gunicorn worker (after serving the library, similar sounds, the map and the
recommendations) and of each worker process.

    .venv/bin/python -m bench.scaleout                 # 96 real drum-machine one-shots (generated ones if absent)
    .venv/bin/python -m bench.scaleout --files 48 --chunk 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import psutil
import requests

from backend.scaleout import missing_programs
from bench.common import make_one_shots
from tests.backend.conftest import PASSWORD
from tests.backend.test_restart import Server
from tests.scaleout.conftest import open_stack

REAL = Path("/work/shared/data/drum-machines")
MB = 1024 * 1024


def library(folder: Path, n: int) -> list[Path]:
    """``n`` real one-shots (sorted paths of the drum-machine recordings), else generated ones."""
    real = sorted(REAL.rglob("*.wav"))[:n] if REAL.is_dir() else []
    if len(real) == n:
        return real
    return [Path(p) for p in make_one_shots(folder / "generated", n)]


def analyse(url: str, files: list[Path]) -> tuple[float, dict[str, str]]:
    """Upload ``files``, then time their analysis (seconds) from ``GET /analyze`` to the job's end; auth headers."""
    token = requests.post(f"{url}/register", data={"mail": "bench@example.org", "password": PASSWORD}, timeout=30)
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    for i, path in enumerate(files):
        with open(path, "rb") as fh:
            answer = requests.post(
                f"{url}/upload/Bench", files={"file": (f"{i:04d}_{path.name}", fh)}, headers=headers, timeout=60
            )
        answer.raise_for_status()
    started = time.perf_counter()
    job = requests.get(f"{url}/analyze/Bench", headers=headers, timeout=30).json()["job"]
    while True:
        body = requests.get(f"{url}/jobs/{job}", headers=headers, timeout=30).json()
        if body["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    if body["state"] != "done" or body["done"] != len(files):
        raise SystemExit(f"the analysis did not complete: {body}")
    return seconds, headers


def serve_reads(url: str, headers: dict[str, str]) -> None:
    """What a user's session reads of an analysed library (the web process's working set)."""
    listing = requests.get(f"{url}/get/library/Bench", headers=headers, timeout=60).json()
    for sample in listing["samples"][:20]:
        requests.get(f"{url}/similar/Bench/{sample['name']}?n=8", headers=headers, timeout=60).raise_for_status()
    requests.put(
        f"{url}/samplefavorite/update/Bench/{listing['samples'][0]['name']}",
        json={"isFavorite": True},
        headers=headers,
        timeout=60,
    ).raise_for_status()
    for path in ("/map/Bench", "/recommendations/Bench", "/waveforms/Bench", "/search/Bench?q=a", "/duplicates/Bench"):
        requests.get(f"{url}{path}", headers=headers, timeout=60).raise_for_status()


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / MB


def wait_log(path: Path, needle: str, limit: float = 180.0) -> None:
    """Wait until ``needle`` appears in the log file (a worker warmed up and ready)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise SystemExit(f"{needle!r} never appeared in {path}")


def local_run(files: list[Path], chunk: int, root: Path) -> dict[str, float]:
    """The default setup: SQLite, gunicorn (1 worker) and one local worker process."""
    data = root / "local"
    data.mkdir()
    server = Server(data, 1, job_workers=1, ANALYSIS_CHUNK=str(chunk), ANALYSIS_PAUSE_SECONDS="0")
    try:
        wait_log(data / f"gunicorn-{server.port}.log", "takes jobs from the database")  # once the tagger is loaded
        seconds, headers = analyse(server.url, files)
        serve_reads(server.url, headers)
        children = psutil.Process(server.process.pid).children()  # gunicorn's workers and the local worker
        worker = [p for p in children if "backend.local_worker" in " ".join(p.cmdline())]
        web = [p for p in children if p not in worker]
        return {"seconds": seconds, "web": rss_mb(web[0].pid), "worker": rss_mb(worker[0].pid)}
    finally:
        server.stop()


def celery_run(files: list[Path], chunk: int, workers: int, root: Path) -> dict[str, float]:
    """PostgreSQL + Redis, ``workers`` Celery workers, gunicorn (1 worker)."""
    folder = root / f"celery{workers}"
    with open_stack(folder, ANALYSIS_CHUNK=str(chunk)) as stack:
        url = stack.start_web()
        for i in range(workers):
            stack.start_worker(f"w{i + 1}")
        for i in range(workers):
            wait_log(folder / f"w{i + 1}.log", "ready.")
        try:
            seconds, headers = analyse(url, files)
            serve_reads(url, headers)
        except Exception:
            print((folder / "gunicorn.log").read_text(errors="replace")[-6000:])  # what the web process said
            raise
        assert stack.web is not None
        web = psutil.Process(stack.web.pid).children()
        return {
            "seconds": seconds,
            "web": rss_mb(web[0].pid),
            "worker": max(rss_mb(p.pid) for p in stack.workers.values()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=96)
    parser.add_argument("--chunk", type=int, default=8, help="ANALYSIS_CHUNK: samples per chunk / Celery task")
    args = parser.parse_args()
    missing = missing_programs()
    if missing:
        raise SystemExit(f"needs Debian's {' '.join(missing)}: tools/install_debian.sh {' '.join(missing)}")
    root = Path(tempfile.mkdtemp(prefix="drumsampler-bench-scaleout-"))
    try:
        files = library(root, args.files)
        print(f"library: {len(files)} one-shots; chunk {args.chunk}; cpus={os.cpu_count()}", flush=True)
        results = {"local worker (SQLite)": local_run(files, args.chunk, root)}
        print("measured: local", flush=True)
        results["1 Celery worker (PostgreSQL)"] = celery_run(files, args.chunk, 1, root)
        print("measured: 1 Celery worker", flush=True)
        results["2 Celery workers (PostgreSQL)"] = celery_run(files, args.chunk, 2, root)
        base = results["local worker (SQLite)"]["seconds"]
        one = results["1 Celery worker (PostgreSQL)"]["seconds"]
        header = f"{'setup':32} {'seconds':>8} {'samples/s':>10} {'vs local':>9} {'vs 1 Celery':>12}"
        print(f"{header} {'web RSS':>8} {'worker RSS':>11}")
        for name, r in results.items():
            rate = len(files) / r["seconds"]
            print(
                f"{name:32} {r['seconds']:8.1f} {rate:10.2f} {base / r['seconds']:8.2f}x {one / r['seconds']:11.2f}x"
                f" {r['web']:6.0f} MB {r['worker']:8.0f} MB"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""REST API latency and throughput against gunicorn on 127.0.0.1.

Seeds a library of ``--samples`` (default 10 000) analysed samples straight into a fresh database
(the analysis results are synthetic: random 200-d embeddings and 36 descriptors stamped with the current
model's id, so that the k-NN index holds every sample; auto tags with likelihoods, custom and propagated
tags on a share of the samples; ``--favourites`` favourites with their stored recommendations and the
timbre map computed by the real services), starts ``gunicorn backend.wsgi:app``, then measures:

* latency (one client, keep-alive, sequential): p50/p90/p95/p99 of ``GET /get/library/<lib>``,
  ``POST /recommendations/<lib>`` (the design's call, with the stored favourites) and
  ``GET /recommendations/<lib>``;
* throughput with ``--clients`` (default 50) concurrent clients, each for ``--seconds``: requests/s,
  latency percentiles under load and the error count;
* last, the latency of a custom-tag edit, ``PUT /sampletag/update/<lib>/<sample>`` removing one user tag
  and giving it back in turn: each call stores the change and propagates the library's custom tags again.

Bounded and self-stopping: every phase has a fixed request count or duration, the server is stopped at
the end (or on any error). Run: ``.venv/bin/python -m bench.api [--samples 10000] [--clients 50]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import requests

from bench.common import percentiles

ROOT = Path(__file__).resolve().parents[1]
LIB = "Bench"
MAIL = "bench@example.org"
PASSWORD = "benchmark password"
CLASSES = ("Kick", "Snare", "Cymbal", "Tom", "Drumloop", "Unknown")


def seed(data_dir: Path, n_samples: int, n_favourites: int) -> list[str]:
    """Create the user, the library and its samples; returns the favourites' names."""
    from sqlalchemy import func, insert, select

    from backend import create_app, upgrade_database
    from backend.extensions import db
    from backend.models import Recommendation, Sample, SampleLibrary, SampleTag, Tag, User
    from backend.services import recommend, timbre_map
    from backend.services.auth import register
    from backend.services.tagger_model import model_id
    from backend.services.waveforms import PEAK_PAIRS, THUMB_PAIRS
    from drumsamp_models.descriptors import NAMES as DESCRIPTOR_NAMES

    app = create_app(env={"DATA_DIR": str(data_dir)})
    upgrade_database(app)
    rng = np.random.default_rng(0)
    with app.app_context():
        model = model_id()  # what the k-NN index requires of an analysed sample
        register(MAIL, PASSWORD)
        user = db.session.scalar(select(User).where(User.mail == MAIL))
        library = SampleLibrary(user_id=user.id, name=LIB, version=1, content_version=1)
        db.session.add(library)
        db.session.flush()
        rows = []
        for i in range(n_samples):
            likelihoods = rng.dirichlet(np.ones(5))
            tag = CLASSES[int(np.argmax(likelihoods))] if likelihoods.max() >= 0.6 else "Unknown"
            digest = f"{i:064x}"
            rows.append(
                {
                    "library_id": library.id,
                    "name": f"sample_{i:05d}.wav",
                    "content_hash": digest,
                    "analyzed_hash": digest,
                    "format": "WAV",
                    "size_bytes": 44144,
                    "duration": 0.5,
                    "samplerate": 44100,
                    "channels": 1,
                    "is_favorite": i < n_favourites,
                    "auto_tag": tag,
                    "auto_likelihood": float(likelihoods.max()),
                    "likelihoods": {c: float(v) for c, v in zip(CLASSES, likelihoods, strict=False)},
                    "embedding": rng.standard_normal(200).astype(np.float32).tobytes(),
                    "descriptors": rng.standard_normal(len(DESCRIPTOR_NAMES)).astype(np.float32).tobytes(),
                    "analyzed_model": model,
                    "analysis_runs": 1,
                    # synthetic waveforms, so that no analysis job is needed just to compute peaks
                    "thumb": rng.integers(-127, 128, 2 * THUMB_PAIRS, dtype=np.int8).tobytes(),
                    "peaks": rng.integers(-127, 128, 2 * PEAK_PAIRS, dtype=np.int8).tobytes(),
                }
            )
        db.session.execute(insert(Sample), rows)
        tags = [Tag(name=f"custom{i}") for i in range(20)]
        db.session.add_all(tags)
        db.session.flush()
        ids = list(db.session.scalars(select(Sample.id).where(Sample.library_id == library.id).order_by(Sample.id)))
        links = []
        for sid in ids[: n_samples // 5]:
            for tag in rng.choice(tags, size=2, replace=False):
                links.append({"sample_id": sid, "tag_id": tag.id, "source": "user", "confidence": 1.0})
        for sid in ids[n_samples // 5 : n_samples // 5 + n_samples // 10]:
            tag = tags[int(rng.integers(len(tags)))]
            links.append({"sample_id": sid, "tag_id": tag.id, "source": "propagated", "confidence": 0.6})
        db.session.execute(insert(SampleTag), links)
        db.session.commit()
        library = db.session.get(SampleLibrary, library.id)
        timbre_map.compute(library)
        recommend.refresh(library)
        stored = db.session.scalar(select(func.count()).select_from(Recommendation))
        mapped = db.session.scalar(select(func.count()).select_from(Sample).where(Sample.map_x.is_not(None)))
        if (n_favourites and not stored) or mapped != n_samples:
            raise SystemExit(f"seeding failed: {stored} stored recommendations, {mapped} samples on the map")
        db.engine.dispose()
    return [f"sample_{i:05d}.wav" for i in range(n_favourites)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "RATELIMIT_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    process = subprocess.Popen(
        [*command, "--threads", str(threads), "--log-level", "warning", "backend.wsgi:app"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/health", timeout=10).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit("gunicorn did not start")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def request(session: requests.Session, url: str, method: str, body: object) -> requests.Response:
    if method == "POST":
        return session.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=60)
    return session.get(url, timeout=60)


def latency(url: str, token: str, method: str, body: object, n: int) -> tuple[list[float], int]:
    """``n`` sequential requests after 20 warm-up ones: latencies (ms) and the number of errors."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for _ in range(20):
        request(session, url, method, body)
    times, errors = [], 0
    for _ in range(n):
        start = time.perf_counter()
        response = request(session, url, method, body)
        _ = response.content
        times.append((time.perf_counter() - start) * 1000)
        errors += response.status_code != 200
    return times, errors


def latency_uncached(
    url: str, token: str, n: int, target: str | None = None, sample: str = "sample_09999.wav", favourite: bool = False
) -> tuple[list[float], int]:
    """``target`` (default ``GET /get/library``) right after a favourite toggle of ``sample`` (a new library
    version: nothing cached); ``favourite`` is whether ``sample`` starts as a favourite."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    toggle = f"{url}/samplefavorite/update/{LIB}/{quote(sample)}"
    target = target or f"{url}/get/library/{LIB}"
    times, errors = [], 0
    for i in range(n):
        errors += session.put(toggle, json={"isFavorite": (i % 2 == 0) != favourite}, timeout=60).status_code != 200
        start = time.perf_counter()
        response = session.get(target, timeout=60)
        _ = response.content
        times.append((time.perf_counter() - start) * 1000)
        errors += response.status_code != 200
    return times, errors


def latency_tag_edit(url: str, token: str, n: int) -> tuple[list[float], int]:
    """``PUT /sampletag/update`` on a user-tagged sample, removing one of its two tags and giving it back in
    turn (each call re-propagates the library's custom tags): latencies (ms) and errors."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    target = f"{url}/sampletag/update/{LIB}/sample_00000.wav"
    listed = session.get(f"{url}/sample/{LIB}/sample_00000.wav", timeout=60).json()["tags"]
    auto = [t for t in listed if t[1] == "auto"]  # listed, so that the auto tag stays
    tags = [t[0] for t in listed if t[1] == "user"]
    times, errors = [], 0
    for i in range(n):
        body = {"tags": auto + (tags if i % 2 else tags[:1])}
        start = time.perf_counter()
        response = session.put(target, json=body, timeout=60)
        times.append((time.perf_counter() - start) * 1000)
        errors += response.status_code != 200
    return times, errors


def throughput(
    url: str, token: str, method: str, body: object, clients: int, seconds: float
) -> tuple[float, list[float], int]:
    """``clients`` threads for ``seconds``: requests/s, latencies (ms) and errors."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    barrier = threading.Barrier(clients + 1)

    def client() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine, bad = [], 0
        barrier.wait()
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            try:
                response = request(session, url, method, body)
                _ = response.content
                bad += response.status_code != 200
            except requests.RequestException:
                bad += 1
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            times.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.monotonic()
    for t in threads:
        t.join(timeout=seconds + 120)
    elapsed = time.monotonic() - began
    return len(times) / elapsed, times, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--favourites", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300, help="sequential requests per latency figure")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each throughput run")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drumsampler-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        favourites = seed(data_dir, args.samples, args.favourites)
        print(f"seeded {args.samples} samples in {time.perf_counter() - started:.1f} s")
        process, url = start_server(data_dir, args.workers, args.threads)
        try:
            token = requests.post(f"{url}/login", data={"mail": MAIL, "password": PASSWORD}, timeout=30).json()["token"]
            fav_body = [{"name": name} for name in favourites]
            cases = [
                (f"GET /get/library ({args.samples} samples)", f"{url}/get/library/{LIB}", "GET", None),
                ("POST /recommendations (stored favourites)", f"{url}/recommendations/{LIB}", "POST", fav_body),
                ("GET /recommendations (stored)", f"{url}/recommendations/{LIB}", "GET", None),
            ]
            size = len(requests.get(cases[0][1], headers={"Authorization": f"Bearer {token}"}, timeout=60).content)
            print(
                f"cpus={os.cpu_count()}, gunicorn {args.workers} workers x {args.threads} threads, "
                f"library body {size / 1024:.0f} KiB"
            )
            print()
            print("| endpoint | latency p50 / p90 / p95 / p99 (ms), 1 client | errors |")
            print("|---|---:|---:|")
            for label, target, method, body in cases:
                times, errors = latency(target, token, method, body, args.requests)
                print(f"| {label} | {percentiles(times)} | {errors} |")
            last = f"sample_{args.samples - 1:05d}.wav"  # not a favourite of the seed
            times, errors = latency_uncached(url, token, max(20, args.requests // 5), sample=last)
            label = f"GET /get/library ({args.samples} samples), first read after a change"
            print(f"| {label} | {percentiles(times)} | {errors} |")
            print()
            print(f"| endpoint | {args.clients} clients: requests/s | latency p50 / p90 / p95 / p99 (ms) | errors |")
            print("|---|---:|---:|---:|")
            for label, target, method, body in cases:
                rate, times, errors = throughput(target, token, method, body, args.clients, args.seconds)
                print(f"| {label} | {rate:.0f} | {percentiles(times)} | {errors} |")
            print()
            print("| endpoint | latency p50 / p90 / p95 / p99 (ms), 1 client | errors |")
            print("|---|---:|---:|")
            times, errors = latency_tag_edit(url, token, max(20, args.requests // 5))
            label = f"PUT /sampletag/update, a user tag removed / given back (re-propagates {args.samples} samples)"
            print(f"| {label} | {percentiles(times)} | {errors} |")
        finally:
            stop_server(process)


if __name__ == "__main__":
    main()

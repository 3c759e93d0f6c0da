"""Search latency (``GET /search/<lib>``) against gunicorn on 127.0.0.1, beside ``GET /get/library``.

Seeds a library of ``--samples`` (default 10 000) analysed samples the way ``bench/api.py`` does (its ``seed``:
auto tags with likelihoods, 20 custom tags on 30 % of the samples, favourites), then files them into folders
(``Pack 07/Kit 12/snare_00345.wav``: 25 packs of 20 kits, a dozen instrument words) and gives them distinct
durations, sizes and dates. Then, one client, keep-alive, sequential:

* every query of a mix (words, excluded words, phrases, tag prefixes, every filter, every sort key, deep pages,
  the largest page): p50 / p95 per query after 20 warm-up requests, and over the whole mix;
* the first search after a change (a favourite toggled just before: the library's search index is rebuilt);
* ``GET /get/library`` in the same two states, for reference;

and, in this process, the time to build the search index and the memory it holds.

Bounded and self-stopping; the server is stopped at the end or on any error.
Run: ``.venv/bin/python -m bench.search [--samples 10000] [--requests 200]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import requests

from bench.api import LIB, MAIL, PASSWORD, latency, latency_uncached, seed, start_server, stop_server
from bench.common import percentiles

WORDS = ("kick", "snare", "hat", "tom", "clap", "rim", "crash", "ride", "loop", "perc", "fx", "shaker")
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("first page, no parameters", {}),
    ("q=kick", {"q": "kick"}),
    ("q=snare pack 07 -rim", {"q": "snare pack 07 -rim"}),
    ('q="kit 03/clap"', {"q": '"kit 03/clap"'}),
    ("q=custom1 (a tag prefix)", {"q": "custom1"}),
    ("q=wav (matches all), sort=-size, offset=5000", {"q": "wav", "sort": "-size", "offset": "5000"}),
    ("q=zzz (no match)", {"q": "zzz"}),
    ("class=Kick, sort=-confidence", {"class": "Kick", "sort": "-confidence"}),
    ("class=Tom,Cymbal & favorite=false, sort=name", {"class": "Tom,Cymbal", "favorite": "false", "sort": "name"}),
    ("folder=Pack 03, sort=duration", {"folder": "Pack 03", "sort": "duration"}),
    ("tag=custom3 & analysed=true, sort=-added", {"tag": "custom3", "analysed": "true", "sort": "-added"}),
    ("favorite=true", {"favorite": "true"}),
    ("q=hat -custom, sort=class, limit=1000", {"q": "hat -custom", "sort": "class", "limit": "1000"}),
    ("sort=-added, limit=1000 (largest page)", {"sort": "-added", "limit": "1000"}),
]


def file_into_folders(data_dir: Path) -> None:
    """Give the seeded samples folder paths and distinct durations, sizes and dates."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import bindparam, select, update

    from backend import create_app
    from backend.extensions import db
    from backend.models import Sample, SampleLibrary

    rng = np.random.default_rng(1)
    app = create_app(env={"DATA_DIR": str(data_dir)})
    with app.app_context():
        ids = list(db.session.scalars(select(Sample.id).order_by(Sample.id)))
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows = []
        for i, sid in enumerate(ids):
            duration = float(rng.uniform(0.05, 8.0))
            rows.append(
                {
                    "sid": sid,
                    "name": f"Pack {i % 25:02d}/Kit {i // 25 % 20:02d}/{WORDS[i % len(WORDS)]}_{i:05d}.wav",
                    "duration": duration,
                    "size_bytes": int(44 + duration * 88200),
                    "created_at": start + timedelta(seconds=int(rng.integers(0, 10**7))),
                }
            )
        statement = (
            update(Sample)
            .where(Sample.id == bindparam("sid"))
            .values(
                name=bindparam("name"),
                duration=bindparam("duration"),
                size_bytes=bindparam("size_bytes"),
                created_at=bindparam("created_at"),
            )
        )
        db.session.connection().execute(statement, rows)
        db.session.execute(update(SampleLibrary).values(version=SampleLibrary.version + 1))
        db.session.commit()
        db.engine.dispose()


def index_cost(data_dir: Path) -> tuple[float, float, int]:
    """Build the search index in this process: the best of 5 builds (ms), the memory it holds (MiB), its rows."""
    from sqlalchemy import select

    from backend import create_app
    from backend.extensions import db
    from backend.models import SampleLibrary
    from backend.services import search
    from backend.services.gc_pause import no_cycle_collection

    app = create_app(env={"DATA_DIR": str(data_dir)})
    with app.app_context():
        library = db.session.scalar(select(SampleLibrary).where(SampleLibrary.name == LIB))
        times = []
        for _ in range(5):
            started = time.perf_counter()
            with no_cycle_collection():
                index = search.build_index(library)
            times.append((time.perf_counter() - started) * 1000)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        index = search.build_index(library)
        for sort in search.SORT_KEYS:  # the orders a search computes once per index
            index.order(sort, False)
            index.order(sort, True)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        rows = len(index.paths)
        db.engine.dispose()
    return min(times), held / 2**20, rows


KICK_0 = "Pack 00/Kit 00/kick_00000.wav"  # a favourite of the seed (its first sample), filed into its folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--favourites", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200, help="sequential requests per query")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drumsampler-bench-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        seed(data_dir, args.samples, args.favourites)
        file_into_folders(data_dir)
        print(f"seeded {args.samples} samples in folders in {time.perf_counter() - started:.1f} s")
        build_ms, held_mib, rows = index_cost(data_dir)
        process, url = start_server(data_dir, args.workers, args.threads)
        try:
            token = requests.post(f"{url}/login", data={"mail": MAIL, "password": PASSWORD}, timeout=30).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            listing_url = f"{url}/get/library/{LIB}"
            print(
                f"cpus={os.cpu_count()}, gunicorn {args.workers} workers x {args.threads} threads; search index of "
                f"{rows} samples: built in {build_ms:.0f} ms, holds {held_mib:.1f} MiB (with its sort orders)"
            )
            print()
            print(f"| request ({args.samples} samples) | matches | KiB | latency p50 / p90 / p95 / p99 (ms) | errors |")
            print("|---|---:|---:|---:|---:|")
            mix: list[float] = []
            for label, params in QUERIES:
                target = f"{url}/search/{LIB}?{urlencode(params)}"
                response = requests.get(target, headers=auth, timeout=60)
                if response.status_code != 200:
                    raise SystemExit(f"{label}: {response.status_code} {response.text[:200]}")
                times, errors = latency(target, token, "GET", None, args.requests)
                mix.extend(times)
                size = len(response.content) / 1024
                total = response.json()["total"]
                print(f"| GET /search: {label} | {total} | {size:.0f} | {percentiles(times)} | {errors} |")
            print(f"| **GET /search: the mix above** | | | **{percentiles(mix)}** | |")
            times, errors = latency(listing_url, token, "GET", None, args.requests)
            size = len(requests.get(listing_url, headers=auth, timeout=60).content) / 1024
            print(f"| GET /get/library (reference) | {args.samples} | {size:.0f} | {percentiles(times)} | {errors} |")
            n = max(20, args.requests // 5)
            first = f"{url}/search/{LIB}?{urlencode({'q': 'snare pack 07 -rim'})}"
            times, errors = latency_uncached(url, token, n, first, KICK_0, favourite=True)
            label = "GET /search (q=snare pack 07 -rim), first read after a change"
            print(f"| {label} | | | {percentiles(times)} | {errors} |")
            times, errors = latency_uncached(url, token, n, listing_url, KICK_0, favourite=True)
            print(f"| GET /get/library, first read after a change (reference) | | | {percentiles(times)} | {errors} |")
            mix_p95 = float(np.percentile(mix, 95))
            print()
            print(f"search p95 over the mix at {args.samples} samples: {mix_p95:.1f} ms")
        finally:
            stop_server(process)


if __name__ == "__main__":
    main()

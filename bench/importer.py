"""Import from the server's disk: throughput and peak memory of ``flask --app backend drumsampler import``.

Generates ``--files`` (default 5 000) different one-shots of 0.1-1 s in a nested tree (``Kit_NN/<category>/``,
the same base names in every kit; 80 % 16-bit mono WAV, 10 % 24-bit stereo WAV, 10 % FLAC), registers a user in
a fresh ``DATA_DIR`` and runs the import command in a child process three ways: the first import (every file
hashed, decoded, stored and recorded), the same command again (every file hashed and found unchanged: nothing
decoded, nothing stored) and, after a fresh ``DATA_DIR``, an import killed with SIGKILL half-way and its resumption.
For each run it prints the files per second measured by the command itself (walk and clean-up included,
interpreter start excluded), the wall time of the process and its peak RSS (``wait4``).

Run: ``.venv/bin/python -m bench.importer [--files 5000]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.common import SR

ROOT = Path(__file__).resolve().parents[1]
LIB = "Imported"
MAIL = "bench@example.org"
PASSWORD = "benchmark password"
CATEGORIES = ("Kicks", "Snares", "Hats", "Toms")
RATE = re.compile(r"(\d+) file\(s\) in ([\d.]+) s \((\d+) files/s\)")


def make_tree(root: Path, n: int, seed: int = 0) -> int:
    """``n`` different one-shots under ``root``; returns their total size in bytes."""
    rng = np.random.default_rng(seed)
    per_kit = len(CATEGORIES) * 25
    total = 0
    for i in range(n):
        kit, rest = divmod(i, per_kit)
        category, k = divmod(rest, 25)
        seconds = rng.uniform(0.1, 1.0)
        t = np.arange(int(seconds * SR)) / SR
        f0 = rng.uniform(40, 400)
        tone = np.sin(2 * np.pi * np.cumsum(f0 * (1 + 2 * np.exp(-t * 40))) / SR)
        y = (rng.uniform(0, 1) * tone + rng.uniform(0.05, 1) * rng.standard_normal(t.size)) * np.exp(
            -t * rng.uniform(3, 30)
        )
        y = (0.9 * y / np.max(np.abs(y))).astype(np.float32)
        base = root / f"Kit_{kit:02d}" / CATEGORIES[category] / f"{CATEGORIES[category][:-1].lower()}_{k:02d}"
        base.parent.mkdir(parents=True, exist_ok=True)
        if i % 10 == 8:
            path = base.with_suffix(".wav")
            sf.write(path, np.stack([y, y[::-1]], axis=1), SR, subtype="PCM_24")
        elif i % 10 == 9:
            path = base.with_suffix(".flac")
            sf.write(path, y, SR, subtype="PCM_16")
        else:
            path = base.with_suffix(".wav")
            sf.write(path, y, SR, subtype="PCM_16")
        total += path.stat().st_size
    return total


def fresh_data_dir(data_dir: Path) -> None:
    """A migrated database with the benchmark's user in ``data_dir``."""
    from backend import create_app, upgrade_database
    from backend.extensions import db
    from backend.services.auth import register

    shutil.rmtree(data_dir, ignore_errors=True)
    app = create_app(env={"DATA_DIR": str(data_dir), "RATELIMIT_ENABLED": "false"})
    upgrade_database(app)
    with app.app_context():
        register(MAIL, PASSWORD)
        db.engine.dispose()


def sample_count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "drumsampler.db", timeout=30) as connection:
        return connection.execute("SELECT count(*) FROM sample").fetchone()[0]


def run_import(data_dir: Path, tree: Path, kill_after: int | None = None) -> dict[str, object]:
    """Run the import command in a child; with ``kill_after``, SIGKILL it once that many samples are stored."""
    env = {**os.environ, "DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "flask", "--app", "backend", "drumsampler", "import", str(tree)]
    cmd += ["--user", MAIL, "--library", LIB, "--no-analyse"]
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.DEVNULL)
        if kill_after is not None:
            while process.poll() is None:
                try:
                    if sample_count(data_dir) >= kill_after:
                        process.send_signal(signal.SIGKILL)
                        break
                except sqlite3.OperationalError:
                    pass
                time.sleep(0.05)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    match = RATE.search(text)
    summary = next((line for line in text.splitlines() if "-> library" in line), "")
    cleaned = next((line for line in text.splitlines() if line.startswith("left by an interrupted run")), "")
    return {
        "code": process.returncode,
        "wall": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "files": int(match.group(1)) if match else None,
        "seconds": float(match.group(2)) if match else None,
        "rate": int(match.group(3)) if match else None,
        "summary": summary.split(": ", 1)[-1],
        "cleaned": cleaned,
        "output": text,
    }


def row(what: str, r: dict[str, object]) -> str:
    rate = f"{r['rate']}" if r["rate"] is not None else "–"
    seconds = f"{r['seconds']:.1f}" if r["seconds"] is not None else "–"
    return f"| {what} | {rate} | {seconds} | {r['wall']:.1f} | {r['rss_mb']:.0f} | {r['summary'] or 'killed'} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--workdir", type=Path, default=None, help="where to generate (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-", dir=args.workdir) as tmp:
        work = Path(tmp)
        tree, data_dir = work / "Samples", work / "data"
        started = time.perf_counter()
        size = make_tree(tree, args.files)
        print(
            f"generated {args.files} one-shots (0.1-1 s, 80 % WAV 16-bit mono, 10 % WAV 24-bit stereo, 10 % FLAC), "
            f"{size / 1e6:.0f} MB in {len(list(tree.iterdir()))} kit folders, in {time.perf_counter() - started:.1f} s"
        )
        fresh_data_dir(data_dir)
        first = run_import(data_dir, tree)
        second = run_import(data_dir, tree)
        fresh_data_dir(data_dir)
        killed = run_import(data_dir, tree, kill_after=args.files // 2)
        at = sample_count(data_dir)
        resumed = run_import(data_dir, tree)
        stored = sample_count(data_dir)
        leftovers = list((data_dir / "tmp").iterdir()) if (data_dir / "tmp").exists() else []
        for r in (first, second, resumed):
            if r["code"] != 0:
                print(r["output"], file=sys.stderr)
                raise SystemExit(f"the import failed with status {r['code']}")
        print(f"cpus={os.cpu_count()}, SQLite in DATA_DIR, one process, analysis not queued (--no-analyse)")
        print()
        print("| run | files/s (command) | import s | process wall s | peak RSS MB | outcome |")
        print("|---|---:|---:|---:|---:|---|")
        print(row("first import (hash, decode, store, record)", first))
        print(row("same command again (all unchanged)", second))
        print(row(f"fresh import killed (SIGKILL) at {at} samples", killed))
        print(row("the same command after the kill (resumes)", resumed))
        print()
        print(
            f"after the resumption: {stored} samples stored of {args.files}, "
            f"{len(leftovers)} file(s) left in DATA_DIR/tmp; the resumption said: "
            f"{resumed['cleaned'] or 'nothing left behind by the kill'}"
        )


if __name__ == "__main__":
    main()

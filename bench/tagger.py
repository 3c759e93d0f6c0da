"""End-to-end tagging throughput (decode + mel + MusiCNN + head) and peak memory.

One-shots (0.2-2 s) and 6 s drum loops, generated; the shipped head and the default batch size. First the
design's rule alone (``gate=False``: no descriptors measured), then the default ``Tagger()``, whose non-drum
gate needs the 36 descriptors of each sound, and ``describe=True`` (the descriptors returned too: what the
server runs); last, for comparison, ``batch_size=8`` (faster, more memory: its rows come after the peak RSS of the
default ones); with a head that reads a fine-tuned tag branch or a second model's embedding, the shipped head
(MTT_musicnn alone) and the default again, side by side.
Run: ``.venv/bin/python -m bench.tagger [--files 500] [--loops 100] [--head HEAD.npz]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import make_loops, make_one_shots, peak_rss_mb
from drumsamp_models.tagger import Head, Tagger


def run(tagger: Tagger, files: list[str], label: str) -> None:
    rss_marks: list[str] = []

    def progress(done: int, total: int | None, path: str) -> None:
        if done in (len(files) // 5, len(files)):
            rss_marks.append(f"{done}: {peak_rss_mb():.0f} MB")

    start = time.perf_counter()
    report = tagger.predict(files, progress=progress)
    elapsed = time.perf_counter() - start
    assert not report.failed, report.failed
    print(f"| {label} | {len(files)} | {len(files) / elapsed:.1f} | {elapsed:.1f} | {', '.join(rss_marks)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--loops", type=int, default=100)
    parser.add_argument("--head", help="a head .npz to run instead of the shipped one (e.g. one with a tag branch)")
    args = parser.parse_args()
    head = Head.load(args.head) if args.head else None
    with tempfile.TemporaryDirectory() as tmp:
        shots = make_one_shots(Path(tmp) / "shots", args.files)
        loops = make_loops(Path(tmp) / "loops", args.loops)
        tagger = Tagger(gate=False, head=head)
        tagger.predict(shots[:4])  # warm-up: builds the network, compiles the graph
        trim = tagger.embedder.trim_silence
        print(f"cpus={os.cpu_count()}, batch size {tagger.batch_size}, trim_silence={trim}, {tagger.front_end}")
        print("| what | files | files/s | seconds | peak RSS after n files |")
        print("|---|---:|---:|---:|---|")
        run(tagger, shots, "one-shots 0.2-2 s, no gate")
        run(tagger, loops, "loops 6 s, no gate")
        gated = Tagger(head=head)
        run(gated, shots, "one-shots 0.2-2 s, with the gate (default)")
        run(gated, loops, "loops 6 s, with the gate (default)")
        describing = Tagger(describe=True, head=head)
        run(describing, shots, "one-shots 0.2-2 s, gate + descriptors returned (server)")
        print(f"peak RSS with the default batch size: {peak_rss_mb():.0f} MB")
        batched = Tagger(batch_size=8, head=head)
        run(batched, shots, "one-shots 0.2-2 s, with the gate, batch size 8")
        run(batched, loops, "loops 6 s, with the gate, batch size 8")
        if head is not None and (head.branch is not None or head.extra_embeddings):
            # What a tag branch or a second embedding costs: the shipped head (MTT_musicnn alone), side by side.
            shipped = Tagger()
            shipped.predict(shots[:4])
            run(shipped, shots, "one-shots 0.2-2 s, with the gate, the shipped head (MTT_musicnn alone)")
            run(gated, shots, "one-shots 0.2-2 s, with the gate (default), again")
        print(f"peak RSS of the whole run: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()

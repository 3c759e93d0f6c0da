"""Near-duplicate detection on real drum recordings: pair precision and recall, and the time to group 10 000 sounds.

Data: the real one-shots of ``/work/shared/data/drum-machines`` (drum machines, an acoustic kit, orchestral
percussion: the test set, as the issue asks) and, never looked at while ``drumsamp_models.duplicates`` was made,
the drums and latin percussion of the Debian package ``lmms-common``. The threshold and the method's settings were
chosen with ``--calibrate`` on the Hydrogen drum kits (``hydrogen-drumkits``, ``hydrogen-data``: many velocity
layers). Every file that decodes with the upload's checks is an original (OGG/Opus too); half of them (a fixed
draw) get two variants each, written as real files with two different transformations: gain -6 dB or up to
+6 dB, resampled to 48 (or 44.1) or 22.05 kHz, MP3 and OGG/Vorbis re-encodes (libsndfile), trimmed silence, the
first 3 ms cut, 24-bit FLAC, 16-bit AIFF, a mono mix of a stereo file (a dual-mono copy of a mono one), and a chain
(22.05 kHz, MP3, -3 dB). Each file is fingerprinted as the server does it at upload (``audio.scan`` with a
``duplicates.Fingerprinter`` sink).

A pair is a duplicate when both files come from the same original, or when the two originals are the same recording
(one is a scaled copy of the other at the files' rate, at some lag, over the part both hold, residual below -30 dB:
some kits make their velocity layers that way, some share recordings, some trim them). Every other pair is
distinct; pairs of originals in one kit folder (velocity layers, round robins, other drums of the same machine) are
the hard ones. Precision and recall count pairs: those the threshold accepts (``duplicate_pairs``) and those that
end up in one group (``find_duplicate_groups``).

Run: ``.venv/bin/python bench/duplicates_quality.py`` (test sets and timing, a few minutes);
``--calibrate`` sweeps the threshold on the Hydrogen kits; ``--quality-only``, ``--timing-only``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from drumsamp_models import audio, duplicates
from drumsamp_models.errors import AudioError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DRUM_MACHINES = Path(os.environ.get("DRUM_MACHINES", "/work/shared/data/drum-machines"))
LMMS = Path("/usr/share/lmms/samples")
HYDROGEN = (Path("/usr/share/hydrogen/data/drumkits"),)
EXTENSIONS = (".wav", ".aif", ".aiff", ".flac", ".ogg", ".mp3")
TRANSFORMS = (
    "gain -6 dB",
    "gain +6 dB",
    "resampled 48/44.1 kHz",
    "resampled 22.05 kHz",
    "MP3",
    "OGG/Vorbis",
    "silence trimmed",
    "first 3 ms cut",
    "FLAC 24-bit",
    "AIFF 16-bit",
    "mono/stereo",
    "22.05 kHz + MP3 + -3 dB",
)
SEED = 20
COPY_RESIDUAL_DB = -30.0


@dataclass(frozen=True)
class Item:
    """One file of the benchmark: its path, the original it comes from, its kit folder and how it was made."""

    path: str
    origin: int
    kit: str
    transform: str  # "original" or one of TRANSFORMS


def originals(roots: list[Path]) -> list[Path]:
    """Every audio file under ``roots`` (sorted) that decodes with the upload's checks (OGG/Opus, which the upload
    refuses as a container, included: its sounds are what matter here)."""
    found = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() in EXTENSIONS and path.is_file():
                try:
                    audio.scan(path, max_duration=60.0)
                except AudioError:
                    continue
                found.append(path)
    return found


def _write(path: Path, y: np.ndarray, sr: int, fmt: str, subtype: str, **kw: float) -> Path:
    sf.write(str(path), y, sr, format=fmt, subtype=subtype, **kw)
    return path


def _clip(y: np.ndarray) -> np.ndarray:
    """The signal clipped to [-1, 1] (what a fixed-point file can hold)."""
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def make_variant(y: np.ndarray, sr: int, transform: str, out: Path) -> Path:
    """Write ``transform`` of the (frames, channels) signal ``y`` to a file named after ``out`` (no extension)."""
    peak = float(np.max(np.abs(y))) or 1.0
    mp3_rate = sr if sr in (32000, 44100, 48000, 22050, 24000, 16000) else 48000
    if transform == "gain -6 dB":
        return _write(out.with_suffix(".wav"), _clip(y * 0.5), sr, "WAV", "PCM_16")
    if transform == "gain +6 dB":
        return _write(out.with_suffix(".wav"), _clip(y * min(2.0, 0.99 / peak)), sr, "WAV", "PCM_16")
    if transform == "resampled 48/44.1 kHz":
        rate = 44100 if sr == 48000 else 48000
        return _write(out.with_suffix(".wav"), _clip(soxr.resample(y, sr, rate)), rate, "WAV", "PCM_16")
    if transform == "resampled 22.05 kHz":
        return _write(out.with_suffix(".wav"), _clip(soxr.resample(y, sr, 22050)), 22050, "WAV", "PCM_16")
    if transform == "MP3":
        z = y if mp3_rate == sr else soxr.resample(y, sr, mp3_rate)
        return _write(out.with_suffix(".mp3"), _clip(z), mp3_rate, "MP3", "MPEG_LAYER_III", compression_level=0.3)
    if transform == "OGG/Vorbis":
        return _write(out.with_suffix(".ogg"), _clip(y), sr, "OGG", "VORBIS")
    if transform == "silence trimmed":
        loud = np.flatnonzero(np.max(np.abs(y), axis=1) > peak * 1e-3)
        return _write(out.with_suffix(".wav"), y[loud[0] : loud[-1] + 1], sr, "WAV", "PCM_24")
    if transform == "first 3 ms cut":
        return _write(out.with_suffix(".wav"), y[int(0.003 * sr) :], sr, "WAV", "PCM_24")
    if transform == "FLAC 24-bit":
        return _write(out.with_suffix(".flac"), _clip(y), sr, "FLAC", "PCM_24")
    if transform == "AIFF 16-bit":
        return _write(out.with_suffix(".aiff"), _clip(y), sr, "AIFF", "PCM_16")
    if transform == "mono/stereo":
        z = y.mean(axis=1, keepdims=True) if y.shape[1] > 1 else np.repeat(y, 2, axis=1)
        return _write(out.with_suffix(".wav"), _clip(z), sr, "WAV", "PCM_16")
    if transform == "22.05 kHz + MP3 + -3 dB":
        z = soxr.resample(y, sr, 22050) * 10 ** (-3 / 20)
        return _write(out.with_suffix(".mp3"), _clip(z), 22050, "MP3", "MPEG_LAYER_III", compression_level=0.3)
    raise ValueError(transform)


def build(files: list[Path], folder: Path, seed: int = SEED) -> list[Item]:
    """The originals and, for a fixed half of them, two variants each with different transformations."""
    rng = np.random.default_rng(seed)
    chosen = set(rng.choice(len(files), size=len(files) // 2, replace=False).tolist())
    cycle = list(TRANSFORMS)
    rng.shuffle(cycle)
    turn = 0
    items = [Item(str(path), n, str(path.parent), "original") for n, path in enumerate(files)]
    for n, path in enumerate(files):
        if n not in chosen:
            continue
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
        picked: list[str] = []
        while len(picked) < 2:
            transform = cycle[turn % len(cycle)]
            turn += 1
            if transform not in picked:
                picked.append(transform)
        for k, transform in enumerate(picked):
            variant = make_variant(y, sr, transform, folder / f"{n:05d}-{k}")
            items.append(Item(str(variant), n, str(path.parent), transform))
    return items


def fingerprint_file(path: str) -> np.ndarray:
    """The fingerprint as the server makes it: during the upload's validating decode."""
    sink = duplicates.Fingerprinter()
    audio.scan(path, max_duration=60.0, sink=sink)
    return sink.result()


def _scaled_copy(ya: np.ndarray, yb: np.ndarray) -> bool:
    """Whether one signal is a scaled copy of the other at some lag, over the part both hold (at least half of the
    shorter): residual below ``COPY_RESIDUAL_DB``."""
    size = 1 << int(np.ceil(np.log2(len(ya) + len(yb))))
    corr = np.fft.irfft(np.fft.rfft(ya, size) * np.conj(np.fft.rfft(yb, size)), size)
    lag = int(np.argmax(np.abs(corr)))
    lag = lag - size if lag > size // 2 else lag
    xa, xb = ya[max(lag, 0) :], yb[max(-lag, 0) :]
    m = min(len(xa), len(xb))
    if m < min(len(ya), len(yb)) // 2:
        return False
    xa, xb = xa[:m], xb[:m]
    gain = float(xa @ xb) / max(float(xa @ xa), 1e-20)
    rest = float(np.sum((xb - gain * xa) ** 2)) / max(float(xb @ xb), 1e-20)
    return bool(10 * np.log10(rest + 1e-20) < COPY_RESIDUAL_DB)


def gain_copies(files: list[Path]) -> list[tuple[int, int]]:
    """Pairs of originals (any folders, same rate) where one is a scaled copy of the other at some lag, perhaps
    shorter or longer (kits that make velocity layers by scaling, or share recordings): residual below -30 dB.

    Only pairs whose first second, decimated to 4 kHz, correlates at 0.9 or more are checked in full."""
    signals = [audio.load_with_rate(path, None) for path in files]
    coarse = []
    for y, sr in signals:
        head = audio.resample(y[:sr], sr, 4000).astype(np.float64)
        coarse.append(np.fft.rfft(head / max(float(np.linalg.norm(head)), 1e-12), 8192))
    copies = []
    for a, b in itertools.combinations(range(len(files)), 2):
        (ya, ra), (yb, rb) = signals[a], signals[b]
        if ra != rb or max(len(ya), len(yb)) > 2 * min(len(ya), len(yb)):
            continue
        if np.max(np.abs(np.fft.irfft(coarse[a] * np.conj(coarse[b]), 8192))) < 0.9:
            continue
        if _scaled_copy(ya.astype(np.float64), yb.astype(np.float64)):
            copies.append((a, b))
    return copies


def truth(items: list[Item], copies: list[tuple[int, int]]) -> list[int]:
    """Each item's recording: originals joined by ``copies`` count as one."""
    parent = list(range(max(i.origin for i in items) + 1))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in copies:
        parent[root(b)] = root(a)
    return [root(i.origin) for i in items]


def evaluate(name: str, roots: list[Path], thresholds: list[float] | None = None) -> None:
    """Print pair precision and recall on ``roots``' sounds and their variants."""
    files = originals(roots)
    with tempfile.TemporaryDirectory(prefix="dup-bench-") as tmp:
        start = time.perf_counter()
        items = build(files, Path(tmp))
        made = time.perf_counter() - start
        start = time.perf_counter()
        fps = [fingerprint_file(item.path) for item in items]
        took = time.perf_counter() - start
    copies = gain_copies(files)
    recording = truth(items, copies)
    n = len(items)
    positives = {(i, j) for i, j in itertools.combinations(range(n), 2) if recording[i] == recording[j]}
    hard = {
        (i, j)
        for i, j in itertools.combinations(range(n), 2)
        if items[i].transform == items[j].transform == "original"
        and items[i].kit == items[j].kit
        and recording[i] != recording[j]
    }
    variants = Counter(item.transform for item in items if item.transform != "original")
    print(
        f"\n== {name}: {len(files)} originals in {len({i.kit for i in items})} folders, "
        f"{n - len(files)} variants ({made:.0f} s to write), {n} files, {n * (n - 1) // 2} pairs"
    )
    print(
        f"   duplicate pairs: {len(positives)} (of which {len(copies)} pairs of originals that are gain copies); "
        f"hard negatives (two originals of one folder): {len(hard)}"
    )
    print(f"   fingerprints: {took / n * 1000:.1f} ms per file (decode included), {len(fps[0])} bytes each")
    print("   variants: " + ", ".join(f"{t} {variants[t]}" for t in TRANSFORMS))
    for threshold in thresholds or [duplicates.DEFAULT_THRESHOLD]:
        start = time.perf_counter()
        pairs = duplicates.duplicate_pairs(fps, threshold)
        grouping = time.perf_counter() - start
        found = {(i, j) for i, j, _ in pairs}
        grouped = set()
        for members, _ in duplicates.groups_from_pairs(n, pairs):
            grouped.update(itertools.combinations(sorted(members), 2))
        for label, predicted in (("pairs ", found), ("groups", grouped)):
            tp = len(predicted & positives)
            precision = tp / len(predicted) if predicted else 1.0
            recall = tp / len(positives) if positives else 1.0
            wrong_hard = len(predicted & hard)
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            print(
                f"   threshold {threshold:.2f} {label}: precision {precision:.3f} ({tp}/{len(predicted)}), "
                f"recall {recall:.3f} ({tp}/{len(positives)}), F1 {f1:.3f}, hard negatives accepted {wrong_hard}"
                + (f"  [{grouping:.1f} s]" if label == "pairs " else "")
            )
        if threshold == duplicates.DEFAULT_THRESHOLD or thresholds is None:
            per = Counter()
            hit = Counter()
            for i, item in enumerate(items):
                if item.transform == "original":
                    continue
                first = next(k for k, other in enumerate(items) if other.origin == item.origin)
                per[item.transform] += 1
                hit[item.transform] += (first, i) in found
            print("   recall of original-variant pairs: " + ", ".join(f"{t} {hit[t]}/{per[t]}" for t in TRANSFORMS))
            scores = {(i, j): s for i, j, s in pairs}
            for i, j in sorted(found - positives, key=lambda p: -scores[p])[:12]:
                print(f"   false: {scores[(i, j)]:.3f} {_short(items[i])}  ~  {_short(items[j])}")
            for i, j in sorted(positives - found)[:12]:
                score = duplicates.similarity(fps[i], fps[j])
                print(f"   missed: {score:.3f} {_short(items[i])}  ~  {_short(items[j])}")


def _short(item: Item) -> str:
    path = Path(item.path)
    label = path.name if item.transform == "original" else f"variant of #{item.origin} ({item.transform})"
    return f"{Path(item.kit).name}/{label}" if item.transform == "original" else label


def timing(roots: list[Path], n: int = 10_000) -> None:
    """Fingerprints of ``n`` distinct sounds (the originals and copies played 6-19 % faster or slower), grouped."""
    fps: list[np.ndarray] = []
    start = time.perf_counter()
    for path in originals(roots):
        y, sr = audio.load_with_rate(path, None)
        for ratio in (1.0, 0.84, 0.89, 0.94, 1.06, 1.12, 1.19):
            fps.append(duplicates.fingerprint(y, round(sr * ratio)))
        if len(fps) >= n:
            break
    fps = fps[:n]
    made = time.perf_counter() - start
    start = time.perf_counter()
    groups = duplicates.find_duplicate_groups(fps)
    took = time.perf_counter() - start
    print(
        f"\n== grouping {len(fps)} fingerprints ({made:.0f} s to make): {took:.1f} s, "
        f"{len(groups)} groups of {sum(map(len, groups))} sounds"
    )


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calibrate", action="store_true", help="sweep the threshold on the Hydrogen kits")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--quality-only", action="store_true")
    args = parser.parse_args()
    if args.calibrate:
        evaluate("Hydrogen kits (calibration)", list(HYDROGEN), [0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98])
        return
    if not args.timing_only:
        evaluate("drum-machines (test)", [DRUM_MACHINES])
        evaluate("lmms-common drums and latin (test, never looked at)", [LMMS / "drums", LMMS / "latin"])
    if not args.quality_only:
        timing([DRUM_MACHINES, *HYDROGEN, LMMS / "drums", LMMS / "latin"])


if __name__ == "__main__":
    main()

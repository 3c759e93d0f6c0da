"""Loop-tempo accuracy (``drumsamp_models.tempo.estimate_bpm``): the share of loops within ±2 % of the true tempo;
half, double and other octave errors count as wrong.

Data the ranker never saw (it is fitted by ``tools/fit_tempo.py`` on the train and val kits and patterns):

(a) Rendered loops of known tempo (``tools.dataset.tempo_loops``: the drum dataset's loop renderer; human-written
    Hydrogen patterns and our own grooves on real one-shots, tempo uniform in 70-180 BPM whatever the pattern,
    swing none / the song's / random 0.1-0.5, 1, 2 or 4 bars):
    - ``test kits``: the test split's kits (ForzeeStereo, LMMS) playing the test split's patterns;
    - ``drum machines``: the test patterns on the ten drum machines and the studio kit of
      ``/work/shared/data/drum-machines`` (no dataset split holds them).
(b) Real loops from Debian packages (``sonic-pi-samples``, ``lmms-common``) whose tempo could be established
    without the estimator; ``REAL`` says how for each. The four Sonic Pi loops of the 97-BPM set that the tagger
    calls ``Unknown`` (so the app gives them no tempo) are listed apart.

Run: ``.venv/bin/python bench/tempo_quality.py`` (about a minute; no cache). librosa's ``feature.tempo`` (its
default prior) is shown beside as a baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drumsamp_models import audio, tempo
from tools.dataset.tempo_loops import render_drum_machine_loops, render_split_loops

TOLERANCE = 0.02
SONIC_PI = Path("/usr/share/sonic-pi/samples")
LMMS = Path("/usr/share/lmms/samples/beats")


@dataclass(frozen=True)
class RealLoop:
    """A real loop, how its tempo is known, and that tempo (BPM) as a function of its duration (seconds)."""

    path: Path
    how: str
    bpm: Callable[[float], float]
    drum_loop: bool = True


def _beats(count: int) -> Callable[[float], float]:
    return lambda duration: 60.0 * count / duration


def _fixed(bpm: float) -> Callable[[float], float]:
    return lambda _duration: bpm


SET_97 = "same freesound upload set as loop_drone_g_97 (its name: 97 BPM); lasts exactly {} beats at 97 BPM"
REAL: tuple[RealLoop, ...] = (
    RealLoop(SONIC_PI / "loop_amen.flac", "one bar of the Amen break (record tempo ~136-137 BPM)", _beats(4)),
    RealLoop(SONIC_PI / "loop_amen_full.flac", "the Amen break's four bars", _beats(16)),
    RealLoop(
        LMMS / "house_loop01.ogg", "LMMS's demo song Surrender-Main plays it once per 4/4 bar at 143 BPM", _beats(4)
    ),
    RealLoop(SONIC_PI / "loop_mehackit1.flac", SET_97.format(4), _fixed(97.0)),
    RealLoop(SONIC_PI / "loop_mehackit2.flac", SET_97.format(4), _fixed(97.0)),
    RealLoop(SONIC_PI / "loop_breakbeat.flac", "one 4/4 bar (onsets on its eighths)", _beats(4)),
    RealLoop(LMMS / "909beat01.ogg", "two 4/4 bars (onsets on its eighths)", _beats(8)),
    RealLoop(LMMS / "electro_beat01.ogg", "two 4/4 bars (onsets on its sixteenths)", _beats(8)),
    RealLoop(LMMS / "electro_beat02.ogg", "one 4/4 bar (onsets on its sixteenths)", _beats(4)),
    RealLoop(LMMS / "break01.ogg", "one 4/4 bar (onsets on its eighths)", _beats(4)),
    RealLoop(LMMS / "break02.ogg", "one 4/4 bar (onsets on its eighths)", _beats(4)),
    RealLoop(LMMS / "break03.ogg", "one 4/4 bar (onsets on its eighths)", _beats(4)),
    RealLoop(
        LMMS / "jungle01.ogg",
        "its 12 strongest onsets fit a grid of 0.1785 s (least squares, residuals < 10 ms): jungle eighths at 168.1",
        _fixed(168.1),
    ),
    RealLoop(SONIC_PI / "loop_electric.flac", SET_97.format(4), _fixed(97.0), drum_loop=False),
    RealLoop(SONIC_PI / "loop_perc1.flac", SET_97.format(4), _fixed(97.0), drum_loop=False),
    RealLoop(SONIC_PI / "loop_perc2.flac", SET_97.format(4), _fixed(97.0), drum_loop=False),
    RealLoop(SONIC_PI / "loop_weirdo.flac", SET_97.format(8), _fixed(97.0), drum_loop=False),
)


@dataclass
class Result:
    """One loop's true tempo and the two estimates."""

    group: str
    name: str
    bpm: float
    ours: float | None
    baseline: float
    seconds: float


def right(estimate: float | None, truth: float) -> bool:
    """Within ±2 % of the truth (so an octave error is wrong)."""
    return estimate is not None and abs(estimate - truth) <= TOLERANCE * truth


def verdict(estimate: float | None, truth: float) -> str:
    """``ok``, ``half``, ``double`` or the ratio."""
    if right(estimate, truth):
        return "ok"
    if estimate is None:
        return "none"
    ratio = estimate / truth
    for name, value in (("half", 0.5), ("double", 2.0), ("2/3", 2 / 3), ("3/2", 1.5), ("3/4", 0.75), ("4/3", 4 / 3)):
        if abs(ratio / value - 1) <= TOLERANCE:
            return name
    return f"x{ratio:.3f}"


def measure(group: str, name: str, y: np.ndarray, sr: int, truth: float) -> Result:
    """Both estimates of one loop (ours timed)."""
    t0 = time.perf_counter()
    ours = tempo.estimate_bpm(y, sr)
    seconds = time.perf_counter() - t0
    y22 = audio.resample(y, sr, 22050)
    baseline = float(librosa.feature.tempo(onset_envelope=librosa.onset.onset_strength(y=y22, sr=22050), sr=22050)[0])
    return Result(group, name, truth, ours, baseline, seconds)


def summary(rows: Sequence[Result], label: str) -> str:
    """One line: count, our share, the baseline's share, octave errors, time per loop."""
    n = len(rows)
    ours = sum(right(r.ours, r.bpm) for r in rows)
    base = sum(right(r.baseline, r.bpm) for r in rows)
    octave = sum(verdict(r.ours, r.bpm) in ("half", "double") for r in rows)
    ms = 1000 * float(np.mean([r.seconds for r in rows])) if rows else 0.0
    return (
        f"| {label} | {n} | **{ours / max(n, 1):.3f}** ({ours}) | {base / max(n, 1):.3f} ({base}) "
        f"| {octave} | {n - ours - octave} | {ms:.0f} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=2, help="seed of the rendered loops (default %(default)s)")
    args = parser.parse_args(argv)
    results: list[Result] = []
    rendered = [("test kits", lp) for lp in render_split_loops(("test",), 80, args.seed)]
    rendered += [("drum machines", lp) for lp in render_drum_machine_loops(60, args.seed + 1)]
    for group, loop in rendered:
        results.append(measure(group, loop.name, loop.y, 44100, loop.bpm))
    for real in REAL:
        if not real.path.is_file():
            print(f"missing {real.path} (install sonic-pi-samples and lmms-common)", file=sys.stderr)
            continue
        y, sr = audio.load_with_rate(real.path, sr=None)
        group = "real drum loops" if real.drum_loop else "real, not drum loops to the tagger"
        results.append(measure(group, real.path.name, y, sr, real.bpm(len(y) / sr)))

    print("| loops | n | within ±2 % | librosa `feature.tempo` | octave errors | other errors | ms per loop |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    groups = list(dict.fromkeys(r.group for r in results))
    for group in groups:
        print(summary([r for r in results if r.group == group], group))
    rendered_rows = [r for r in results if r.group in ("test kits", "drum machines")]
    print(summary(rendered_rows, "all rendered"))
    print(summary([r for r in results if r.group == "real drum loops"] + rendered_rows, "rendered + real drum loops"))
    print("\nreal loops:")
    for real, r in zip(
        (x for x in REAL if x.path.is_file()), (r for r in results if r.group.startswith("real")), strict=True
    ):
        print(
            f"  {r.name:22s} true {r.bpm:7.2f}  ours {r.ours or 0:7.2f} {verdict(r.ours, r.bpm):6s}"
            f"  librosa {r.baseline:7.2f} {verdict(r.baseline, r.bpm):6s}  ({real.how})"
        )
    print("\nrendered loops we get wrong:")
    for r in rendered_rows:
        if not right(r.ours, r.bpm):
            print(f"  {r.name}: {r.ours} ({verdict(r.ours, r.bpm)})")


if __name__ == "__main__":
    main()

"""Drum loops of exactly known tempo, rendered in code: kicks, snares and hats on a sixteenth grid, with swing,
any number of bars, and the tails of the last hits wrapped to the start (a loop that repeats seamlessly)."""

from __future__ import annotations

import numpy as np

from tests.audio_factory import kick, noise_burst, tone

# One bar of sixteenths per instrument: X accent, x normal, o soft, - rest.
STYLES: dict[str, dict[str, str]] = {
    "rock": {"kick": "x-------x-x-----", "snare": "----X-------X---", "hat": "x-x-x-x-x-x-x-x-"},
    "house": {"kick": "X---X---X---X---", "snare": "----x-------x---", "hat": "--x---x---x---x-"},
    "funk": {"kick": "x--x--x---x--x--", "snare": "----X--o-o--X--o", "hat": "xoxoxoxoxoxoxoxo"},
    "boom_bap": {"kick": "X------x--x-----", "snare": "----X-------X---", "hat": "x-x-x-x-x-x-x-xo"},
    "dnb": {"kick": "X---------X-----", "snare": "----X--o----X---", "hat": "x-x-x-x-x-x-x-x-"},
}
_VELOCITY = {"X": 1.0, "x": 0.8, "o": 0.45}


def snare(sr: int, seed: int) -> np.ndarray:
    """A snare-like hit: a short decaying tone under a noise burst."""
    y = tone(190.0, 0.25, sr, decay=28.0, amp=0.5) + noise_burst(0.25, sr, decay=18.0, seed=seed)
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


def render_loop(
    bpm: float,
    bars: int = 2,
    style: str = "rock",
    swing: float = 0.0,
    sr: int = 44100,
    seed: int = 0,
    tail: float = 0.0,
) -> np.ndarray:
    """``bars`` bars of ``style`` at exactly ``bpm``; ``swing`` delays the off-beat sixteenths by that share of a
    sixteenth; ``tail`` seconds of the last hits ring on after the loop instead of wrapping to its start."""
    rng = np.random.default_rng(seed)
    sounds = {"kick": kick(0.45, sr, seed=seed), "snare": snare(sr, seed), "hat": noise_burst(0.07, sr, 60.0, seed)}
    sixteenth = 60.0 / bpm / 4
    length = round(bars * 16 * sixteenth * sr)
    out = np.zeros(length + round(tail * sr), dtype=np.float64)
    for bar in range(bars):
        for name, row in STYLES[style].items():
            for step, mark in enumerate(row):
                if mark not in _VELOCITY:
                    continue
                delay = swing * sixteenth if step % 2 == 1 else 0.0
                start = round(((bar * 16 + step) * sixteenth + delay) * sr)
                hit = sounds[name] * _VELOCITY[mark] * rng.uniform(0.9, 1.0)
                end = min(len(out), start + len(hit))
                out[start:end] += hit[: end - start]
                rest = hit[end - start :]
                if tail == 0.0 and len(rest):  # seamless: what rings past the end sounds at the start
                    out[: len(rest)] += rest[:length]
    return (0.9 * out / np.max(np.abs(out))).astype(np.float32)

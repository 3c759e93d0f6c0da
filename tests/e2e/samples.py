"""The folder of sounds the browser tests import: drum one-shots and loops generated in code, in sub-folders.

Equal base names sit in different folders (``Kits/909/kick.wav``, ``Kits/808/kick.wav``); every file has its
own content (pitch, decay, length, level or noise seed differ), so the server stores each one instead of answering
``duplicate``. ``Kits/broken.wav`` is text: the server rejects it with a reason.

Two sets serve the journey's newer steps:
- :data:`SNARE_VARIANTS`: two snares close to the "dusty" snares (a softer, shorter 808 snare; a 909 snare a little
  higher), so that custom tags spread to them at the default, strict reach; they are other recordings (another
  noise seed), not copies: the duplicate finder leaves them apart.
- :data:`DUPLICATES`: ``Kits/909/kick (copy).wav``, the 909 kick 6 dB quieter (other bytes, so stored, but the
  same sound): ``GET /duplicates`` groups it with ``Kits/909/kick.wav``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.audio_factory import kick, noise_burst, tone, write

SR = 44100
BROKEN = "Kits/broken.wav"


def snare(seconds: float, body_hz: float, decay: float, seed: int) -> np.ndarray:
    """A snare-like hit: a short decaying tone under a noise burst."""
    y = tone(body_hz, seconds, SR, decay=decay * 1.5, amp=0.4) + noise_burst(seconds, SR, decay=decay, seed=seed)
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


def tom(freq: float, seconds: float, decay: float) -> np.ndarray:
    """A tom-like hit: a sine gliding down a little onto ``freq``."""
    t = np.arange(round(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(freq * (1 + 0.5 * np.exp(-t * 25))) / SR
    return (0.8 * np.sin(phase) * np.exp(-decay * t)).astype(np.float32)


def loop(bpm: float, bars: int, seed: int) -> np.ndarray:
    """A drum loop: kicks on the beats, snares on 2 and 4, hats on the eighths (with some hits left out)."""
    rng = np.random.default_rng(seed)
    eighth = round(SR * 60 / bpm / 2)
    y = np.zeros(eighth * 8 * bars + SR // 2, dtype=np.float32)
    hits = {
        "kick": kick(0.4, SR, seed=seed),
        "snare": snare(0.25, 190, 18, seed),
        "hat": noise_burst(0.08, SR, 60, seed),
    }
    for step in range(8 * bars):
        names = ["hat"] if rng.random() < 0.9 else []
        names += ["kick"] if step % 2 == 0 and (step % 8 in (0, 4) or rng.random() < 0.3) else []
        names += ["snare"] if step % 8 in (2, 6) else []
        for name in names:
            hit = hits[name] * rng.uniform(0.6, 1.0)
            start = step * eighth
            y[start : start + hit.size] += hit[: y.size - start]
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


SOUNDS: dict[str, Callable[[], np.ndarray]] = {
    "Kits/909/kick.wav": lambda: kick(0.45, SR, seed=909),
    "Kits/909/snare.wav": lambda: snare(0.3, 200, 16, seed=9091),
    "Kits/909/hat.wav": lambda: noise_burst(0.12, SR, decay=45, seed=9092),
    "Kits/909/crash.wav": lambda: noise_burst(1.6, SR, decay=2.5, seed=9093, amp=0.6),
    "Kits/808/kick.wav": lambda: kick(0.9, SR, seed=808),
    "Kits/808/snare.wav": lambda: snare(0.22, 240, 24, seed=8081),
    "Kits/808/hat.wav": lambda: noise_burst(0.07, SR, decay=70, seed=8082),
    "Kits/808/open hat.wav": lambda: noise_burst(0.4, SR, decay=9, seed=8083),
    "Kits/Acoustic/kick.wav": lambda: kick(0.6, SR, seed=1),
    "Kits/Acoustic/snare.wav": lambda: snare(0.35, 180, 12, seed=11),
    "Kits/Acoustic/ride.wav": lambda: noise_burst(1.2, SR, decay=3.5, seed=12, amp=0.5),
    "Toms/low.wav": lambda: tom(90, 0.7, 5),
    "Toms/mid.wav": lambda: tom(140, 0.6, 6),
    "Toms/high.wav": lambda: tom(210, 0.5, 7),
    "Loops/groove 96.wav": lambda: loop(96, 2, seed=96),
    "Loops/break 132.wav": lambda: loop(132, 4, seed=132),
    # SNARE_VARIANTS
    "Kits/808/snare soft.wav": lambda: 0.6 * snare(0.22, 240, 26, seed=8084),
    "Kits/909/snare 2.wav": lambda: snare(0.3, 205, 16, seed=9094),
    # DUPLICATES: the 909 kick at -6 dB
    "Kits/909/kick (copy).wav": lambda: 0.5 * kick(0.45, SR, seed=909),
}
SNARE_VARIANTS = ("Kits/808/snare soft.wav", "Kits/909/snare 2.wav")
DUPLICATES = {"Kits/909/kick (copy).wav": "Kits/909/kick.wav"}  # copy -> original
LOOP_BPM = {"Loops/groove 96.wav": 96.0, "Loops/break 132.wav": 132.0}  # the tempo each loop is rendered at


def make_sample_folder(root: Path) -> Path:
    """Write :data:`SOUNDS` (16-bit WAV) and the bad file :data:`BROKEN` under ``root``; returns ``root``."""
    for path, make in SOUNDS.items():
        write(root / path, make(), SR)
    (root / BROKEN).write_bytes(b"this is a text file with a .wav name, not audio\n" * 40)
    return root

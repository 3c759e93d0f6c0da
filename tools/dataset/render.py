"""Rendering notes with real synthesizers: a tiny MIDI writer, FluidSynth (SoundFonts), TiMidity++
(GUS patches of freepats), eSpeak NG (speech), and cutting one long render into trimmed one-shots."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

__all__ = [
    "RenderError",
    "SlotNote",
    "espeak",
    "midi_bytes",
    "render_slots",
    "trim",
    "write_wav",
]

RATE = 44100
_TICKS_PER_SECOND = 1920  # 960 ticks per quarter at the default 120 bpm


class RenderError(RuntimeError):
    """A synthesizer is missing or failed."""


@dataclass(frozen=True)
class SlotNote:
    """One note played alone in its own time slot."""

    note: int
    velocity: int = 100
    program: int = 0
    bank: int = 0
    channel: int = 9
    hold: float = 2.0


def _vlq(n: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, (n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out)


def midi_bytes(events: list[tuple[float, bytes]], end: float) -> bytes:
    """A format-0 Standard MIDI File of ``(time in s, message)`` events, ending at ``end`` s."""
    track = b""
    last = 0
    for t, msg in sorted(events, key=lambda e: e[0]):
        tick = round(t * _TICKS_PER_SECOND)
        track += _vlq(max(0, tick - last)) + msg
        last = max(last, tick)
    track += _vlq(max(0, round(end * _TICKS_PER_SECOND) - last)) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 960)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track


def _slot_events(notes: list[SlotNote], slot: float) -> list[tuple[float, bytes]]:
    events: list[tuple[float, bytes]] = []
    for i, n in enumerate(notes):
        t = i * slot
        ch = n.channel & 0x0F
        events.append((t, bytes([0xB0 | ch, 0, n.bank & 0x7F])))  # bank select MSB
        events.append((t, bytes([0xC0 | ch, n.program & 0x7F])))
        events.append((t + 0.01, bytes([0x90 | ch, n.note & 0x7F, max(1, min(127, n.velocity))])))
        events.append((t + 0.01 + n.hold, bytes([0x80 | ch, n.note & 0x7F, 0])))
    return events


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RenderError(f"'{tool}' is not installed (see tools/dataset_packages.txt)")
    return path


def render_slots(engine: str, bank_file: Path, notes: list[SlotNote], slot: float, rate: int = RATE) -> np.ndarray:
    """Render ``notes`` one per ``slot`` seconds and return the slots as rows of a mono float32 array.

    ``engine`` is ``fluidsynth`` (``bank_file`` a .sf2) or ``timidity`` (``bank_file`` a .cfg);
    reverb and chorus are off, so each slot is the dry sound of one note.
    """
    if not notes:
        return np.zeros((0, int(slot * rate)), dtype=np.float32)
    data = midi_bytes(_slot_events(notes, slot), end=len(notes) * slot)
    with tempfile.TemporaryDirectory(prefix="drumsamp-render-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.write_bytes(data)
        if engine == "fluidsynth":
            cmd = [
                _need("fluidsynth"),
                "-ni",
                "-q",
                "-R",
                "0",
                "-C",
                "0",
                "-g",
                "0.5",
                "-r",
                str(rate),
                "-O",
                "float",
                "-T",
                "wav",
                "-F",
                str(wav),
                str(bank_file),
                str(mid),
            ]
        elif engine == "timidity":
            cmd = [
                _need("timidity"),
                "-c",
                str(bank_file),
                "-Ow",
                "--output-mono",
                "--output-24bit",
                "-s",
                str(rate),
                "-EFreverb=0",
                "-EFchorus=0",
                "-A",
                "70",
                "--quiet",
                "-o",
                str(wav),
                str(mid),
            ]
        else:
            raise ValueError(f"unknown engine {engine!r}")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 or not wav.exists():
            raise RenderError(f"{engine} failed on {bank_file}: {proc.stderr.strip()[-400:]}")
        y, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if sr != rate:
        raise RenderError(f"{engine} wrote {sr} Hz instead of {rate} Hz")
    n = round(slot * rate)
    total = n * len(notes)
    y = np.pad(y, (0, max(0, total - len(y))))[:total]
    return y.reshape(len(notes), n)


def trim(y: np.ndarray, sr: int, floor_db: float = -60.0, start_db: float = -50.0) -> np.ndarray | None:
    """Cut leading and trailing silence (relative to the peak); None when ``y`` is (near) silent."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak < 1e-4:
        return None
    loud = np.flatnonzero(np.abs(y) >= peak * 10 ** (start_db / 20))
    start = max(0, int(loud[0]) - int(0.001 * sr))
    win = max(1, int(0.005 * sr))
    env = np.abs(y)
    pad = (-len(env)) % win
    env = np.pad(env, (0, pad)).reshape(-1, win).max(axis=1)
    above = np.flatnonzero(env >= peak * 10 ** (floor_db / 20))
    end = min(len(y), (int(above[-1]) + 1) * win + int(0.01 * sr))
    out = y[start:end].astype(np.float32, copy=True)
    fade = min(len(out), int(0.01 * sr))
    if fade > 1:
        out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


def write_wav(path: Path, y: np.ndarray, sr: int = RATE) -> Path:
    """Write mono 16-bit PCM WAV (creating folders); samples are clipped to [-1, 1]."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.wav")
    sf.write(str(tmp), np.clip(y, -1.0, 1.0), sr, subtype="PCM_16")
    tmp.replace(path)
    return path


def espeak(text: str, voice: str, out: Path, speed: int = 160, pitch: int = 50) -> Path:
    """Speak ``text`` with eSpeak NG into the WAV ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [_need("espeak-ng"), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), text]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not out.exists():
        raise RenderError(f"espeak-ng failed for voice {voice}: {proc.stderr.strip()[-300:]}")
    return out


@dataclass(frozen=True)
class GusPatch:
    """The first sample of a Gravis UltraSound ``.pat`` file: its PCM, rate, root frequency and key tracking."""

    y: np.ndarray
    rate: int
    root_hz: float
    scale_factor: int


def read_gus_patch(path: Path) -> GusPatch:
    """Decode the first sample of a GUS patch (the recording itself, as TiMidity would play it at its root)."""
    data = Path(path).read_bytes()
    off = 129 + 63 + 47  # file header, instrument, layer
    head = data[off : off + 96]
    length = struct.unpack("<I", head[8:12])[0]
    rate = struct.unpack("<H", head[20:22])[0]
    root = struct.unpack("<I", head[30:34])[0] / 1000.0
    modes = head[55]
    scale_factor = struct.unpack("<H", head[58:60])[0]
    raw = data[off + 96 : off + 96 + length]
    if modes & 1:  # 16-bit
        y = np.frombuffer(raw[: len(raw) // 2 * 2], "<u2" if modes & 2 else "<i2").astype(np.float32)
        y = (y - 32768.0 if modes & 2 else y) / 32768.0
    else:
        y = np.frombuffer(raw, "u1" if modes & 2 else "i1").astype(np.float32)
        y = (y - 128.0 if modes & 2 else y) / 128.0
    return GusPatch(y, rate, root, scale_factor)

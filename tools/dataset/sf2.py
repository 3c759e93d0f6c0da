"""Minimal SoundFont 2 reader: which samples a drum preset plays for each key and velocity.

Only the preset/instrument/sample headers are parsed (no audio); enough to know which notes to render
and which recording each rendered note is.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KeyZone", "Preset", "read_presets"]

_GEN_KEY_RANGE = 43
_GEN_VEL_RANGE = 44
_GEN_INSTRUMENT = 41
_GEN_SAMPLE_ID = 53


@dataclass(frozen=True)
class KeyZone:
    """The samples a key plays in one velocity range."""

    key: int
    vel_lo: int
    vel_hi: int
    instrument: str
    samples: tuple[str, ...]


@dataclass
class Preset:
    """A preset (program) of a SoundFont with, per key, its velocity zones."""

    name: str
    bank: int
    program: int
    zones: dict[int, list[KeyZone]] = field(default_factory=dict)


def _chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """RIFF sub-chunks (id, offset, size) between ``start`` and ``end``."""
    out = []
    off = start
    while off + 8 <= end:
        cid, size = struct.unpack("<4sI", data[off : off + 8])
        out.append((cid, off + 8, size))
        off += 8 + size + (size & 1)
    return out


def _records(blob: bytes, fmt: str) -> list[tuple]:
    """Unpack a table of fixed-size records."""
    size = struct.calcsize(fmt)
    return [struct.unpack(fmt, blob[i : i + size]) for i in range(0, len(blob) - size + 1, size)]


def _name(raw: bytes) -> str:
    """A zero-padded 20-byte SF2 name as text."""
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def _range(gens: list[tuple[int, int]], op: int) -> tuple[int, int] | None:
    """A key or velocity range generator of a zone, or None."""
    for g, amount in gens:
        if g == op:
            return amount & 0xFF, (amount >> 8) & 0xFF
    return None


def _gen_value(gens: list[tuple[int, int]], op: int) -> int | None:
    for g, amount in gens:
        if g == op:
            return amount
    return None


def _intersect(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    lo = max((a or (0, 127))[0], (b or (0, 127))[0])
    hi = min((a or (0, 127))[1], (b or (0, 127))[1])
    return (lo, hi) if lo <= hi else None


def read_presets(path: str | Path) -> list[Preset]:
    """All presets of the SoundFont at ``path`` with their key/velocity zones."""
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise ValueError(f"{path}: not a SoundFont 2 file")
    pdta: dict[bytes, bytes] = {}
    for cid, off, size in _chunks(data, 12, len(data)):
        if cid == b"LIST" and data[off : off + 4] == b"pdta":
            for sub, soff, ssize in _chunks(data, off + 4, off + size):
                pdta[sub] = data[soff : soff + ssize]
    phdr = _records(pdta[b"phdr"], "<20sHHHIII")
    pbag = _records(pdta[b"pbag"], "<HH")
    pgen = _records(pdta[b"pgen"], "<HH")
    inst = _records(pdta[b"inst"], "<20sH")
    ibag = _records(pdta[b"ibag"], "<HH")
    igen = _records(pdta[b"igen"], "<HH")
    shdr = _records(pdta[b"shdr"], "<20sIIIIIBbHH")

    def inst_zones(index: int) -> list[tuple[tuple[int, int] | None, tuple[int, int] | None, str]]:
        zones = []
        for b in range(inst[index][1], inst[index + 1][1]):
            gens = [(g, a) for g, a in igen[ibag[b][0] : ibag[b + 1][0]]]
            sample = _gen_value(gens, _GEN_SAMPLE_ID)
            if sample is None or sample >= len(shdr):
                continue  # global zone
            zones.append((_range(gens, _GEN_KEY_RANGE), _range(gens, _GEN_VEL_RANGE), _name(shdr[sample][0])))
        return zones

    presets = []
    for i, (raw, program, bank, bag, *_rest) in enumerate(phdr[:-1]):
        preset = Preset(_name(raw), bank, program)
        for b in range(bag, phdr[i + 1][3]):
            gens = [(g, a) for g, a in pgen[pbag[b][0] : pbag[b + 1][0]]]
            ins = _gen_value(gens, _GEN_INSTRUMENT)
            if ins is None or ins >= len(inst) - 1:
                continue
            pkeys, pvels = _range(gens, _GEN_KEY_RANGE), _range(gens, _GEN_VEL_RANGE)
            iname = _name(inst[ins][0])
            for ikeys, ivels, sample in inst_zones(ins):
                keys = _intersect(pkeys, ikeys)
                vels = _intersect(pvels, ivels)
                if keys is None or vels is None:
                    continue
                for key in range(keys[0], keys[1] + 1):
                    preset.zones.setdefault(key, []).append(KeyZone(key, vels[0], vels[1], iname, (sample,)))
        presets.append(preset)
    return presets

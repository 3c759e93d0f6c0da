"""Read Hydrogen drum kits (``drumkit.xml``) and demo songs (``.h2song``) without Hydrogen."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TICKS_PER_BEAT", "H2Instrument", "H2Kit", "H2Note", "H2Pattern", "H2Song", "read_kit", "read_song"]

TICKS_PER_BEAT = 48
"""Hydrogen's pattern resolution: 48 ticks per quarter note (a 4/4 bar is 192 ticks)."""


@dataclass(frozen=True)
class H2Layer:
    """One sample of an instrument and the velocity range (0..1) that plays it."""

    path: Path
    vel_min: float
    vel_max: float


@dataclass
class H2Instrument:
    """An instrument slot of a kit: its name and the samples (layers) it plays."""

    id: str
    name: str
    layers: list[H2Layer] = field(default_factory=list)


@dataclass
class H2Kit:
    """A Hydrogen drum kit folder."""

    folder: Path
    name: str
    author: str
    licence: str
    instruments: list[H2Instrument] = field(default_factory=list)


@dataclass(frozen=True)
class H2Note:
    """One note of a pattern, position in ticks (48 per beat), velocity 0..1."""

    position: int
    instrument: str
    velocity: float
    probability: float = 1.0
    leadlag: float = 0.0


@dataclass
class H2Pattern:
    """A pattern of a song: length in ticks and its notes."""

    name: str
    size: int
    notes: list[H2Note] = field(default_factory=list)


@dataclass
class H2Song:
    """A demo song: tempo, swing, instrument names by id and its patterns."""

    path: Path
    name: str
    bpm: float
    swing: float
    instruments: dict[str, str] = field(default_factory=dict)
    patterns: list[H2Pattern] = field(default_factory=list)


def _strip_ns(root: ET.Element) -> None:
    """Drop XML namespaces so that ``find('name')`` works on every kit version."""
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def _float(text: str | None, default: float) -> float:
    try:
        return float(text) if text is not None and text.strip() else default
    except ValueError:
        return default


def read_kit(xml_path: str | Path) -> H2Kit:
    """Parse a ``drumkit.xml``: kit metadata and every instrument with its layer files.

    Handles both the layered format (``<layer><filename>``, inside ``<instrumentComponent>`` or not)
    and the old one (``<filename>`` directly in ``<instrument>``). Layer paths are absolute; missing
    files are kept (the caller decides).
    """
    xml_path = Path(xml_path)
    root = ET.parse(xml_path).getroot()
    _strip_ns(root)
    folder = xml_path.parent
    kit = H2Kit(
        folder=folder,
        name=(root.findtext("name") or folder.name).strip(),
        author=(root.findtext("author") or "").strip(),
        licence=(root.findtext("license") or "").strip(),
    )
    inst_list = root.find("instrumentList")
    for inst in inst_list.findall("instrument") if inst_list is not None else []:
        item = H2Instrument(id=(inst.findtext("id") or "").strip(), name=(inst.findtext("name") or "").strip())
        for layer in inst.iter("layer"):
            fn = (layer.findtext("filename") or "").strip()
            if fn:
                item.layers.append(
                    H2Layer(folder / fn, _float(layer.findtext("min"), 0.0), _float(layer.findtext("max"), 1.0))
                )
        direct = (inst.findtext("filename") or "").strip()
        if direct and not item.layers:
            item.layers.append(H2Layer(folder / direct, 0.0, 1.0))
        kit.instruments.append(item)
    return kit


def read_song(path: str | Path) -> H2Song:
    """Parse a ``.h2song``: tempo, swing factor, instrument names and every pattern's notes."""
    path = Path(path)
    root = ET.parse(path).getroot()
    _strip_ns(root)
    song = H2Song(
        path=path,
        name=(root.findtext("name") or path.stem).strip(),
        bpm=_float(root.findtext("bpm"), 120.0),
        swing=_float(root.findtext("swing_factor"), 0.0),
    )
    inst_list = root.find("instrumentList")
    for inst in inst_list.findall("instrument") if inst_list is not None else []:
        song.instruments[(inst.findtext("id") or "").strip()] = (inst.findtext("name") or "").strip()
    pat_list = root.find("patternList")
    for pat in pat_list.findall("pattern") if pat_list is not None else []:
        pattern = H2Pattern(name=(pat.findtext("name") or "").strip(), size=int(_float(pat.findtext("size"), 192)))
        note_list = pat.find("noteList")
        for note in note_list.findall("note") if note_list is not None else []:
            pattern.notes.append(
                H2Note(
                    position=int(_float(note.findtext("position"), 0)),
                    instrument=(note.findtext("instrument") or "").strip(),
                    velocity=_float(note.findtext("velocity"), 0.8),
                    probability=_float(note.findtext("probability"), 1.0),
                    leadlag=_float(note.findtext("leadlag"), 0.0),
                )
            )
        song.patterns.append(pattern)
    return song

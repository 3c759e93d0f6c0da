"""Drum machines and extra kits (issue 21): the shared recordings of ``drum-machines/`` and two Debian packages.

- ``drum-machines/`` (path: ``--drum-machines`` / env ``DRUM_MACHINES_DIR``, default ``../shared/data/drum-machines``
  beside the repository): public-domain drum machines (smpldsnds/drum-machines, oramics/sampled ``DM/``,
  fluid-music/open-drums TR-707), a CC-BY-3.0 studio kit and CC-BY-SA-3.0 Philharmonia orchestral percussion,
  labelled by ``drum_machine_labels.csv`` (one row per file, written from the file and folder names). Each
  machine or kit is its own split group. Absent folder: skipped with a message.
- ``stk`` (Debian): the Synthesis ToolKit's rawwaves (headerless 16-bit big-endian mono at 22.05 kHz), converted
  to WAV. ``chuck-data`` (Debian): the drum one-shots of ChucK's examples.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from . import render
from .label_table import read_label_table
from .manifest import Item
from .sources import Collected, Context

__all__ = [
    "CHUCK_DIR",
    "DRUM_MACHINES_DEFAULT",
    "DRUM_MACHINE_LABELS",
    "MACHINE_LICENCES",
    "STK_DIR",
    "collect_chuck",
    "collect_drum_machines",
    "collect_stk",
    "drum_machines_dir",
    "read_drum_machine_labels",
]

DRUM_MACHINES_DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "data" / "drum-machines"
"""``../shared/data/drum-machines`` relative to the repository."""
DRUM_MACHINE_LABELS = Path(__file__).resolve().parent / "drum_machine_labels.csv"
STK_DIR = Path("/usr/share/stk/rawwaves")
STK_RATE = 22050
CHUCK_DIR = Path("/usr/share/doc/chuck-data/examples")

# top folder -> licence as the upstream states it (docs/dataset.md credits each source)
MACHINE_LICENCES: dict[str, str] = {
    "smpldsnds-drum-machines": "public domain (smpldsnds/drum-machines README)",
    "oramics-sampled/DM": "public domain (oramics/sampled, the kit's README)",
    "oramics-sampled/DRUMS": "CC-BY-3.0 (oramics/sampled pearl-master-studio)",
    "oramics-sampled/ORCHESTRA": "CC-BY-SA-3.0 (Philharmonia Orchestra samples via oramics/sampled)",
    "open-drums": "public domain (fluid-music/open-drums TR707WAV/README.txt)",
}
MACHINE_KIT_TYPE = {"pearl-master-studio": "acoustic", "Philharmonia-percussion": "acoustic"}

# stk rawwave -> (label, subclass, role); the others are synthesis tables, not recordings of an instrument
STK_LABELS: dict[str, tuple[str, str, str]] = {
    "bassdrum": ("Kick", "kick", "positive"),
    "snardrum": ("Snare", "snare", "positive"),
    "tomhidrm": ("Tom", "tom", "positive"),
    "tommiddr": ("Tom", "tom", "positive"),
    "tomlowdr": ("Tom", "tom", "positive"),
    "hihatcym": ("Cymbal", "closed_hat", "positive"),
    "ridecymb": ("Cymbal", "ride", "positive"),
    "crashcym": ("Cymbal", "crash", "positive"),
    "cowbell1": ("Unknown", "percussion", "hard_negative"),
    "tambourn": ("Unknown", "percussion", "hard_negative"),
}
# chuck-data file stem -> (label, subclass, role); the copies in the book's chapter folders are the same recordings
# (de-duplication keeps one)
CHUCK_LABELS: dict[str, tuple[str, str, str]] = {
    "kick": ("Kick", "kick", "positive"),
    "kick_01": ("Kick", "kick", "positive"),
    "kick_04": ("Kick", "kick", "positive"),
    "snare": ("Snare", "snare", "positive"),
    "snare-chili": ("Snare", "snare", "positive"),
    "snare-hop": ("Snare", "snare", "positive"),
    "snare_01": ("Snare", "snare", "positive"),
    "snare_02": ("Snare", "snare", "positive"),
    "snare_03": ("Snare", "snare", "positive"),
    "clap_01": ("Snare", "clap", "positive"),
    "hihat": ("Cymbal", "closed_hat", "positive"),
    "hihat_01": ("Cymbal", "closed_hat", "positive"),
    "hihat_02": ("Cymbal", "closed_hat", "positive"),
    "hihat_04": ("Cymbal", "closed_hat", "positive"),
    "hihat-open": ("Cymbal", "open_hat", "positive"),
    "cowbell_01": ("Unknown", "percussion", "hard_negative"),
    "stereo_fx_01": ("Unknown", "other", "negative"),
    "stereo_fx_03": ("Unknown", "other", "negative"),
    "geetar": ("Unknown", "other", "negative"),
}


def drum_machines_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The drum-machines folder: ``path``, else env ``DRUM_MACHINES_DIR``, else the shared folder's default."""
    return Path(path or os.environ.get("DRUM_MACHINES_DIR") or DRUM_MACHINES_DEFAULT)


def read_drum_machine_labels(path: Path = DRUM_MACHINE_LABELS) -> dict[str, dict[str, str]]:
    """``{file relative to the drum-machines folder: row}`` (checked by :func:`read_label_table`)."""
    return read_label_table(path, "file")


def _licence(rel: str) -> str:
    for prefix, licence in MACHINE_LICENCES.items():
        if rel.startswith(prefix + "/"):
            return licence
    raise ValueError(f"{rel}: no licence known for its folder")


def _mp3_as_wav(path: Path, out: Path) -> Path | None:
    """The Philharmonia MP3s announce ~11 600 more samples than they hold (a header estimate), which the strict
    decoder takes for truncation: decode them once here, keep them when they end in a decay (last 50 ms at
    least 40 dB below the peak: the sound is complete), as WAV under the dataset's audio folder."""
    if out.exists():
        return out
    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    tail = float(np.sqrt(np.mean(y[-int(0.05 * sr) :] ** 2))) if y.size else 0.0
    if peak < 1e-4 or tail > peak * 0.01:
        return None
    return render.write_wav(out, y, sr)


def collect_drum_machines(ctx: Context, root: Path | None = None) -> Collected:
    """The labelled recordings of the drum-machines folder; a missing folder is skipped with a clear message."""
    res = Collected()
    root = drum_machines_dir(root)
    if not root.is_dir():
        ctx.log(f"  drum-machines folder {root} not found: source skipped (set DRUM_MACHINES_DIR, docs/dataset.md)")
        res.skipped.append((str(root), "drum-machines folder not found (DRUM_MACHINES_DIR)"))
        return res
    for rel, row in sorted(read_drum_machine_labels().items()):
        path = root / rel
        if not path.is_file():
            res.skipped.append((str(path), "listed in drum_machine_labels.csv, missing on disk"))
            continue
        if not row["label"]:
            res.skipped.append((str(path), f"left out: {row['note']}"))
            continue
        kit = row["kit"]
        if path.suffix.lower() == ".mp3":
            wav = _mp3_as_wav(path, ctx.audio / "drum-machines" / Path(rel).with_suffix(".wav"))
            if wav is None:
                res.skipped.append((str(path), "MP3 does not end in a decay: truncated"))
                continue
            path = wav
        res.items.append(
            Item(
                path=str(path),
                label=row["label"],
                subclass=row["subclass"],
                kit_type=MACHINE_KIT_TYPE.get(kit, "electronic") if row["label"] != "Unknown" else "",
                source="drum-machines",
                kit=kit,
                licence=_licence(rel),
                origin=f"drum-machines:{rel}",
                name=Path(rel).stem,
                role=row["role"],
            )
        )
    return res


def _item(path: Path, found: tuple[str, str, str], kit: str, licence: str, origin: str, drum_type: str) -> Item:
    """A candidate of a Debian source (``origin`` starts with the package name): ``found`` is (label, sub-class,
    role); non-drums have no kit type."""
    label, subclass, role = found
    return Item(
        path=str(path),
        label=label,
        subclass=subclass,
        kit_type=drum_type if label != "Unknown" else "",
        source=origin.split(":", 1)[0],
        kit=kit,
        licence=licence,
        origin=origin,
        name=path.stem,
        role=role,
    )


def collect_stk(ctx: Context, root: Path = STK_DIR) -> Collected:
    """The drum rawwaves of Debian's ``stk``, converted to WAV under ``audio/stk``."""
    res = Collected()
    if not root.is_dir():
        res.skipped.append((str(root), "stk not installed"))
        return res
    for stem, found in sorted(STK_LABELS.items()):
        raw = root / f"{stem}.raw"
        if not raw.is_file():
            res.skipped.append((str(raw), "missing"))
            continue
        out = ctx.audio / "stk" / f"{stem}.wav"
        if not out.exists():
            y = np.frombuffer(raw.read_bytes(), dtype=">i2").astype(np.float32) / 32768.0
            render.write_wav(out, y, STK_RATE)
        licence = "STK licence (MIT-style, debian/copyright of stk)"
        res.items.append(_item(out, found, "stk-rawwaves", licence, f"stk:{raw}", "acoustic"))
    return res


def collect_chuck(ctx: Context, root: Path = CHUCK_DIR) -> Collected:
    """The drum one-shots of Debian's ``chuck-data`` examples (copies are left to de-duplication)."""
    res = Collected()
    if not root.is_dir():
        res.skipped.append((str(root), "chuck-data not installed"))
        return res
    for path in sorted(root.rglob("*.wav")):
        found = CHUCK_LABELS.get(path.stem)
        if found is None:
            res.skipped.append((str(path), "no label (click or effect)"))
            continue
        licence, origin = "GPL-2+ (chuck-data, debian/copyright)", f"chuck-data:{path.relative_to(root)}"
        res.items.append(_item(path, found, "chuck-data", licence, origin, "electronic"))
    return res

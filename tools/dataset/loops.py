"""Drum loops rendered from real one-shots: human-written patterns (Hydrogen demo songs and our own
grooves) played on a kit's samples at a chosen tempo, swing and velocity, with a little humanisation.

A loop is a whole number of bars (2-8 s), mono 44.1 kHz, and wraps around: the tails of its last hits
ring into its start, as in a loop that repeats seamlessly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .hydrogen import TICKS_PER_BEAT, H2Song
from .rules import classify

__all__ = [
    "FALLBACKS",
    "OWN_PATTERNS",
    "Hit",
    "LoopKit",
    "LoopSpec",
    "Pattern",
    "choose_bars",
    "own_patterns",
    "patterns_from_song",
    "plan_loops",
    "render_loop",
    "resolve_role",
    "stable_seed",
]

MIN_SECONDS = 2.0
MAX_SECONDS = 8.0

# Where a kit lacks the instrument a pattern asks for, these stand in (first available wins).
FALLBACKS: dict[str, tuple[str, ...]] = {
    "kick": ("kick",),
    "snare": ("snare", "rimshot"),
    "rimshot": ("rimshot", "snare"),
    "side_stick": ("side_stick", "rimshot", "snare"),
    "closed_hat": ("closed_hat", "hat", "pedal_hat", "half_open_hat"),
    "pedal_hat": ("pedal_hat", "closed_hat", "hat"),
    "half_open_hat": ("half_open_hat", "open_hat", "hat"),
    "open_hat": ("open_hat", "half_open_hat", "hat"),
    "hat": ("hat", "closed_hat", "pedal_hat"),
    "ride": ("ride", "crash_ride", "cymbal", "closed_hat"),
    "ride_bell": ("ride_bell", "ride", "crash_ride"),
    "crash": ("crash", "crash_ride", "splash", "china", "cymbal"),
    "splash": ("splash", "crash", "china"),
    "china": ("china", "crash", "splash"),
    "cymbal": ("cymbal", "crash", "ride"),
    "tom_high": ("tom_high", "tom", "tom_mid", "tom_low"),
    "tom_mid": ("tom_mid", "tom", "tom_high", "tom_low"),
    "tom_low": ("tom_low", "tom_floor", "tom", "tom_mid"),
    "tom_floor": ("tom_floor", "tom_low", "tom", "tom_mid"),
    "tom": ("tom", "tom_mid", "tom_high", "tom_low", "tom_floor"),
    "clap": ("clap",),
    "cowbell": ("cowbell",),
    "tambourine": ("tambourine",),
    "shaker": ("shaker",),
}
_HATS = {"closed_hat", "pedal_hat", "half_open_hat", "open_hat", "hat", "hat_choke", "hat_swish"}


@dataclass(frozen=True)
class Hit:
    """One note of a pattern: time in beats from the bar start, the instrument role, velocity 0..1."""

    beat: float
    role: str
    velocity: float
    probability: float = 1.0


@dataclass(frozen=True)
class Pattern:
    """One bar of drumming; ``pid`` is unique and says where the pattern comes from."""

    pid: str
    beats: float
    hits: tuple[Hit, ...]
    swing: float = 0.0
    song: str = ""

    @property
    def roles(self) -> set[str]:
        """Instrument roles the pattern plays."""
        return {h.role for h in self.hits}


@dataclass
class LoopKit:
    """The one-shots of one kit, by role (subclass), each role a list of instruments (velocity layers)."""

    name: str
    group: str
    source: str
    licence: str
    kit_type: str
    roles: dict[str, list[list[str]]] = field(default_factory=dict)

    def add(self, role: str, instrument_layers: list[str]) -> None:
        """Add one instrument (its layer files) under ``role``."""
        if instrument_layers:
            self.roles.setdefault(role, []).append(list(instrument_layers))

    @property
    def playable(self) -> bool:
        """A kit needs a kick, a snare and a hat or ride to play a groove."""
        return all(resolve_role(self.roles, r) is not None for r in ("kick", "snare", "closed_hat"))


@dataclass(frozen=True)
class LoopSpec:
    """Everything that decides one rendered loop."""

    kit: str
    pattern: str
    bpm: float
    swing: float
    bars: int
    seed: int


def stable_seed(*parts: object) -> int:
    """A seed from text that is the same in every run and process (unlike ``hash``)."""
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def resolve_role(roles: Mapping[str, list[list[str]]], role: str) -> str | None:
    """The kit role that plays ``role`` (itself or a fallback), or None."""
    for cand in FALLBACKS.get(role, (role,)):
        if roles.get(cand):
            return cand
    return None


def patterns_from_song(song: H2Song, min_notes: int = 6, min_roles: int = 2) -> list[Pattern]:
    """The usable one-bar patterns of a Hydrogen song (instrument names mapped to roles).

    Patterns with fewer than ``min_notes`` notes or ``min_roles`` instruments (endings, single-drum
    riffs) are left out; notes of instruments without a role (unnamed slots) are dropped.
    """
    roles: dict[str, str] = {}
    for iid, name in song.instruments.items():
        found = classify(name)
        if found is not None:
            roles[iid] = found.subclass
    out = []
    stem = song.path.stem
    for pat in song.patterns:
        hits = tuple(
            Hit(n.position / TICKS_PER_BEAT, roles[n.instrument], float(np.clip(n.velocity, 0.05, 1.0)), n.probability)
            for n in sorted(pat.notes, key=lambda n: (n.position, n.instrument))
            if n.instrument in roles and n.position < pat.size
        )
        if len(hits) < min_notes or len({h.role for h in hits}) < min_roles:
            continue
        out.append(Pattern(f"h2:{stem}:{pat.name}", pat.size / TICKS_PER_BEAT, hits, song.swing, stem))
    return out


# Our own grooves, one bar each. Steps per bar and one string per role: X accent, x normal, o soft,
# g ghost, - rest.
OWN_PATTERNS: dict[str, tuple[int, float, dict[str, str]]] = {
    "rock8": (16, 4, {"kick": "x-------x-x-----", "snare": "----X-------X---", "closed_hat": "x-x-x-x-x-x-x-x-"}),
    "rock_crash": (
        16,
        4,
        {
            "kick": "X-----x-x-------",
            "snare": "----X-------X---",
            "closed_hat": "--x-x-x-x-x-x-x-",
            "crash": "X---------------",
        },
    ),
    "funk16": (16, 4, {"kick": "x--x--x---x--x--", "snare": "----X--g-g--X--g", "closed_hat": "xoxoxoxoxoxoxoxo"}),
    "boom_bap": (16, 4, {"kick": "X------x--x-----", "snare": "----X-------X---", "closed_hat": "x-x-x-x-x-x-x-xo"}),
    "house": (
        16,
        4,
        {
            "kick": "X---X---X---X---",
            "clap": "----x-------x---",
            "open_hat": "--x---x---x---x-",
            "closed_hat": "o-o-o-o-o-o-o-o-",
        },
    ),
    "disco": (
        16,
        4,
        {
            "kick": "x---x---x---x---",
            "snare": "----x-------x---",
            "open_hat": "--x---x---x---x-",
            "closed_hat": "x---x---x---x---",
        },
    ),
    "dnb": (16, 4, {"kick": "X---------X-----", "snare": "----X--g----X---", "closed_hat": "x-x-x-x-x-x-x-x-"}),
    "breakbeat": (16, 4, {"kick": "X-x-------xx----", "snare": "----X--g-g--X--g", "ride": "x-x-x-x-x-x-x-x-"}),
    "shuffle": (12, 4, {"kick": "x-----x--x--", "snare": "---x-----x--", "closed_hat": "x-ox-ox-ox-o"}),
    "jazz_ride": (
        12,
        4,
        {"kick": "o-----o-----", "pedal_hat": "---x-----x--", "ride": "x--x-xx--x-x", "snare": "-----g-----g"},
    ),
    "one_drop": (
        16,
        4,
        {"kick": "--------X-------", "side_stick": "--------x-------", "closed_hat": "x-x-x-x-x-x-x-x-"},
    ),
    "bossa": (16, 4, {"kick": "x--xx--xx--xx--x", "side_stick": "x--x--x---x--x--", "closed_hat": "xxxxxxxxxxxxxxxx"}),
    "halftime": (
        16,
        4,
        {
            "kick": "X-----x---x-----",
            "snare": "--------X-------",
            "closed_hat": "x-x-x-x-x-x-x-x-",
            "open_hat": "--------------x-",
        },
    ),
    "metal": (16, 4, {"kick": "xxxxxxxxxxxxxxxx", "snare": "----X-------X---", "china": "x-x-x-x-x-x-x-x-"}),
    "tom_groove": (
        16,
        4,
        {
            "kick": "x-----x-x-------",
            "tom_floor": "x--x--x---x--x--",
            "tom_high": "--x-----x-------",
            "snare": "----X-------X---",
        },
    ),
    "waltz": (12, 3, {"kick": "x-----------", "snare": "----x---x---", "closed_hat": "x-x-x-x-x-x-"}),
    "trap": (
        32,
        4,
        {
            "kick": "X-----x---------x-x-------------",
            "snare": "--------X---------------X-------",
            "closed_hat": "x-x-x-x-xxxxx-x-x-x-x-x-x-xxxx-x",
        },
    ),
    "ride_rock": (
        16,
        4,
        {
            "kick": "x-------x-x-----",
            "snare": "----X-------X---",
            "ride_bell": "x---x---x---x---",
            "ride": "--x---x---x---x-",
        },
    ),
}
_VEL = {"X": 1.0, "x": 0.8, "o": 0.55, "g": 0.3}


def own_patterns() -> list[Pattern]:
    """Our grooves as :class:`Pattern` objects (pattern ids ``own:<name>``)."""
    out = []
    for name, (steps, beats, grid) in OWN_PATTERNS.items():
        hits = []
        for role, row in grid.items():
            if len(row) != steps:
                raise ValueError(f"pattern {name}: row {role} has {len(row)} steps, expected {steps}")
            for i, ch in enumerate(row):
                if ch in _VEL:
                    hits.append(Hit(i * beats / steps, role, _VEL[ch]))
        hits.sort(key=lambda h: (h.beat, h.role))
        out.append(Pattern(f"own:{name}", float(beats), tuple(hits), 0.0, "own"))
    return out


def choose_bars(bpm: float, beats: float, rng: np.random.Generator) -> int:
    """A number of bars (1, 2 or 4) that makes the loop last 2-8 s, chosen at random among those that fit."""
    bar = beats * 60.0 / bpm
    fits = [b for b in (1, 2, 4) if MIN_SECONDS <= b * bar <= MAX_SECONDS]
    if not fits:
        fits = [min((1, 2, 4), key=lambda b: abs(b * bar - (MIN_SECONDS + MAX_SECONDS) / 2))]
    return int(rng.choice(fits))


def _swung(beat: float, swing: float) -> float:
    """Delay the off-beat sixteenths by ``swing`` of a sixteenth (0 straight, 0.33 a triplet feel)."""
    sixteenth = beat * 4.0
    if abs(sixteenth - round(sixteenth)) < 1e-6 and round(sixteenth) % 2 == 1:
        return beat + swing * 0.25
    return beat


def render_loop(
    spec: LoopSpec,
    pattern: Pattern,
    roles: Mapping[str, list[list[str]]],
    load: Callable[[str], np.ndarray],
    sr: int = 44100,
) -> np.ndarray:
    """Play ``pattern`` on the kit ``roles`` (layer files, read with ``load``) as described by ``spec``.

    Deterministic for a given ``spec``: the seed drives instrument choice, timing and velocity jitter and
    note probabilities. Raises ValueError when the kit cannot play at least two roles of the pattern.
    """
    rng = np.random.default_rng(spec.seed)
    beat_s = 60.0 / spec.bpm
    length = round(spec.bars * pattern.beats * beat_s * sr)
    out = np.zeros(length, dtype=np.float64)
    # one instrument per role for the whole loop; its layers are ordered by loudness
    chosen: dict[str, list[np.ndarray]] = {}
    for role in sorted(pattern.roles):
        kit_role = resolve_role(roles, role)
        if kit_role is None:
            continue
        instruments = roles[kit_role]
        layers = [load(p) for p in instruments[int(rng.integers(len(instruments)))]]
        layers.sort(key=lambda y: float(np.sqrt(np.mean(np.square(y[: int(0.1 * sr)])))))
        chosen[role] = layers
    if len(chosen) < 2:
        raise ValueError(f"kit {spec.kit} can play fewer than two instruments of {pattern.pid}")
    events: list[tuple[int, str, np.ndarray, float]] = []
    for bar in range(spec.bars):
        for hit in pattern.hits:
            if hit.role not in chosen or rng.random() > hit.probability:
                continue
            beat = bar * pattern.beats + _swung(hit.beat, spec.swing)
            jitter = float(np.clip(rng.normal(0.0, 0.004), -0.01, 0.01))
            start = round((beat * beat_s + jitter) * sr) % length
            vel = float(np.clip(hit.velocity * rng.uniform(0.88, 1.08), 0.05, 1.0))
            layers = chosen[hit.role]
            idx = min(len(layers) - 1, int(vel * len(layers)))
            gain = (0.35 + 0.65 * vel) if len(layers) > 1 else vel**0.8
            events.append((start, hit.role, layers[idx], gain))
    events.sort(key=lambda e: e[0])
    # hi-hat choke: a hat note stops the hat still ringing
    hat_starts = [e[0] for e in events if e[1] in _HATS]
    fade = int(0.01 * sr)
    for start, role, y, gain in events:
        seg = y.astype(np.float64) * gain
        if role in _HATS:
            later = [s for s in hat_starts if s > start]
            if later:
                stop = later[0] - start
                if stop < len(seg):
                    seg = seg[: stop + fade].copy()
                    seg[-min(fade, len(seg)) :] *= np.linspace(1.0, 0.0, min(fade, len(seg)))
        first = seg[: max(0, min(len(seg), length - start))]
        out[start : start + len(first)] += first
        rest = seg[len(first) :]
        while len(rest):  # wrap the tail around to the loop start
            chunk = rest[:length]
            out[: len(chunk)] += chunk
            rest = rest[length:]
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= 0.89 / peak
    return out.astype(np.float32)


def _spread(count: int, n: int) -> list[int]:
    """``count`` split into ``n`` near-equal whole parts (the first ones get the remainder)."""
    return [count // n + (1 if i < count % n else 0) for i in range(n)]


def plan_loops(
    kits: Sequence[LoopKit],
    patterns: Sequence[Pattern],
    count: int,
    seed: int,
    bpm_range: tuple[float, float] = (70, 180),
) -> list[tuple[LoopKit, Pattern, LoopSpec]]:
    """``count`` loops spread evenly over the split groups of ``kits``, then over each group's kits; each
    kit cycles through ``patterns`` in a seeded order with a seeded tempo, swing and length."""
    usable = [k for k in kits if k.playable]
    if not usable or not patterns or count <= 0:
        return []
    groups: dict[str, list[LoopKit]] = {}
    for kit in sorted(usable, key=lambda k: (k.group, k.name)):
        groups.setdefault(kit.group, []).append(kit)
    per_kit: list[tuple[LoopKit, int]] = []
    for (_, members), n_group in zip(sorted(groups.items()), _spread(count, len(groups)), strict=True):
        per_kit += list(zip(members, _spread(n_group, len(members)), strict=True))
    plan = []
    for kit, n in per_kit:
        rng = np.random.default_rng(stable_seed(seed, "plan", kit.name))
        order = [patterns[i] for i in rng.permutation(len(patterns))]
        playable = [p for p in order if sum(resolve_role(kit.roles, r) is not None for r in p.roles) >= 2]
        for i in range(min(n, len(playable) * 3)):
            pattern = playable[i % len(playable)]
            bpm = float(np.round(rng.uniform(*bpm_range), 1))
            swing_choice = rng.random()
            if swing_choice < 0.5:
                swing = pattern.swing
            elif swing_choice < 0.75:
                swing = 0.0
            else:
                swing = float(np.round(rng.uniform(0.1, 0.5), 2))
            bars = choose_bars(bpm, pattern.beats, rng)
            spec = LoopSpec(kit.name, pattern.pid, bpm, swing, bars, stable_seed(seed, kit.name, pattern.pid, i))
            plan.append((kit, pattern, spec))
    return plan

"""The fixed sub-class taxonomy of the Drumsample Tagger (issue 21) and its mapping to the design's classes.

Twelve sub-classes sit beside the five-class ``tag``: a ``subclass`` always belongs to its tag's design class
(:data:`SUBCLASS_CLASS`), so ``Unknown`` splits into ``percussion`` (cowbell, shaker, tambourine, clave, congas,
bongos, woodblock, triangle, …: percussion outside the five classes, not a non-drum) and ``other`` (no
percussion). A clap is a Snare (``clap``), a rimshot or side stick a Snare (``rimshot``); china and splash
cymbals are ``crash``.
"""

from __future__ import annotations

__all__ = ["SUBCLASSES", "SUBCLASS_CLASS", "subclass_of", "subclasses_of"]

SUBCLASSES: tuple[str, ...] = (
    "kick",
    "snare",
    "rimshot",
    "clap",
    "closed_hat",
    "open_hat",
    "ride",
    "crash",
    "tom",
    "loop",
    "percussion",
    "other",
)
SUBCLASS_CLASS: dict[str, str] = {
    "kick": "Kick",
    "snare": "Snare",
    "rimshot": "Snare",
    "clap": "Snare",
    "closed_hat": "Cymbal",
    "open_hat": "Cymbal",
    "ride": "Cymbal",
    "crash": "Cymbal",
    "tom": "Tom",
    "loop": "Drumloop",
    "percussion": "Unknown",
    "other": "Unknown",
}
"""Sub-class → design class (``Unknown`` for ``percussion`` and ``other``)."""

# the dataset's finer labels (docs/dataset.md) -> sub-class
_FINE: dict[str, str] = {
    "snare_roll": "snare",
    "side_stick": "rimshot",
    "pedal_hat": "closed_hat",
    "hat_choke": "closed_hat",
    "hat": "closed_hat",
    "half_open_hat": "open_hat",
    "hat_swish": "open_hat",
    "ride_bell": "ride",
    "ride_choke": "ride",
    "crash_ride": "ride",
    "crash_choke": "crash",
    "china": "crash",
    "splash": "crash",
    "cymbal": "crash",
    "rendered_loop": "loop",
    "real_loop": "loop",
}
_DEFAULT = {"Kick": "kick", "Snare": "snare", "Cymbal": "crash", "Tom": "tom", "Drumloop": "loop"}
"""A sound labelled with a class alone (no finer label) takes its class's generic sub-class."""


def subclass_of(label: str, fine: str, role: str = "") -> str:
    """The sub-class of a dataset sound from its label, its finer label and its role (``hard_negative``:
    percussion outside the five classes)."""
    if fine in SUBCLASSES and SUBCLASS_CLASS[fine] == label:
        return fine
    if label == "Unknown":
        return "percussion" if role == "hard_negative" or fine == "clap" else "other"
    if label in ("Kick", "Tom", "Drumloop"):  # one sub-class each
        return _DEFAULT[label]
    mapped = _FINE.get(fine, fine)
    if mapped in SUBCLASSES and SUBCLASS_CLASS[mapped] == label:
        return mapped
    if not fine and label in _DEFAULT:
        return _DEFAULT[label]
    raise ValueError(f"no sub-class for {label}/{fine}")


def subclasses_of(design_class: str) -> tuple[str, ...]:
    """The sub-classes of a design class (``Unknown``: ``percussion``, ``other``), in :data:`SUBCLASSES` order."""
    return tuple(s for s in SUBCLASSES if SUBCLASS_CLASS[s] == design_class)

"""Class suggestions from the user's corrections: the tagger's mistake a user corrected on a few sounds, found
again on similar sounds.

A *correction* says "this sound the tagger calls ``Kick`` is a ``Tom``". :func:`suggest_classes` spreads the
corrections over the library's k-NN graph (label spreading, Zhou et al. 2004): every corrected sound holds
its user's class; every other sound holds its shown class with weight ``prior_weight`` and takes the rest
from its ``n_neighbors`` nearest sounds, weighted by ``similarity ** power``. A sound is suggested a corrected
class when (a) the library shows it the class the tagger gave the corrected examples (the same mistake:
corrections ``Kick`` → ``Tom`` only speak about sounds shown ``Kick``), and (b) that class holds at least
``min_confidence`` of the spread distribution at the sound: its **confidence**. The uncorrected sounds shown
the tagger's class are the counter-evidence: a real kick whose nearest sounds are other kicks keeps ``Kick``,
while a tom among toms the user corrected takes ``Tom`` from them, also through uncorrected toms between
them. A sound the user refused a suggestion for holds its shown class like a correction (a counter-example for
its neighbours) and is suggested nothing more.

The defaults (k = 4, prior weight 0.02, power 8, confidence ≥ 0.8) are the best of a grid on scenarios the
held-out drum machine is not part of (``bench/correction_quality.py --tune``; docs/evaluation.md,
"Corrections and class suggestions").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .index import LibraryIndex

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "DEFAULT_N_NEIGHBORS",
    "DEFAULT_POWER",
    "DEFAULT_PRIOR_WEIGHT",
    "Suggestion",
    "suggest_classes",
]

DEFAULT_N_NEIGHBORS = 4
DEFAULT_PRIOR_WEIGHT = 0.02
DEFAULT_POWER = 8.0
DEFAULT_MIN_CONFIDENCE = 0.8
MAX_ITERATIONS = 2000
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Suggestion:
    """A class suggested for one sound: ``suggested`` with ``confidence`` (its share of the spread distribution,
    in [``min_confidence``, 1]), instead of the ``shown`` class."""

    sound_id: str
    suggested: str
    confidence: float
    shown: str


def suggest_classes(
    index: LibraryIndex,
    shown: Mapping[str, str | None],
    corrections: Mapping[str, tuple[str, str | None]],
    refused: Iterable[str] = (),
    *,
    n_neighbors: int = DEFAULT_N_NEIGHBORS,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
    power: float = DEFAULT_POWER,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> dict[str, Suggestion]:
    """``{sound id: Suggestion}`` for the indexed sounds the corrections speak about (see the module's text).

    ``shown``: each indexed sound's class as the library shows it now (the user's class for a corrected sound,
    else the tagger's; None or absent: no class). ``corrections``: ``{sound id: (user's class, the tagger's
    class)}``. ``refused``: sounds the user refused a suggestion for. Ids not in ``index`` are ignored.
    """
    if not 0.0 < prior_weight <= 1.0:
        raise ValueError(f"prior_weight must lie in (0, 1], got {prior_weight}")
    if n_neighbors < 1:
        raise ValueError(f"n_neighbors must be at least 1, got {n_neighbors}")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must lie in [0, 1], got {min_confidence}")
    refused = {sid for sid in refused if sid in index}
    corrections = {sid: c for sid, c in corrections.items() if sid in index and c[1] is not None and c[0] != c[1]}
    # corrected class -> the tagger's classes it replaced: the sounds shown one of those are the candidates
    mistakes: dict[str, set[str]] = {}
    for user_class, model_class in corrections.values():
        mistakes.setdefault(user_class, set()).add(model_class)  # type: ignore[arg-type]
    if not corrections or len(index) < 2:
        return {}
    wrongly = set().union(*mistakes.values())
    held = corrections.keys() | refused
    candidates = [sid for sid in index.ids if sid not in held and shown.get(sid) in wrongly]
    if not candidates:
        return {}
    # Held: corrections (their user's class) and sounds with a refused suggestion (their shown class).
    clamped = {sid: user for sid, (user, _) in corrections.items()}
    for sid in refused:
        if sid not in clamped and shown.get(sid):
            clamped[sid] = shown[sid]  # type: ignore[assignment]
    # Only the candidates' distributions move; every other sound keeps its prior (its shown class).
    active = candidates
    labels = sorted({c for c in shown.values() if c} | set(clamped.values()))
    column = {c: i for i, c in enumerate(labels)}
    k = min(n_neighbors, len(index) - 1)
    dist, ids = index.kneighbors(index.vectors(active), k + 1)
    # Each query finds itself (distance 0): drop it, keep k others.
    neighbours = np.empty((len(active), k), dtype=object)
    weights = np.zeros((len(active), k), dtype=np.float64)
    for row, sid in enumerate(active):
        kept = [(d, j) for d, j in zip(dist[row], ids[row], strict=True) if j is not None and j != sid][:k]
        for col, (d, j) in enumerate(kept):
            neighbours[row, col] = j
            weights[row, col] = max(0.0, 1.0 - float(d)) ** power
    totals = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    # Distributions: rows for the active sounds, then one fixed row per other neighbour.
    position = {sid: i for i, sid in enumerate(active)}
    others = sorted({j for j in neighbours.ravel() if j is not None and j not in position})
    for sid in others:
        position[sid] = len(position)
    prior = np.zeros((len(position), len(labels)))
    for sid, i in position.items():
        label = clamped.get(sid, shown.get(sid))
        if label:
            prior[i, column[label]] = 1.0
    rows = np.array([[position[j] if j is not None else 0 for j in line] for line in neighbours], dtype=np.int64)
    n_active = len(active)
    spread = prior.copy()
    for _ in range(MAX_ITERATIONS):
        moved = (1.0 - prior_weight) * np.einsum("nk,nkc->nc", weights, spread[rows]) + prior_weight * prior[:n_active]
        change = float(np.abs(moved - spread[:n_active]).max())
        spread[:n_active] = moved
        if change < TOLERANCE:
            break
    out: dict[str, Suggestion] = {}
    for sid in active:
        current = shown[sid]
        best: tuple[float, str] | None = None
        for user_class, replaced in mistakes.items():
            if current not in replaced:
                continue
            confidence = float(spread[position[sid], column[user_class]])
            if confidence > 0.0 and confidence >= min_confidence and (best is None or confidence > best[0]):
                best = (confidence, user_class)
        if best is not None:
            out[sid] = Suggestion(sid, best[1], round(min(1.0, best[0]), 6), current)  # type: ignore[arg-type]
    return out

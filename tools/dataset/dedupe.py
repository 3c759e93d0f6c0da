"""Find copies of one recording: velocity layers that are gain-scaled copies, the same sample in two kits.

Two sounds are the same recording when the Pearson correlation of their onset-aligned first 0.3 s is at
least 0.99 (a gain change leaves it at 1.0; a different hit of the same drum stays well below). A lag of
a few samples is allowed for copies resampled or re-cut by a sample or two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "DEDUPE_RATE",
    "NEAR_COPY",
    "THRESHOLD",
    "WINDOW",
    "cross_similarity",
    "find_copies",
    "fingerprint",
    "same_recording",
    "similar_pairs",
    "similarity_matrix",
]

DEDUPE_RATE = 22050
WINDOW = 0.3
THRESHOLD = 0.99
NEAR_COPY = 0.9
"""Below :data:`THRESHOLD` but this alike: a re-cut, re-processed or re-sampled copy, which must not cross
from a reserved package or a scarcer split into training."""
MAX_LAG = 2
_ONSET_REL = 0.05  # onset = first sample reaching 5 % of the peak (the same for any gain)


def fingerprint(y: np.ndarray, sr: int = DEDUPE_RATE, window: float = WINDOW) -> np.ndarray | None:
    """Zero-mean, unit-norm first ``window`` s after the onset of ``y`` (zero-padded); None if silent."""
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0:
        return None
    peak = float(np.max(np.abs(y)))
    if peak <= 1e-6:
        return None
    onset = int(np.argmax(np.abs(y) >= _ONSET_REL * peak))
    n = round(window * sr)
    seg = np.zeros(n + 2 * MAX_LAG, dtype=np.float32)
    part = y[max(0, onset - MAX_LAG) : onset + n + MAX_LAG]
    seg[: len(part)] = part
    seg -= seg.mean()
    norm = float(np.linalg.norm(seg[MAX_LAG : MAX_LAG + n]))
    if norm <= 1e-9:
        return None
    return seg / norm


def cross_similarity(prints: Sequence[np.ndarray], others: Sequence[np.ndarray]) -> np.ndarray:
    """Best correlation over lags of -MAX_LAG..MAX_LAG samples of every fingerprint in ``prints`` (rows) with
    every fingerprint in ``others`` (columns)."""
    if not prints or not others:
        return np.zeros((len(prints), len(others)), dtype=np.float32)
    a = np.stack(prints).astype(np.float32)
    b = np.stack(others).astype(np.float32)
    n = a.shape[1] - 2 * MAX_LAG
    centre_a, centre_b = a[:, MAX_LAG : MAX_LAG + n], b[:, MAX_LAG : MAX_LAG + n]
    best = centre_a @ centre_b.T
    for lag in range(1, MAX_LAG + 1):
        forward = centre_a @ b[:, MAX_LAG + lag : MAX_LAG + lag + n].T
        backward = (centre_b @ a[:, MAX_LAG + lag : MAX_LAG + lag + n].T).T
        best = np.maximum(best, np.maximum(forward, backward))
    return best


def similarity_matrix(prints: Sequence[np.ndarray]) -> np.ndarray:
    """Best correlation over lags of -MAX_LAG..MAX_LAG samples for every pair of fingerprints."""
    return cross_similarity(prints, prints)


def same_recording(a: np.ndarray, b: np.ndarray, sr: int = DEDUPE_RATE, threshold: float = THRESHOLD) -> bool:
    """True when ``a`` and ``b`` are copies of one recording (possibly at another gain)."""
    fa, fb = fingerprint(a, sr), fingerprint(b, sr)
    if fa is None or fb is None:
        return False
    return bool(similarity_matrix([fa, fb])[0, 1] >= threshold)


def similar_pairs(prints: Sequence[np.ndarray | None], threshold: float = THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, similarity)`` with ``i < j`` that are one recording; ``None`` prints match nothing."""
    valid = [i for i, p in enumerate(prints) if p is not None]
    if len(valid) < 2:
        return []
    sim = similarity_matrix([prints[i] for i in valid])  # type: ignore[misc]
    rows, cols = np.nonzero(np.triu(sim >= threshold, k=1))
    return [(valid[r], valid[c], float(sim[r, c])) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]


def find_copies(
    prints: Sequence[np.ndarray | None], order: Sequence[int] | None = None, threshold: float = THRESHOLD
) -> dict[int, int]:
    """``{copy index: kept index}``: walking the items in ``order`` (preferred copies first), an item that is
    one recording with an item already kept is a copy of it.

    Not transitive on purpose: every copy matches its kept item directly, so a chain of velocity layers
    that each resemble the next (softest ~ soft ~ medium ...) does not collapse into one sound.
    """
    neighbours: dict[int, dict[int, float]] = {}
    for i, j, value in similar_pairs(prints, threshold):
        neighbours.setdefault(i, {})[j] = value
        neighbours.setdefault(j, {})[i] = value
    kept: set[int] = set()
    copies: dict[int, int] = {}
    for i in order if order is not None else range(len(prints)):
        matches = {k: v for k, v in neighbours.get(i, {}).items() if k in kept}
        if matches:
            copies[i] = max(matches, key=lambda k: (matches[k], -k))
        else:
            kept.add(i)
    return copies

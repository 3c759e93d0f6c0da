"""Recommender: sounds similar to a user's favourites, or to one sound.

* :func:`get_n_most_similar_sounds_mult` — the design's call (listing 3) on a folder of recommendation
  batches, with the design's CMVN-MFCC distance (shorter sequence zero-padded, cosine distance).
* :class:`Recommender` — the same on a :class:`~.index.LibraryIndex` (any feature space, persisted,
  vectorised): :meth:`Recommender.recommend` for a set of favourites, :meth:`Recommender.similar_to`
  for one sound.

Several favourites are aggregated by rank: each favourite ranks the library by distance, and the n
sounds with the best rank over the favourites (ties broken by distance) are recommended, listed nearest
first. The picks are therefore the nearest neighbours of *different* favourites — a user with 30
favourites gets a mix, not ten neighbours of the one favourite in the densest corner of the library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batches import RECOMMENDATION
from .index import EmptyLibraryError, LibraryIndex, UnknownSoundError
from .vectors import feature_files, load_cached, mfcc_vector, resolve_feature_file

__all__ = [
    "EmptyLibraryError",
    "Recommendation",
    "Recommender",
    "UnknownSoundError",
    "fuse_rankings",
    "get_n_most_similar_sounds_mult",
]


@dataclass(frozen=True)
class Recommendation:
    """One recommended sound: its id, its cosine distance to the nearest favourite, and that favourite."""

    sound: str
    distance: float
    because_of: str


def fuse_rankings(
    rankings: Sequence[Sequence[tuple[str, float]]], favourites: Sequence[str], n: int
) -> list[Recommendation]:
    """Merge per-favourite rankings ``[(sound, distance), ...]`` (nearest first) into ``n`` recommendations.

    The ``n`` sounds are chosen by (best rank over the favourites, distance at that rank), then
    returned nearest first (by their distance to the nearest favourite).
    """
    best: dict[str, tuple[int, float]] = {}
    nearest: dict[str, tuple[float, str]] = {}
    for fav, ranking in zip(favourites, rankings, strict=True):
        for rank, (sound, dist) in enumerate(ranking):
            dist = float(dist)
            if sound not in best or (rank, dist) < best[sound]:
                best[sound] = (rank, dist)
            if sound not in nearest or dist < nearest[sound][0]:
                nearest[sound] = (dist, fav)
    chosen = sorted(best, key=lambda sound: (*best[sound], sound))[: max(n, 0)]
    chosen.sort(key=lambda sound: (nearest[sound][0], sound))
    return [Recommendation(sound, *nearest[sound]) for sound in chosen]


# ---------------------------------------------------------------------- the design's call
def get_n_most_similar_sounds_mult(
    n: int,
    favourites: Iterable[str | os.PathLike[str]],
    batches_dir: str | os.PathLike[str],
    exclude_favourites: bool = True,
) -> list[str]:
    """The ``n`` sounds of ``batches_dir`` most similar to the favourites (listing 3).

    ``favourites`` name sounds of the library by original audio path, base name or ``.npz`` path;
    ``batches_dir`` holds their recommendation batches (``utils.save_recommendation_batches_to_disk``).
    Distance: the design's — CMVN-MFCC, the shorter sequence zero-padded to the longer, cosine
    distance — computed exactly. With ``exclude_favourites`` the favourites themselves are never
    recommended. Several favourites are merged by rank (see the module docstring).

    Returns the recommended sounds' original audio paths (as given to the batch writer), most similar
    first; fewer than ``n`` when the library is smaller. Raises :class:`~.index.UnknownSoundError`
    for a favourite not in the library, :class:`~.index.EmptyLibraryError` for an empty library.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    root = os.fspath(batches_dir)
    files = feature_files(root)
    if not files:
        raise EmptyLibraryError(f"{root}: no recommendation batches (.npz) in this directory")
    favs = list(dict.fromkeys(os.path.realpath(resolve_feature_file(f, root)) for f in favourites))
    if not favs:
        raise ValueError("no favourites given")
    fav_data = [load_cached(f, RECOMMENDATION).data for f in favs]
    fav_names = [load_cached(f, RECOMMENDATION).source_path for f in favs]
    # Every compared pair includes a favourite: keeping max(favourite length) frames of each
    # candidate, scaled by its full norm, gives the exact zero-padding distance (see vectors.py).
    frames = max(1, *(len(d) for d in fav_data))
    queries = np.stack([mfcc_vector(d, frames) for d in fav_data])
    fav_set = set(favs)
    names: list[str] = []
    dists: list[np.ndarray] = []
    seen: set[str] = set()
    chunk: list[np.ndarray] = []

    def flush() -> None:
        if chunk:
            dists.append(1.0 - np.stack(chunk) @ queries.T)
            chunk.clear()

    for f in files:
        real = os.path.realpath(f)
        batch = load_cached(f)
        if batch.kind != RECOMMENDATION or (exclude_favourites and real in fav_set):
            continue
        if batch.source_path in seen:  # the same sound's batch written twice: count it once
            continue
        seen.add(batch.source_path)
        names.append(batch.source_path)
        chunk.append(mfcc_vector(batch.data, frames))
        if len(chunk) >= 2048:
            flush()
    flush()
    if not names:
        return []
    dist = np.maximum(np.concatenate(dists), 0.0).T  # (favourites, candidates)
    k = min(len(names), n)
    rankings = []
    for row in dist:
        top = np.argsort(row, kind="stable")[:k]
        rankings.append([(names[j], float(row[j])) for j in top])
    return [r.sound for r in fuse_rankings(rankings, fav_names, n)]


# ---------------------------------------------------------------------- on a library index
class Recommender:
    """Recommendations from a :class:`LibraryIndex` (scikit-learn style: parameters here, ``fit(index)``).

    ``n_recommendations`` is the default number returned; ``exclude_favourites`` keeps the favourites
    out of the results.
    """

    def __init__(self, n_recommendations: int = 10, exclude_favourites: bool = True) -> None:
        self.n_recommendations = n_recommendations
        self.exclude_favourites = exclude_favourites

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style)."""
        return {"n_recommendations": self.n_recommendations, "exclude_favourites": self.exclude_favourites}

    def fit(self, index: LibraryIndex) -> Recommender:
        """Use ``index`` (not copied: later ``add``/``remove`` on it are seen at once)."""
        self.index_ = index
        return self

    def _index(self) -> LibraryIndex:
        if not hasattr(self, "index_"):
            raise RuntimeError("Recommender is not fitted: call fit(index) first")
        if len(self.index_) == 0:
            raise EmptyLibraryError("the library index holds no sounds: nothing to recommend")
        return self.index_

    def recommend(
        self, favourites: Iterable[str], n: int | None = None, *, exclude: Iterable[str] = ()
    ) -> list[Recommendation]:
        """The ``n`` sounds most similar to the favourites (named by id, path or unique base name), rank-merged.

        ``exclude`` names further sounds never to recommend (e.g. ones the user already dismissed).
        """
        index = self._index()
        n = self.n_recommendations if n is None else n
        favs = list(dict.fromkeys(index.resolve(f) for f in favourites))
        if not favs:
            raise ValueError("no favourites given")
        banned = {index.resolve(e) for e in exclude}
        if self.exclude_favourites:
            banned |= set(favs)
        available = len(index) - len(banned)
        if n <= 0 or available <= 0:
            return []
        k = min(n, available)
        queries = index.vectors(favs)
        dists, ids = index.kneighbors(queries, k, exclude=banned)
        rankings = [
            [(i, float(d)) for d, i in zip(dists[row], ids[row], strict=True) if i is not None]
            for row in range(len(favs))
        ]
        return fuse_rankings(rankings, favs, n)

    def similar_to(self, sound: str, n: int | None = None, *, exclude: Iterable[str] = ()) -> list[Recommendation]:
        """The ``n`` sounds most similar to one sound of the library (itself excluded), nearest first."""
        index = self._index()
        n = self.n_recommendations if n is None else n
        sound_id = index.resolve(sound)
        banned = {index.resolve(e) for e in exclude} | {sound_id}
        if n <= 0 or len(index) - len(banned) <= 0:
            return []
        dists, ids = index.kneighbors(index.vectors([sound_id]), n, exclude=banned)
        return [Recommendation(i, float(d), sound_id) for d, i in zip(dists[0], ids[0], strict=True) if i is not None]

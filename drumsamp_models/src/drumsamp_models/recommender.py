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

:meth:`Recommender.recommend` also re-ranks for **variety** (``diversity``, on by default): the favourites take
turns, and each picks, among its nearest sounds, the one with the best maximal-marginal-relevance score
``(1 - diversity) * similarity to the favourite - diversity * highest similarity to a sound already
recommended``. A near-duplicate of a favourite or of an earlier pick — closer than ``duplicate_distance``, or a
velocity layer or round robin by its name (:func:`layer_key`) closer than ``layer_distance`` — only comes once
nothing else is left, and with ``classes`` a favourite's own class comes first. So the velocity layers of one
kit's kick no longer fill the list (docs/evaluation.md, "Recommendation variety"). Every
:class:`Recommendation` names the favourite it comes from; the list is nearest first, the demoted picks last.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .batches import RECOMMENDATION
from .index import EmptyLibraryError, LibraryIndex, UnknownSoundError, _normalise
from .vectors import feature_files, load_cached, mfcc_vector, resolve_feature_file

__all__ = [
    "DEFAULT_DIVERSITY",
    "DUPLICATE_DISTANCE",
    "LAYER_DISTANCE",
    "EmptyLibraryError",
    "Recommendation",
    "Recommender",
    "UnknownSoundError",
    "diversify",
    "fuse_rankings",
    "get_n_most_similar_sounds_mult",
    "layer_key",
]


DEFAULT_DIVERSITY = 0.3
"""Weight of variety against similarity in :class:`Recommender`'s re-ranking (0: plain rank merging). This value,
``DUPLICATE_DISTANCE`` and ``LAYER_DISTANCE`` were chosen on the train-split Hydrogen kits by
``bench/recommend_quality.py --grid``; docs/evaluation.md has the figures on kits the choice never saw."""
DUPLICATE_DISTANCE: dict[str, float] = {"musicnn+descriptors": 0.03}
"""Per feature space: the cosine distance under which two sounds count as near-duplicates, whatever their names;
other spaces: none."""
LAYER_DISTANCE: dict[str, float] = {"musicnn+descriptors": 0.3}
"""Per feature space: the cosine distance under which two sounds whose names say they are layers of one sound
(:func:`layer_key`) count as near-duplicates; other spaces: 0.3."""
POOL = 8
"""Each favourite's candidates for the re-ranking: its ``POOL * n`` nearest sounds."""


@dataclass(frozen=True)
class Recommendation:
    """One recommended sound: its id, its cosine distance to the favourite it comes from, and that favourite."""

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


_LAYER_WORD = re.compile(
    r"^(soft(er|est)?|hard(er|est)?|med(ium)?|loud|quiet|ghost|accent|acc|alt|long|short|p{1,3}|f{1,3}|mp|mf"
    r"|pianissimo|piano|mezzo|forte|fortissimo|(v|vel|velocity|rr|round|robin|layer|var|take)\d*)$"
)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@lru_cache(maxsize=1 << 16)
def layer_key(name: str) -> str:
    """The sound a file is a velocity layer or round robin of, by its name: folder and file name without the
    extension, a trailing number and words of dynamics, articulation length or round robin, lower case.

    ``Kit/BD_03.aiff`` and ``Kit/BD_07.aiff``, ``Kit/Kick-Soft.wav`` and ``Kit/Kick-Hard.wav``,
    ``Kit/hihat-closed-long.wav`` and ``Kit/hihat-closed.wav`` share a key; ``Kit/Tom1-Soft.wav`` and
    ``Kit/Tom2-Soft.wav`` or ``Kit/tom-high.wav`` and ``Kit/tom-low.wav`` do not.
    """
    folder, _, file = name.replace("\\", "/").rpartition("/")
    stem = file.rsplit(".", 1)[0] if "." in file else file
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", _CAMEL.sub(" ", stem)) if w]
    if len(words) > 1 and words[-1].isdigit():
        words.pop()
    kept = [w for w in words if not _LAYER_WORD.match(w)]
    return f"{folder.lower()}/{' '.join(kept or words)}"


def diversify(
    sims: np.ndarray,
    candidates: np.ndarray,
    pool_vectors: np.ndarray,
    n: int,
    diversity: float,
    favourite_vectors: np.ndarray,
    duplicate_distance: float | None = None,
    same_class: np.ndarray | None = None,
    pool_layers: np.ndarray | None = None,
    favourite_layers: np.ndarray | None = None,
    layer_distance: float | None = None,
    keep: Sequence[int] = (),
) -> list[tuple[int, int, bool]]:
    """Maximal-marginal-relevance picks: ``[(favourite row, pool column, demoted)]``, at most ``n``, in pick order.

    ``candidates`` (favourites, k) holds pool columns (-1: none) with ``sims`` their similarity to the row's
    favourite; ``pool_vectors`` (pool, dim) and ``favourite_vectors`` are unit rows. Favourites take turns (in
    each round the one with the best pick goes first) and pick by: their own class first (``same_class``,
    (favourites, k)), then no near-duplicate of a favourite or an earlier pick, then the score
    ``(1 - diversity) * sim - diversity * highest similarity to a pick``. A near-duplicate lies within
    ``duplicate_distance``, or within ``layer_distance`` with the same layer code (``pool_layers`` /
    ``favourite_layers``: integer codes of :func:`layer_key`); the pool columns in ``keep`` (favourites that may
    be recommended) never count as one. ``demoted``: the pick was of another class or a near-duplicate.
    """
    n_fav = len(candidates)
    size = len(pool_vectors)
    valid = candidates >= 0
    cols = np.where(valid, candidates, 0)
    sims = np.where(valid, sims, 0.0)
    use_layers = layer_distance is not None and pool_layers is not None and favourite_layers is not None
    redundancy = np.zeros(size, dtype=np.float64)  # highest similarity to a pick (0 before the first)
    duplicate = np.zeros(size, dtype=bool)

    def mark(similarity: np.ndarray, layer: int | None) -> None:
        if duplicate_distance is not None:
            duplicate[(1.0 - similarity) < duplicate_distance] = True
        if use_layers and layer is not None:
            duplicate[(pool_layers == layer) & ((1.0 - similarity) < layer_distance)] = True  # type: ignore[operator]

    for start in range(0, len(favourite_vectors), 256):  # one matrix product per block of favourites
        far = 1.0 - favourite_vectors[start : start + 256] @ pool_vectors.T
        if duplicate_distance is not None:
            duplicate |= (far < duplicate_distance).any(axis=0)
        if use_layers:
            layers = favourite_layers[start : start + 256, None]  # type: ignore[index]
            duplicate |= ((pool_layers[None, :] == layers) & (far < layer_distance)).any(axis=0)  # type: ignore[index,operator]
    duplicate[list(keep)] = False
    taken = np.zeros(size, dtype=bool)
    picks: list[tuple[int, int, bool]] = []
    waiting = np.ones(n_fav, dtype=bool)  # favourites that have not picked in this round
    base = 4.0 * (np.ones(cols.shape) if same_class is None else same_class)
    while len(picks) < n:
        score = base + 2.0 * ~duplicate[cols] + (1.0 - diversity) * sims - diversity * redundancy[cols]
        score[~valid | taken[cols]] = -np.inf
        best = score.argmax(axis=1)
        top = score[np.arange(n_fav), best]
        if not np.isfinite(top).any():
            break
        if not np.isfinite(top[waiting]).any():
            waiting[:] = True  # the others have nothing left: a new round
            continue
        row = int(np.argmax(np.where(waiting, top, -np.inf)))
        col = int(cols[row, best[row]])
        picks.append((row, col, bool(duplicate[col] or base[row, best[row]] == 0.0)))
        waiting[row] = False
        if not waiting.any():
            waiting[:] = True
        taken[col] = True
        similarity = np.einsum("pd,d->p", pool_vectors, pool_vectors[col])  # no BLAS threads for one vector
        np.maximum(redundancy, similarity, out=redundancy)
        mark(similarity, int(pool_layers[col]) if use_layers else None)  # type: ignore[index]
    return picks


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
    out of the results. :meth:`recommend` re-ranks for variety: ``diversity`` (0..1, default
    :data:`DEFAULT_DIVERSITY`) weighs it against similarity; ``duplicate_distance`` is the near-duplicate
    radius and ``layer_distance`` the radius for sounds named as layers of one sound (:func:`layer_key`)
    (``"auto"``: :data:`DUPLICATE_DISTANCE` / :data:`LAYER_DISTANCE` of the index's space; ``None``: no such
    rule); ``pool`` sets how many of each favourite's nearest sounds compete (``pool * n``). With
    ``diversity=0, duplicate_distance=None, layer_distance=None`` and no classes it is :func:`fuse_rankings`.
    """

    def __init__(
        self,
        n_recommendations: int = 10,
        exclude_favourites: bool = True,
        diversity: float = DEFAULT_DIVERSITY,
        duplicate_distance: float | str | None = "auto",
        layer_distance: float | str | None = "auto",
        pool: int = POOL,
    ) -> None:
        self.n_recommendations = n_recommendations
        self.exclude_favourites = exclude_favourites
        self.diversity = diversity
        self.duplicate_distance = duplicate_distance
        self.layer_distance = layer_distance
        self.pool = pool

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style)."""
        return {
            "n_recommendations": self.n_recommendations,
            "exclude_favourites": self.exclude_favourites,
            "diversity": self.diversity,
            "duplicate_distance": self.duplicate_distance,
            "layer_distance": self.layer_distance,
            "pool": self.pool,
        }

    def _radii(self, index: LibraryIndex) -> tuple[float | None, float | None]:
        """(near-duplicate radius, layer radius) for the index's feature space."""
        space = index.space or ""
        dup = DUPLICATE_DISTANCE.get(space) if self.duplicate_distance == "auto" else self.duplicate_distance
        layer = LAYER_DISTANCE.get(space, 0.3) if self.layer_distance == "auto" else self.layer_distance
        return (None if dup is None else float(dup)), (None if layer is None else float(layer))

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
        self,
        favourites: Iterable[str],
        n: int | None = None,
        *,
        exclude: Iterable[str] = (),
        classes: Mapping[str, str] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> list[Recommendation]:
        """The ``n`` sounds most similar to the favourites (named by id, path or unique base name), best first.

        ``exclude`` names further sounds never to recommend (e.g. ones the user already dismissed);
        ``classes`` ({sound id: instrument class}, e.g. the drum tagger's) puts each favourite's own class first;
        ``names`` ({sound id: file path}, default the ids) tell velocity layers apart (:func:`layer_key`).
        Each recommendation's ``because_of`` is the favourite it was picked for, ``distance`` its distance to it.
        """
        if not 0.0 <= self.diversity <= 1.0:
            raise ValueError("diversity must lie in [0, 1]")
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
        dup_radius, layer_radius = self._radii(index)
        plain = self.diversity == 0.0 and dup_radius is None and layer_radius is None and classes is None
        k = min(n if plain else max(1, self.pool) * n, available)
        queries = index.vectors(favs)
        dists, ids = index.kneighbors(queries, k, exclude=banned)
        if plain:
            rankings = [
                [(i, float(d)) for d, i in zip(dists[row], ids[row], strict=True) if i is not None]
                for row in range(len(favs))
            ]
            return fuse_rankings(rankings, favs, n)
        pool_ids = list(dict.fromkeys(i for i in ids.ravel() if i is not None))
        column = {sound: c for c, sound in enumerate(pool_ids)}
        candidates = np.array([[column[i] if i is not None else -1 for i in row] for row in ids], dtype=np.int64)
        same_class = None
        if classes is not None:
            own = [classes.get(f) or None for f in favs]
            same_class = np.array(
                [[own[r] is None or classes.get(i or "") == own[r] for i in row] for r, row in enumerate(ids)]
            )
        codes: dict[str, int] = {}

        def layer_codes(sounds: Sequence[str]) -> np.ndarray:
            keys = [layer_key(names.get(i, i) if names is not None else i) for i in sounds]
            return np.array([codes.setdefault(key, len(codes)) for key in keys], dtype=np.int64)

        picks = diversify(
            1.0 - dists.astype(np.float64),
            candidates,
            _normalise(index.vectors(pool_ids)),
            n,
            float(self.diversity),
            _normalise(queries),
            duplicate_distance=dup_radius,
            same_class=same_class,
            pool_layers=layer_codes(pool_ids),
            favourite_layers=layer_codes(favs),
            layer_distance=layer_radius,
            keep=[column[f] for f in favs if f in column],
        )
        found = []
        for row, col, demoted in picks:
            pos = int(np.flatnonzero(candidates[row] == col)[0])
            found.append((demoted, Recommendation(pool_ids[col], float(dists[row, pos]), favs[row])))
        found.sort(key=lambda p: (p[0], p[1].distance, p[1].sound))
        return [rec for _, rec in found]

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

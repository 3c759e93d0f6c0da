"""Custom tagger: the user's own tags ("dusty", "909", "my trap kit") spread to similar sounds.

Two ways in:

* :func:`get_custom_tag_nearest` — the design's call (listing 2): one feature file, a ``{file name: tag}``
  dictionary and a cosine-distance threshold on the design's CMVN-MFCC distance.
* :class:`CustomTagger` and :func:`propagate_tags` — any number of tags per sound, spread precision first by a
  distance-weighted vote of the nearest user-tagged sounds (with a doubt vote), a confidence per tag never
  below :data:`CONFIDENCE_FLOOR`, a reach that widens it, and the user's explicit tags always kept over
  propagated ones. Works on a :class:`~.index.LibraryIndex`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batches import RECOMMENDATION
from .index import EmptyLibraryError, LibraryIndex, _normalise
from .vectors import design_distance, load_cached, resolve_feature_file

__all__ = [
    "CONFIDENCE_FLOOR",
    "DEFAULT_BANDWIDTH",
    "DEFAULT_HORIZON",
    "DEFAULT_MIN_CONFIDENCE",
    "DEFAULT_MIN_SCALE",
    "DEFAULT_N_NEIGHBORS",
    "DEFAULT_REACH",
    "DESIGN_THRESHOLD",
    "REACH_LEVELS",
    "SPACE_PARAMS",
    "CustomTagger",
    "TagScore",
    "get_custom_tag_nearest",
    "normalise_tag_dict",
    "propagate_tags",
    "reach_confidence",
]

DESIGN_THRESHOLD = 0.002
"""The design's fixed cosine-distance threshold (kept for :func:`get_custom_tag_nearest`)."""
CONFIDENCE_FLOOR = 0.5
"""No propagated tag has a lower confidence: below it a tag is more likely wrong than right by its own vote."""
DEFAULT_N_NEIGHBORS = 3
DEFAULT_MIN_CONFIDENCE = 0.9
DEFAULT_BANDWIDTH = 0.15
DEFAULT_HORIZON = 0.5
DEFAULT_MIN_SCALE = 0.038
"""Precision-first defaults (k = 3, confidence ≥ 0.9, votes decaying e-fold every 0.15 × the tag's spread, the doubt
vote at 0.5 × spread): the widest setting whose precision was ≥ 0.90 on every tag task of the train kits in the
default space, with and without instrument classes (``bench/similarity_quality.py``, tagger 0.7's dataset);
``DEFAULT_MIN_SCALE`` is the train kits' median nearest-neighbour distance in that space (measured on an earlier
dataset). docs/evaluation.md has the figures on the held-out kits."""
REACH_LEVELS: dict[str, float] = {"strict": 0.2, "balanced": 0.5, "wide": 1.0}
"""Named reaches; a reach ``r`` in [0, 1] keeps the tags of confidence ≥ ``1 - r/2`` (:func:`reach_confidence`):
strict 0.9 (the default), balanced 0.75, wide 0.5 (the floor)."""
DEFAULT_REACH = "strict"
SPACE_PARAMS: dict[str, dict[str, Any]] = {
    "musicnn": {"min_scale": 0.029},
    "musicnn+mfcc": {"min_scale": 0.076},
    "mfcc": {"min_scale": 0.444},
    "musicnn+descriptors": {"min_scale": DEFAULT_MIN_SCALE},
}
"""Parameters per feature space (:data:`~.vectors.SPACES`): the median distance from a one-shot to its nearest
other one-shot in the train kits of the drum dataset, the smallest scale of a tag; used by
:meth:`CustomTagger.for_space` and by :func:`propagate_tags` when it is given no tagger."""


def reach_confidence(reach: float | str) -> float:
    """The minimum confidence of a reach: a name of :data:`REACH_LEVELS` or a number ``r`` in [0, 1] → ``1 - r/2``."""
    if isinstance(reach, str):
        if reach not in REACH_LEVELS:
            raise ValueError(f"unknown reach {reach!r}: use a number from 0 to 1 or one of {', '.join(REACH_LEVELS)}")
        reach = REACH_LEVELS[reach]
    if isinstance(reach, bool) or not isinstance(reach, (int, float)) or not 0.0 <= float(reach) <= 1.0:
        raise ValueError(f"reach must be a number from 0 to 1 or one of {', '.join(REACH_LEVELS)}, not {reach!r}")
    return 1.0 - float(reach) / 2.0


def normalise_tag_dict(tag_dict: Mapping[Any, str | Iterable[str]]) -> dict[str, list[str]]:
    """``{name: tag or tags}`` → ``{name: [tags]}``: strings stripped, empty tags and duplicates dropped."""
    out: dict[str, list[str]] = {}
    for name, value in tag_dict.items():
        values = [value] if isinstance(value, str) else list(value)
        tags: list[str] = []
        for tag in values:
            if not isinstance(tag, str):
                raise TypeError(f"tags of {name!r} must be strings, got {type(tag).__name__}")
            tag = tag.strip()
            if tag and tag not in tags:
                tags.append(tag)
        out[os.fspath(name)] = tags
    return out


# ---------------------------------------------------------------------- the design's call
def get_custom_tag_nearest(
    npz_file: str | os.PathLike[str],
    custom_tag_dict: Mapping[Any, str | Iterable[str]],
    cosine_dist_thresh: float = DESIGN_THRESHOLD,
    *,
    batches_dir: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Custom tags of one sound by the design's rule (listing 2).

    ``npz_file`` is the sound's recommendation feature file (or its audio path / base name when
    ``batches_dir`` is given); ``custom_tag_dict`` maps user-tagged sounds — by original audio path,
    base name or ``.npz`` path, all looked up in the same batches directory (default: the folder of
    ``npz_file``) — to one tag or a list of tags. Distances are the design's: CMVN-MFCC, the shorter
    sequence zero-padded to the longer, cosine distance.

    Returns the list of custom tags of the sound: its own tags if the user tagged it (explicit tags
    win), else the tags of every tagged sound within ``cosine_dist_thresh``, nearest first, each tag
    once; an empty list when none is close enough. Unknown names raise
    :class:`~.index.UnknownSoundError`.
    """
    root = os.fspath(batches_dir) if batches_dir is not None else os.path.dirname(os.fspath(npz_file)) or "."
    query_path = resolve_feature_file(npz_file, root)
    query = load_cached(query_path, RECOMMENDATION)
    tagged = normalise_tag_dict(custom_tag_dict)
    scored: list[tuple[float, int, int, str]] = []
    for order, (name, tags) in enumerate(tagged.items()):
        path = resolve_feature_file(name, root)
        if os.path.samefile(path, query_path):
            return list(tags)
        dist = design_distance(query.data, load_cached(path, RECOMMENDATION).data)
        if dist <= cosine_dist_thresh:
            scored.extend((dist, order, pos, tag) for pos, tag in enumerate(tags))
    result: list[str] = []
    for *_, tag in sorted(scored):
        if tag not in result:
            result.append(tag)
    return result


# ---------------------------------------------------------------------- k-NN propagation
@dataclass(frozen=True)
class TagScore:
    """One tag of one sound: ``source`` is ``"user"`` (explicit, confidence 1) or ``"propagated"``."""

    tag: str
    confidence: float
    source: str


class CustomTagger:
    """Multi-tag k-NN propagation from user-tagged sounds, precision first.

    **Confidence.** For a sound ``x``, its ``n_neighbors`` nearest examples vote on each tag ``t`` on its own: an
    example that carries ``t`` votes for it, any other user-tagged example votes against it (a sound the user
    tagged has exactly the tags it shows), and so does an example from which the user removed ``t``. A vote
    weighs ``exp(-d / (bandwidth · s))``, ``d`` being the example's distance to ``x`` and ``s`` its scale. A
    doubt vote against every tag weighs as much as an example ``horizon · s`` away. The confidence of ``t`` is
    the share of all these votes that is for ``t``, in [0, 1): high only when examples of ``t`` are close
    (relative to the tag's scale), several agree, and no close example says otherwise. An example with several
    tags votes with full weight for each: tags never share one vote. ``x`` gets every tag of confidence
    ≥ ``min_confidence``, which may not be below :data:`CONFIDENCE_FLOOR` (0.5).

    **Scale.** With ``scale="auto"`` a tag's scale is its spread, the median distance from each of its
    examples to the nearest other one (of the same class when classes are given), and at least ``min_scale``
    (the typical nearest-neighbour distance of the feature space); a tag with a single example has scale
    ``min_scale``. A float ``scale`` is one absolute cosine distance for every tag. An example's scale is the
    largest of its tags' (and rejected tags').

    With ``classes`` (an instrument class per sound, e.g. the tagger's Kick / Snare / Cymbal / Tom) given to
    ``fit`` and ``predict_confidence``, a sound is compared only with examples of its own class. ``rejected``
    given to ``fit`` (per row, the tags the user removed from that sound) makes a row a counter-example for
    those tags; a row may hold rejections only.

    Inputs are vectors of one feature space, L2-normalised unless ``normalize=False``.
    Attributes after ``fit``: ``tags_`` (sorted), ``scales_`` ({tag: distance}), ``n_examples_``,
    ``n_rejections_``.
    """

    def __init__(
        self,
        n_neighbors: int = DEFAULT_N_NEIGHBORS,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        scale: float | str = "auto",
        bandwidth: float = DEFAULT_BANDWIDTH,
        horizon: float = DEFAULT_HORIZON,
        min_scale: float = DEFAULT_MIN_SCALE,
        normalize: bool = True,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.min_confidence = min_confidence
        self.scale = scale
        self.bandwidth = bandwidth
        self.horizon = horizon
        self.min_scale = min_scale
        self.normalize = normalize

    @classmethod
    def for_space(cls, space: str | None, **params: Any) -> CustomTagger:
        """A tagger with the parameters of feature space ``space`` (:data:`SPACE_PARAMS`).

        An unknown or ``None`` space gives the class defaults (those of the default space,
        ``"musicnn+descriptors"``); ``params`` override single parameters.
        """
        return cls(**{**SPACE_PARAMS.get(space or "", {}), **params})

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style)."""
        return {
            "n_neighbors": self.n_neighbors,
            "min_confidence": self.min_confidence,
            "scale": self.scale,
            "bandwidth": self.bandwidth,
            "horizon": self.horizon,
            "min_scale": self.min_scale,
            "normalize": self.normalize,
        }

    def set_params(self, **params: Any) -> CustomTagger:
        """Set constructor parameters (scikit-learn style)."""
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"unknown parameter {key!r}")
            setattr(self, key, value)
        return self

    def _check_params(self) -> None:
        if not CONFIDENCE_FLOOR <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be from {CONFIDENCE_FLOOR} to 1, not {self.min_confidence!r}")
        if self.n_neighbors < 1:
            raise ValueError("n_neighbors must be at least 1")
        if not self.bandwidth > 0 or not self.horizon >= 0 or not self.min_scale > 0:
            raise ValueError("bandwidth and min_scale must be positive, horizon at least 0")
        if self.scale != "auto" and not (isinstance(self.scale, (int, float)) and self.scale > 0):
            raise ValueError(f"scale must be 'auto' or a positive distance, not {self.scale!r}")

    def _prep(self, X: Any) -> np.ndarray:
        arr = np.asarray(X, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError(f"expected a 2-D array of vectors, got shape {arr.shape}")
        return _normalise(arr) if self.normalize else arr

    def fit(
        self,
        X: Any,
        tags: Sequence[str | Iterable[str]],
        classes: Sequence[str] | None = None,
        rejected: Sequence[str | Iterable[str]] | None = None,
    ) -> CustomTagger:
        """Learn from user-tagged sounds: vectors ``X`` (n, d), each row's tag or tags, optionally each row's
        class and each row's rejected tags (tags the user removed from that sound: counter-examples)."""
        self._check_params()
        arr = self._prep(X)
        rows = [normalise_tag_dict({"_": t})["_"] for t in tags]
        if len(rows) != len(arr):
            raise ValueError(f"{len(arr)} vectors but {len(rows)} tag lists")
        if classes is not None and len(classes) != len(arr):
            raise ValueError(f"{len(arr)} vectors but {len(classes)} classes")
        if rejected is not None and len(rejected) != len(arr):
            raise ValueError(f"{len(arr)} vectors but {len(rejected)} lists of rejected tags")
        tags_ = sorted({t for r in rows for t in r})
        if not tags_:
            raise ValueError("no tagged sounds: give at least one sound with at least one tag")
        # a rejection counts only for a tag that has examples, and never against the row's own tags
        nots = [[] for _ in rows] if rejected is None else [normalise_tag_dict({"_": t})["_"] for t in rejected]
        nots = [[t for t in n if t in tags_ and t not in r] for n, r in zip(nots, rows, strict=True)]
        keep = [i for i, (r, n) in enumerate(zip(rows, nots, strict=True)) if r or n]
        self.X_ = arr[keep]
        self.example_tags_ = [rows[i] for i in keep]
        self.example_rejected_ = [nots[i] for i in keep]
        self.example_classes_ = None if classes is None else np.array([str(classes[i]) for i in keep])
        self.tags_ = tags_
        self.n_examples_ = {t: sum(t in r for r in self.example_tags_) for t in self.tags_}
        self.n_rejections_ = {t: sum(t in n for n in self.example_rejected_) for t in self.tags_}
        self._membership = np.array([[t in r for t in self.tags_] for r in self.example_tags_], dtype=np.float32)
        against = np.array([[t in n for t in self.tags_] for n in self.example_rejected_], dtype=np.float32)
        # the rows that vote on each tag: every user-tagged row (for or against), and the rows that rejected it
        self._voice = np.maximum(against, self._membership.max(axis=1, keepdims=True))
        self.scales_ = self._scales()
        pairs = zip(self.example_tags_, self.example_rejected_, strict=True)
        self._example_scale = np.array([max(self.scales_[t] for t in r + n) for r, n in pairs])
        return self

    def _scales(self) -> dict[str, float]:
        """Per tag, its spread (nearest other example of the tag, same class if known; median), ≥ ``min_scale``."""
        if self.scale != "auto":
            return dict.fromkeys(self.tags_, float(self.scale))
        dist = np.maximum(1.0 - self.X_ @ self.X_.T, 0.0)
        np.fill_diagonal(dist, np.inf)
        if self.example_classes_ is not None:
            dist[self.example_classes_[:, None] != self.example_classes_[None, :]] = np.inf
        scales: dict[str, float] = {}
        for j, tag in enumerate(self.tags_):
            members = np.flatnonzero(self._membership[:, j])
            nearest = dist[np.ix_(members, members)].min(axis=1) if len(members) > 1 else np.array([np.inf])
            nearest = nearest[np.isfinite(nearest)]
            spread = float(np.median(nearest)) if nearest.size else 0.0
            scales[tag] = max(spread, float(self.min_scale))
        return scales

    def predict_confidence(self, X: Any, classes: Sequence[str] | None = None) -> list[dict[str, float]]:
        """Per sound, ``{tag: confidence}`` of the tags that reach ``min_confidence`` (highest first)."""
        if not hasattr(self, "X_"):
            raise RuntimeError("CustomTagger is not fitted: call fit() with the user-tagged sounds first")
        self._check_params()
        arr = self._prep(X)
        gate = self.example_classes_ is not None and classes is not None
        if gate and len(classes) != len(arr):  # type: ignore[arg-type]
            raise ValueError(f"{len(arr)} vectors but {len(classes)} classes")  # type: ignore[arg-type]
        out: list[dict[str, float]] = []
        k = min(self.n_neighbors, len(self.X_))
        doubt = float(np.exp(-self.horizon / self.bandwidth))
        if gate:  # classes compared as integer codes: comparing strings over a library-sized matrix was slow
            codes, example_codes = np.unique(self.example_classes_, return_inverse=True)
            lookup = {str(c): i for i, c in enumerate(codes)}
            query_codes = np.array([lookup.get(str(c), -1) for c in classes], dtype=np.int64)  # type: ignore[union-attr]
        for start in range(0, len(arr), 4096):
            dist = np.maximum(1.0 - arr[start : start + 4096] @ self.X_.T, 0.0).astype(np.float64)
            if gate:
                dist[query_codes[start : start + 4096, None] != example_codes[None, :]] = np.inf
            near = _k_smallest(dist, k)
            d = np.take_along_axis(dist, near, axis=1)
            w = np.exp(-d / (self.bandwidth * self._example_scale[near]))  # an example of another class: 0
            total = np.einsum("qk,qkt->qt", w, self._voice[near]) + doubt
            conf = np.einsum("qk,qkt->qt", w, self._membership[near]) / total
            out.extend(self._tag_dicts(conf))
        return out

    def _tag_dicts(self, conf: np.ndarray) -> list[dict[str, float]]:
        """Per row of a (queries, tags) confidence matrix, ``{tag: confidence}`` of the tags that reach
        ``min_confidence``, highest first (ties by tag name: ``tags_`` is sorted)."""
        rows, cols = np.nonzero((conf > 0) & (conf >= self.min_confidence - 1e-9))
        values = conf[rows, cols]
        order = np.lexsort((cols, -values, rows))
        out: list[dict[str, float]] = [{} for _ in range(len(conf))]
        for r, c, v in zip(rows[order].tolist(), cols[order].tolist(), values[order].tolist(), strict=True):
            out[r][self.tags_[c]] = v
        return out

    def predict(self, X: Any, classes: Sequence[str] | None = None) -> list[list[str]]:
        """Per sound, the propagated tags (highest confidence first)."""
        return [list(c) for c in self.predict_confidence(X, classes)]


def _k_smallest(dist: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` smallest values of each row, nearest first (ties: lower index first).

    A partial sort, then a stable sort of the ``k`` chosen: a full sort of a library-sized distance matrix
    took most of a propagation's time. On exact ties at the ``k``-th place the choice among the tied is free.
    """
    if k >= dist.shape[1]:
        return np.argsort(dist, axis=1, kind="stable")
    part = np.sort(np.argpartition(dist, k - 1, axis=1)[:, :k], axis=1)  # lower index first among ties
    order = np.argsort(np.take_along_axis(dist, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def propagate_tags(
    index: LibraryIndex,
    user_tags: Mapping[Any, str | Iterable[str]],
    tagger: CustomTagger | None = None,
    *,
    classes: Mapping[str, str] | None = None,
    rejected: Mapping[Any, str | Iterable[str]] | None = None,
    reach: float | str | None = None,
) -> dict[str, list[TagScore]]:
    """Custom tags of every sound in ``index`` from the user's explicit tags.

    ``user_tags`` maps sounds (by id, path or unique base name) to one tag or a list of tags (an empty
    list counts as untagged). Sounds the user tagged keep exactly their tags (``source="user"``,
    confidence 1): explicit tags always win and nothing is propagated onto them. Every other sound
    gets the tags ``tagger`` propagates (default: :meth:`CustomTagger.for_space` of the index's space, i.e.
    the precision-first defaults with that space's scale), ``source="propagated"``, each of confidence at
    least the tagger's ``min_confidence`` (never below :data:`CONFIDENCE_FLOOR`); ``reach`` (a name of
    :data:`REACH_LEVELS` or a number from 0 to 1) sets that minimum to :func:`reach_confidence` instead.
    ``classes`` ({sound id: instrument class}, e.g. the tagger's results) restricts each sound to examples of
    its own class. ``rejected`` maps sounds to the tags the user removed from them: a sound never gets a tag
    it rejected, and its rejections count as votes against those tags for its neighbours
    (:class:`CustomTagger`). Returns ``{sound id: [TagScore, ...]}`` for every sound, highest confidence
    first (empty list: no tag).
    """
    if len(index) == 0:
        raise EmptyLibraryError("the library index holds no sounds: nothing to tag")
    params = (tagger or CustomTagger.for_space(index.space)).get_params()
    if reach is not None:
        params["min_confidence"] = reach_confidence(reach)
    explicit = _by_sound(index, user_tags)
    refused = _by_sound(index, rejected or {})
    result: dict[str, list[TagScore]] = {i: [TagScore(t, 1.0, "user") for t in explicit.get(i, [])] for i in index.ids}
    if not explicit:
        return result
    model = CustomTagger(**{**params, "normalize": False})  # the index hands out its own (scaled) vectors
    examples = list(dict.fromkeys([*explicit, *refused]))

    def cls(ids: Sequence[str]) -> list[str] | None:
        return None if classes is None else [str(classes.get(i, "")) for i in ids]

    model.fit(
        index.vectors(examples),
        [explicit.get(i, []) for i in examples],
        cls(examples),
        [refused.get(i, []) for i in examples],
    )
    others = [i for i in index.ids if i not in explicit]
    for start in range(0, len(others), 8192):
        chunk = others[start : start + 8192]
        confidences = model.predict_confidence(index.vectors(chunk), cls(chunk))
        for sound_id, conf in zip(chunk, confidences, strict=True):
            no = refused.get(sound_id, ())
            result[sound_id] = [TagScore(t, round(c, 6), "propagated") for t, c in conf.items() if t not in no]
    return result


def _by_sound(index: LibraryIndex, tag_dict: Mapping[Any, str | Iterable[str]]) -> dict[str, list[str]]:
    """``{sound id: tags}`` of a ``{sound name: tag or tags}`` mapping (names resolved by the index; no empty lists)."""
    out: dict[str, list[str]] = {}
    for name, tags in normalise_tag_dict(tag_dict).items():
        if not tags:
            continue
        merged = out.setdefault(index.resolve(name), [])
        merged += [t for t in tags if t not in merged]
    return out

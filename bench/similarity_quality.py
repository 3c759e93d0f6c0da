"""Similarity quality on real drum recordings: precision@10 per feature space, and custom-tag propagation.

Data: the labelled one-shots (Kick / Snare / Cymbal / Tom) of ``data/dataset/manifest.csv`` (built from
Debian packages, see docs/DATA_NOTES; the reserved ``sonic-pi-samples`` / supersonic sounds are never
read). Features are cached under ``data/cache/similarity/``.

(a) precision@10: for every one-shot, the share of its 10 nearest other one-shots of the same class;
    per feature space (the design's exact zero-padding distance, the CMVN-MFCC index vectors, MusiCNN).
(b) custom tags: a user tags 5 examples per tag (closed hat / open hat / ride / crash; rimshot / snare;
    acoustic / electronic) in a library of all one-shots; the tags propagate to every other sound;
    precision, recall and F1 (micro over tags, summed over random draws of the examples). The design's
    rule (every sound within cosine distance 0.002 of a tagged sound) beside the package's precision-first
    k-NN vote at its three reaches. Calibration (k, bandwidth, horizon, the default minimum confidence) uses
    only the kits of the ``train`` split: the widest setting whose precision is at least 0.90 on every task,
    with and without instrument classes; the figures are measured on the kits of ``val`` + ``test``.
(c) one round of corrections: after (b)'s propagation in the backend's configuration, the user removes each
    tag from the wrong ones among its N most confident sounds; the tags propagate again with those
    rejections as counter-examples; both are scored on the sounds nobody tagged or looked at
    (``--corrections-only`` prints just this).

Also: the combined spaces ``musicnn+mfcc`` and ``musicnn+descriptors`` (the package default; each weight chosen
on the train kits), hubness reduction (CSLS)
for (a), and for (b) the instrument class predicted by a classifier instead of the true one: a
logistic regression on the MusiCNN embedding that never saw the kit it predicts (leave-one-kit-family-out
inside the train kits for calibration; trained on the train kits for the val + test kits), and the
shipped drum tagger's head (whose training saw the val kits, so its figure is optimistic).

Run: ``.venv/bin/python bench/similarity_quality.py`` (first run computes features: a few minutes);
``--tags-only`` prints (b) and (c), ``--corrections-only`` (c); ``--exclude-source drum-machines`` reads the
manifest without the drum machines that joined the dataset with tagger 0.7 (the 0.6 dataset's sounds, to compare
the taggers on the same kits). The shipped tagger's classes are computed from its head at every run (the cached
embeddings depend only on its front end), so they follow the shipped model.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drumsamp_models import ctagger, descriptors, vectors
from drumsamp_models.batches import classification_features, recommendation_features, tagger_front_end
from drumsamp_models.errors import AudioError
from drumsamp_models.features import FrontEnd
from drumsamp_models.index import LibraryIndex

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.tagger_data import is_reserved  # noqa: E402 (the repository root first)

MANIFEST = ROOT / "data" / "dataset" / "manifest.csv"
CACHE = ROOT / "data" / "cache" / "similarity"
ONE_SHOTS = ("Kick", "Snare", "Cymbal", "Tom")
DESIGN_THRESHOLD = 0.002
N_EXAMPLES = 5
TASKS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    # task -> (manifest column, {tag: values of that column that carry the tag})
    "cymbals": (
        "subclass",
        {
            "closed hat": ("closed_hat",),
            "open hat": ("open_hat",),
            "ride": ("ride",),
            "crash": ("crash",),
        },
    ),
    "snare/rimshot": ("subclass", {"rimshot": ("rimshot",), "snare": ("snare",)}),
    "kit type": ("kit_type", {"acoustic": ("acoustic",), "electronic": ("electronic",)}),
}
DONT_CARE = {
    # values scored neither as positives nor as negatives: the user's intent is unclear for them
    "subclass": {"hat", "cymbal", "half_open_hat", "crash_ride"},
    "kit_type": {"unknown"},
}
GRID = {
    "n_neighbors": (3, 5, 10),
    "bandwidth": (0.05, 0.1, 0.15, 0.2, 0.3, 0.5),
    "horizon": (0.25, 0.5, 0.75, 1.0, 1.5),
}
"""The precision-first calibration grid (each setting is scored at every threshold of :data:`THRESHOLDS`)."""
THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)
TARGET_PRECISION = 0.90
"""Precision every task must reach on the train kits at the default setting, with and without classes."""
LOWEST_DEFAULT = 0.9
"""The default minimum confidence is at least this: the user can widen the reach from there to the floor."""


@dataclass
class Sound:
    """One manifest row with its cached features."""

    path: str
    label: str
    subclass: str
    kit_type: str
    kit: str
    split: str
    mfcc: np.ndarray
    musicnn: np.ndarray  # per-patch embeddings (n_patches, 200)
    group: str = ""
    described: np.ndarray = field(default_factory=lambda: np.zeros(len(descriptors.NAMES), np.float32))


def read_manifest(path: Path = MANIFEST) -> list[dict[str, str]]:
    """One-shot rows of the manifest, reserved sources refused."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows = [r for r in rows if r["label"] in ONE_SHOTS]
    bad = [r["path"] for r in rows if is_reserved(r["source"], r["path"])]
    if bad:
        raise SystemExit(f"reserved evaluation sounds in the manifest, refusing: {bad[:3]}")
    return rows


def _file_key(path: str) -> str:
    """The file's absolute path, modification time and size: cached features are redone when it changes."""
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_mtime_ns}|{st.st_size}"


def _cache_file(path: str) -> Path:
    front = tagger_front_end().as_meta()  # MusiCNN embeddings follow the shipped tagger's front end
    key = f"{_file_key(path)}|v1" + ("" if front == FrontEnd().as_meta() else f"|{front}")
    return CACHE / (hashlib.sha1(key.encode()).hexdigest() + ".npz")


def _descriptor_file(path: str) -> Path:
    key = f"{_file_key(path)}|descriptors|{descriptors.fingerprint()}"
    return CACHE / ("d-" + hashlib.sha1(key.encode()).hexdigest() + ".npy")


def load_descriptors(path: str) -> np.ndarray:
    """The raw descriptors of one file (cached)."""
    f = _descriptor_file(path)
    if f.exists():
        return np.load(f)
    d = descriptors.describe_file(path)
    np.save(f, d)
    return d


def load_sounds(rows: Sequence[dict[str, str]], verbose: bool = True) -> list[Sound]:
    """Features of every row, computed once and cached (CMVN-MFCC sequence, MusiCNN per-patch embeddings,
    descriptors)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    embedder = vectors.MusicnnEmbedder()
    sounds: list[Sound] = []
    todo = [r for r in rows if not _cache_file(r["path"]).exists()]
    if todo and verbose:
        print(f"computing features of {len(todo)} files (cached under {CACHE})", file=sys.stderr)
    start = time.perf_counter()
    for n, r in enumerate(todo, 1):
        try:
            mfcc = recommendation_features(r["path"])
            emb = embedder.embed_patches(classification_features(r["path"]))
        except AudioError as exc:
            print(f"skipped {r['path']}: {exc.reason}", file=sys.stderr)
            continue
        np.savez(_cache_file(r["path"]), mfcc=mfcc, musicnn=emb)
        if verbose and n % 100 == 0:
            print(f"  {n}/{len(todo)} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    for r in rows:
        f = _cache_file(r["path"])
        if not f.exists():
            continue
        with np.load(f) as z:
            sounds.append(
                Sound(
                    r["path"],
                    r["label"],
                    r["subclass"],
                    r["kit_type"],
                    r["kit"],
                    r["split"],
                    z["mfcc"],
                    z["musicnn"],
                    r.get("group", r["kit"]),
                    load_descriptors(r["path"]),
                )
            )
    return sounds


# ---------------------------------------------------------------------- feature spaces
def space_vectors(sounds: Sequence[Sound], space: str) -> tuple[np.ndarray, bool]:
    """(vectors, normalize) of the sounds in one space; ``mfcc-design`` keeps every frame (the exact design)."""
    if space == "mfcc-design":
        frames = max(len(s.mfcc) for s in sounds)
        return vectors.mfcc_vectors((s.mfcc for s in sounds), frames), False
    if space == vectors.MFCC:
        return vectors.mfcc_vectors(s.mfcc for s in sounds), False
    if space == vectors.MUSICNN:
        return np.stack([vectors.musicnn_vector(s.musicnn) for s in sounds]), True
    if space == vectors.COMBINED or space.startswith(vectors.COMBINED + "@"):
        weight = float(space.split("@")[1]) if "@" in space else vectors.COMBINED_MFCC_WEIGHT
        return vectors.combined_vectors([s.musicnn for s in sounds], [s.mfcc for s in sounds], weight), True
    if space == vectors.DESCRIBED or space.startswith(vectors.DESCRIBED + "@"):
        weight = float(space.split("@")[1]) if "@" in space else vectors.DESCRIPTOR_WEIGHT
        return vectors.described_vectors([s.musicnn for s in sounds], [s.described for s in sounds], weight), True
    raise ValueError(space)


SPACE_NAMES = {
    "mfcc-design": "CMVN-MFCC, design (zero-pad to the longer, every frame)",
    vectors.MFCC: f"CMVN-MFCC, index vectors ({vectors.MFCC_FRAMES} frames)",
    vectors.MUSICNN: "MusiCNN 200-d embedding (mean over patches)",
    vectors.COMBINED: f"MusiCNN + CMVN-MFCC (w = {vectors.COMBINED_MFCC_WEIGHT})",
    vectors.DESCRIBED: f"MusiCNN + descriptors (w = {vectors.DESCRIPTOR_WEIGHT}; package default)",
}
WEIGHTS = {
    vectors.COMBINED: ((0.1, 0.2, 0.3, 0.4, 0.5), "COMBINED_MFCC_WEIGHT", vectors.COMBINED_MFCC_WEIGHT),
    vectors.DESCRIBED: ((0.1, 0.2, 0.3, 0.4, 0.5, 0.6), "DESCRIPTOR_WEIGHT", vectors.DESCRIPTOR_WEIGHT),
}
"""Per combined space: the weights of its second part tried on the train kits, and the package constant."""
WEIGHT_GRID = {
    "n_neighbors": (5,),
    "min_confidence": (0.5, 0.7, 0.9),
    "bandwidth": (0.1, 0.2, 0.3),
    "horizon": (0.5, 1.0, 1.5),
}
"""The grid whose best tag F1 on the train kits measures a space while choosing the weights."""
CSLS_K = 10


def precision_at_10(sounds: Sequence[Sound], space: str, csls: int = 0) -> tuple[float, dict[str, float]]:
    """Mean share of same-class sounds among each sound's 10 nearest (overall, and per class).

    ``csls`` > 0 ranks neighbours by CSLS (cross-domain similarity local scaling, a hubness reduction):
    ``2·cos(x, y) - r(x) - r(y)`` with ``r`` the mean similarity to a sound's ``csls`` nearest neighbours.
    """
    X, normalize = space_vectors(sounds, space)
    labels = np.array([s.label for s in sounds])
    if csls:
        Xn = unit_rows(X, normalize)
        sim = Xn.astype(np.float64) @ Xn.T.astype(np.float64)
        np.fill_diagonal(sim, -np.inf)
        r = np.sort(sim, axis=1)[:, -csls:].mean(axis=1)
        score = 2 * sim - r[None, :]  # r(x) is constant along a row: it does not change x's ranking
        near = np.argsort(-score, axis=1, kind="stable")[:, :10]
    else:
        index = LibraryIndex(algorithm="exact", normalize=normalize).fit(X, [str(i) for i in range(len(sounds))])
        _, ids = index.kneighbors(None, 10)
        near = ids.astype(int)
    hits = labels[near] == labels[:, None]
    per = hits.mean(axis=1)
    return float(per.mean()), {c: float(per[labels == c].mean()) for c in ONE_SHOTS}


def median_nn_distance(sounds: Sequence[Sound], space: str) -> float:
    """Median distance from each sound to its nearest other sound."""
    X, normalize = space_vectors(sounds, space)
    index = LibraryIndex(algorithm="exact", normalize=normalize).fit(X, [str(i) for i in range(len(sounds))])
    dist, _ = index.kneighbors(None, 1)
    return float(np.median(dist[:, 0]))


# ---------------------------------------------------------------------- custom-tag propagation
@dataclass
class Scores:
    """Summed counts over draws; precision, recall, F1 from them (micro over tags and sounds)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    per_tag: dict[str, list[int]] = field(default_factory=dict)
    given: int = 0  # propagated (sound, tag) pairs scored
    across: int = 0  # ... on a sound of an instrument class that none of the tag's examples has

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Task:
    """One tagging task on one pool: ground truth, scored sounds and the example draws."""

    name: str
    tags: list[str]
    truth: np.ndarray  # (n_sounds, n_tags) bool
    scored: np.ndarray  # (n_sounds,) bool
    draws: list[np.ndarray]  # example indices per draw (N_EXAMPLES per tag)


def make_tasks(pool: Sequence[Sound], n_draws: int, seed: int) -> list[Task]:
    """The three tagging tasks on ``pool``, each with ``n_draws`` random choices of 5 examples per tag."""
    tasks = []
    rng = np.random.default_rng(seed)
    for name, (column, tag_values) in TASKS.items():
        values = np.array([getattr(s, column) for s in pool])
        truth = np.stack([np.isin(values, v) for v in tag_values.values()], axis=1)
        scored = ~np.isin(values, sorted(DONT_CARE[column]))
        draws = [
            np.concatenate(
                [rng.choice(np.flatnonzero(truth[:, j]), N_EXAMPLES, replace=False) for j in range(truth.shape[1])]
            )
            for _ in range(n_draws)
        ]
        tasks.append(Task(name, list(tag_values), truth, scored, draws))
    return tasks


def example_tags(task: Task, examples: np.ndarray) -> list[list[str]]:
    """The true tags of each example sound of a draw (what the simulated user gives it)."""
    return [[task.tags[j] for j in np.flatnonzero(task.truth[i])] for i in examples]


def evaluate_tagger(
    X: np.ndarray,
    task: Task,
    tagger: ctagger.CustomTagger | DesignRule,
    classes: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> Scores:
    """Propagate the task's tags from each draw's examples to the rest of the pool and score them (``labels``:
    the sounds' true instrument classes, to count the tags given across classes)."""
    return evaluate_curve(X, task, tagger, classes, labels, (tagger.min_confidence,))[0]


def evaluate_curve(
    X: np.ndarray,
    task: Task,
    tagger: ctagger.CustomTagger | DesignRule,
    classes: np.ndarray | None,
    labels: np.ndarray | None,
    thresholds: Sequence[float],
) -> list[Scores]:
    """:func:`evaluate_tagger` at each minimum confidence of ``thresholds`` (one propagation per draw, at the
    lowest of them)."""
    out = [Scores() for _ in thresholds]
    params = tagger.get_params()
    tagger.set_params(min_confidence=min(thresholds))
    try:
        for examples in task.draws:
            tags = example_tags(task, examples)
            ex_cls = None if classes is None else list(classes[examples])
            tagger.fit(X[examples], tags, ex_cls)
            confidences = tagger.predict_confidence(X, None if classes is None else list(classes))
            mask = task.scored.copy()
            mask[examples] = False
            for scores, th in zip(out, thresholds, strict=True):
                predicted = [[t for t, c in conf.items() if c >= th - 1e-9] for conf in confidences]
                _score(scores, task, predicted, mask, examples, labels)
    finally:
        tagger.set_params(**params)
    return out


def _score(
    scores: Scores,
    task: Task,
    predicted: Sequence[Sequence[str]],
    mask: np.ndarray,
    examples: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> None:
    """Add the counts of one draw's predictions on the sounds of ``mask`` to ``scores``."""
    for j, tag in enumerate(task.tags):
        pred = np.array([tag in p for p in predicted])
        if labels is not None and examples is not None:
            own = {labels[i] for i in examples if task.truth[i, j]}
            scores.given += int((pred & mask).sum())
            scores.across += int((pred & mask & ~np.isin(labels, sorted(own))).sum())
        tp = int((pred & task.truth[:, j] & mask).sum())
        fp = int((pred & ~task.truth[:, j] & mask).sum())
        fn = int((~pred & task.truth[:, j] & mask).sum())
        scores.tp, scores.fp, scores.fn = scores.tp + tp, scores.fp + fp, scores.fn + fn
        counts = scores.per_tag.setdefault(tag, [0, 0, 0])
        counts[0], counts[1], counts[2] = counts[0] + tp, counts[1] + fp, counts[2] + fn


def evaluate_corrections(
    X: np.ndarray, task: Task, tagger: ctagger.CustomTagger, classes: np.ndarray | None, review: int
) -> tuple[Scores, Scores, int]:
    """One round of user corrections after each draw's propagation.

    Per tag, the user looks at the ``review`` sounds given that tag with the highest confidence and removes
    it where it is wrong (sounds whose label leaves the intent open are left alone); the tagger is fitted
    again with those rejections. Both the first propagation and the corrected one are scored on the sounds
    the user neither tagged nor looked at, so the figures show what the rejections do for the rest of the
    library. Returns (scores before, scores after, rejections made).
    """
    before, after, made = Scores(), Scores(), 0
    cls = None if classes is None else list(classes)
    for examples in task.draws:
        tags = example_tags(task, examples)
        ex_cls = None if classes is None else list(classes[examples])
        confidences = tagger.fit(X[examples], tags, ex_cls).predict_confidence(X, cls)
        is_example = np.zeros(len(X), bool)
        is_example[examples] = True
        looked = np.zeros(len(X), bool)
        rejected: dict[int, list[str]] = {}
        for j, tag in enumerate(task.tags):
            given = [(c[tag], i) for i, c in enumerate(confidences) if tag in c and not is_example[i]]
            for _, i in sorted(given, key=lambda p: (-p[0], p[1]))[:review]:
                looked[i] = True
                if task.scored[i] and not task.truth[i, j]:
                    rejected.setdefault(i, []).append(tag)
        made += sum(len(v) for v in rejected.values())
        mask = task.scored & ~is_example & ~looked
        _score(before, task, [list(c) for c in confidences], mask)
        corrected = sorted(rejected)
        rows = [*examples, *corrected]
        fit_tags = [*tags, *([[]] * len(corrected))]
        fit_rejected = [*([[]] * len(examples)), *(rejected[i] for i in corrected)]
        fit_cls = None if classes is None else list(classes[rows])
        tagger.fit(X[rows], fit_tags, fit_cls, rejected=fit_rejected)
        _score(after, task, tagger.predict(X, cls), mask)
    return before, after, made


class DesignRule:
    """The design's rule with the custom tagger's calls: every tag of every example within ``threshold``."""

    def __init__(self, threshold: float = DESIGN_THRESHOLD) -> None:
        self.threshold = threshold
        self.min_confidence = 1.0

    def get_params(self) -> dict[str, float]:
        return {"min_confidence": self.min_confidence}

    def set_params(self, **params: float) -> DesignRule:
        self.min_confidence = params.get("min_confidence", self.min_confidence)
        return self

    def fit(self, X: np.ndarray, tags: Sequence[Sequence[str]], classes: object = None) -> DesignRule:
        self.X_, self.tags_ = X, [list(t) for t in tags]
        return self

    def predict_confidence(self, X: np.ndarray, classes: object = None) -> list[dict[str, float]]:
        near = self.threshold >= (1.0 - X @ self.X_.T)
        return [{t: 1.0 for j in np.flatnonzero(row) for t in self.tags_[j]} for row in near]


def design_tagger(threshold: float = DESIGN_THRESHOLD) -> DesignRule:
    """The design's rule: every tag of every example within ``threshold`` (cosine distance)."""
    return DesignRule(threshold)


def calibrate(
    X: np.ndarray,
    normalize: bool,
    tasks: Sequence[Task],
    classes: np.ndarray | None,
    grid: dict[str, tuple[object, ...]] | None = None,
) -> tuple[dict[str, float], float]:
    """Grid search on the calibration pool: the parameters with the best mean F1 over the tasks."""
    grid = WEIGHT_GRID if grid is None else grid
    best: tuple[float, dict[str, float]] | None = None
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values, strict=True))
        tagger = ctagger.CustomTagger(**params, normalize=normalize)  # type: ignore[arg-type]
        f1 = float(np.mean([evaluate_tagger(X, t, tagger, classes).f1 for t in tasks]))
        if best is None or f1 > best[0] + 1e-12:
            best = (f1, params)
    assert best is not None
    return best[1], best[0]


@dataclass
class Setting:
    """One precision-first setting on the calibration pool: parameters, minimum confidence, scores per class mode
    (each a list of per-task scores)."""

    params: dict[str, float]
    min_confidence: float
    scores: dict[str, list[Scores]]

    @property
    def worst_precision(self) -> float:
        return min(s.precision for per_task in self.scores.values() for s in per_task)

    @property
    def mean_recall(self) -> float:
        return float(np.mean([s.recall for per_task in self.scores.values() for s in per_task]))


def calibrate_precision(
    X: np.ndarray, tasks: Sequence[Task], class_modes: dict[str, np.ndarray | None], min_scale: float
) -> list[Setting]:
    """Every setting of :data:`GRID` at every threshold of :data:`THRESHOLDS`, scored on the calibration pool
    under each class mode."""
    settings = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values, strict=True))
        tagger = ctagger.CustomTagger(**params, min_scale=min_scale, normalize=False)  # type: ignore[arg-type]
        curves = {
            mode: [evaluate_curve(X, t, tagger, cls, None, THRESHOLDS) for t in tasks]
            for mode, cls in class_modes.items()
        }
        for i, th in enumerate(THRESHOLDS):
            settings.append(Setting(params, th, {mode: [c[i] for c in per] for mode, per in curves.items()}))
    return settings


def admissible(settings: Sequence[Setting]) -> list[Setting]:
    """The settings whose default is precision-first, widest (largest mean recall) first."""
    ok = [s for s in settings if s.min_confidence >= LOWEST_DEFAULT and s.worst_precision >= TARGET_PRECISION]
    return sorted(ok, key=lambda s: -s.mean_recall)


def package_setting(settings: Sequence[Setting]) -> Setting | None:
    """The setting of the package's defaults, when the grid holds it."""
    tagger = ctagger.CustomTagger()
    for s in settings:
        if s.min_confidence == tagger.min_confidence and all(
            s.params[k] == getattr(tagger, k) for k in ("n_neighbors", "bandwidth", "horizon")
        ):
            return s
    return None


def fmt_pr(scores: Sequence[Scores]) -> str:
    """``P / R`` cells per task."""
    return " | ".join(f"{s.precision:.2f} / {s.recall:.2f}" for s in scores)


def pooled(scores: Sequence[Scores]) -> str:
    """Precision / recall over the (sound, tag) pairs of all tasks together."""
    tp, fp, fn = (sum(getattr(s, k) for s in scores) for k in ("tp", "fp", "fn"))
    return f"{tp / max(tp + fp, 1):.2f} / {tp / max(tp + fn, 1):.2f}"


def fmt_scores(scores: Sequence[Scores]) -> str:
    """``P / R / F1`` cells per task, then the mean F1."""
    cells = [f"{s.precision:.2f} / {s.recall:.2f} / **{s.f1:.2f}**" for s in scores]
    return " | ".join(cells) + f" | **{np.mean([s.f1 for s in scores]):.3f}**"


# ---------------------------------------------------------------------- predicted instrument classes
def proxy_classes(calib: Sequence[Sound], held: Sequence[Sound]) -> tuple[np.ndarray, np.ndarray]:
    """Instrument classes predicted by a classifier that never saw the predicted sound's kit family.

    A logistic regression on the MusiCNN vector: leave-one-kit-family-out inside the train kits (for
    calibration), and trained on every train kit for the val + test kits.
    """
    from sklearn.linear_model import LogisticRegression

    def fit(rows: Sequence[Sound]) -> LogisticRegression:
        X = np.stack([vectors.musicnn_vector(s.musicnn) for s in rows])
        return LogisticRegression(max_iter=3000).fit(X, [s.label for s in rows])

    X_calib = np.stack([vectors.musicnn_vector(s.musicnn) for s in calib])
    groups = np.array([s.group for s in calib])
    calib_pred = np.empty(len(calib), dtype=object)
    for g in np.unique(groups):
        out = groups == g
        calib_pred[out] = fit([s for s, o in zip(calib, out, strict=True) if not o]).predict(X_calib[out])
    X_held = np.stack([vectors.musicnn_vector(s.musicnn) for s in held])
    return calib_pred.astype(str), fit(calib).predict(X_held).astype(str)


def shipped_tagger_classes(rows: Sequence[Sound]) -> np.ndarray | None:
    """Arg-max class of the shipped tagger head (Kick/Snare/Cymbal/Tom/Drumloop) on its own embeddings.

    The embeddings come from the tagger's MusiCNN front end (silence trimming as the head was trained),
    cached by ``tools/tagger_data.py`` under ``data/cache/embeddings``. None when that is unavailable.
    """
    try:
        from drumsamp_models.tagger import Head
        from tools.evaluate_tagger import file_likelihoods
        from tools.tagger_data import Row, patch_embeddings, row_descriptors
    except ImportError as exc:
        print(f"shipped tagger classes unavailable: {exc}", file=sys.stderr)
        return None
    head = Head.shipped()
    trim = bool(head.meta.get("trim_silence", False))
    front = FrontEnd.from_meta(head.meta).as_meta()
    manifest_rows = [Row(s.path, s.label, s.split, s.group, s.subclass) for s in rows]
    cache = ROOT / "data" / "cache" / "embeddings"
    emb, kept = patch_embeddings(manifest_rows, cache, 0, 0, "tagger", trim, **front, branch=head.branch)
    if len(kept) != len(rows):
        return None
    lik = file_likelihoods(head, emb, row_descriptors(kept, cache) if head.uses_descriptors else None)
    return np.array([head.classes[k] for k in lik.argmax(axis=1)])


def per_tag_lines(tasks: Sequence[Task], scores: Sequence[Scores]) -> None:
    """One line per task: ``tag P / R / F1`` of each tag."""
    for task, sc in zip(tasks, scores, strict=True):
        cells = []
        for tag, (tp, fp, fn) in sc.per_tag.items():
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            cells.append(f"{tag} {p:.2f} / {r:.2f} / {f:.2f}")
        print(f"- {task.name}: " + "; ".join(cells))


def unit_rows(X: np.ndarray, normalize: bool) -> np.ndarray:
    """Rows L2-normalised when the space asks for it (as the index stores them)."""
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12) if normalize else X


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calibration-draws", type=int, default=20)
    parser.add_argument("--eval-draws", type=int, default=50)
    parser.add_argument("--corrections-only", action="store_true", help="print only (c), one round of user corrections")
    parser.add_argument("--tags-only", action="store_true", help="print only (b) and (c), the custom tags")
    parser.add_argument(
        "--exclude-source",
        action="append",
        default=[],
        metavar="SOURCE",
        help="leave out the manifest rows of a source (e.g. drum-machines: the dataset before tagger 0.7)",
    )
    args = parser.parse_args()
    rows = [r for r in read_manifest() if r["source"] not in args.exclude_source]
    sounds = load_sounds(rows)
    calib = [s for s in sounds if s.split == "train"]
    held = [s for s in sounds if s.split in ("val", "test")]
    print(f"{len(sounds)} one-shots ({len(calib)} in train kits, {len(held)} in val + test kits), from {MANIFEST}")
    counts = {c: sum(s.label == c for s in sounds) for c in ONE_SHOTS}
    print("classes: " + ", ".join(f"{c} {n}" for c, n in counts.items()))
    calib_tasks = make_tasks(calib, args.calibration_draws, seed=1)
    held_tasks = make_tasks(held, args.eval_draws, seed=2)
    if args.corrections_only:
        corrections_section(held, held_tasks, shipped_tagger_classes(held))
        return
    if args.tags_only:
        tags_section(calib, held, calib_tasks, held_tasks, args)
        return

    for combined, (weights, constant, value) in WEIGHTS.items():
        print(f"\n### Weight of the second part of the {combined} space, on the train kits only\n")
        print("| w | precision@10 (train kits) | calibrated tag F1 (train kits, small grid) | mean |")
        print("|---:|---:|---:|---:|")
        best_w: tuple[float, float] | None = None
        for w in weights:
            space = f"{combined}@{w}"
            p10, _ = precision_at_10(calib, space)
            X_calib, normalize = space_vectors(calib, space)
            _, f1 = calibrate(unit_rows(X_calib, normalize), False, calib_tasks, None, WEIGHT_GRID)
            mean = (p10 + f1) / 2
            print(f"| {w} | {p10:.3f} | {f1:.3f} | {mean:.3f} |")
            if best_w is None or mean > best_w[1] + 1e-12:
                best_w = (w, mean)
        assert best_w is not None
        note = "" if best_w[0] == value else " (differs from the package constant!)"
        print(f"\nbest w on the train kits: {best_w[0]}; package constant {constant} = {value}{note}")

    print("\n### (a) precision@10 (share of the 10 nearest other one-shots of the same class)\n")
    print("| feature space | all one-shots | val + test kits | Kick | Snare | Cymbal | Tom | median NN distance |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for space in SPACE_NAMES:
        p_all, per = precision_at_10(sounds, space)
        p_held, _ = precision_at_10(held, space)
        per_cls = " | ".join(f"{per[c]:.3f}" for c in ONE_SHOTS)
        nn = median_nn_distance(sounds, space)
        print(f"| {SPACE_NAMES[space]} | **{p_all:.3f}** | {p_held:.3f} | {per_cls} | {nn:.3f} |")
    for space in (vectors.MUSICNN, vectors.COMBINED, vectors.DESCRIBED):
        p_all, per = precision_at_10(sounds, space, csls=CSLS_K)
        p_held, _ = precision_at_10(held, space, csls=CSLS_K)
        per_cls = " | ".join(f"{per[c]:.3f}" for c in ONE_SHOTS)
        print(f"| {SPACE_NAMES[space]}, CSLS k={CSLS_K} | **{p_all:.3f}** | {p_held:.3f} | {per_cls} | – |")

    tags_section(calib, held, calib_tasks, held_tasks, args)


def tags_section(
    calib: Sequence[Sound],
    held: Sequence[Sound],
    calib_tasks: Sequence[Task],
    held_tasks: Sequence[Task],
    args: argparse.Namespace,
) -> None:
    """(b): the precision-first calibration on the train kits, then the package's reaches on the held-out kits."""
    print("\n### (b) custom-tag propagation, 5 examples per tag\n")
    print(
        f"Calibrated on the train kits ({args.calibration_draws} draws per task), measured on the val + test "
        f"kits ({args.eval_draws} draws per task); the library is every one-shot of those kits."
    )
    held_true = np.array([s.label for s in held])
    calib_true = np.array([s.label for s in calib])
    calib_pred, held_pred = proxy_classes(calib, held)
    head_held = shipped_tagger_classes(held)
    print(
        f"Predicted classes: unseen-kit classifier accuracy {np.mean(calib_pred == calib_true):.3f} (train kits, "
        f"out of kit family) / {np.mean(held_pred == held_true):.3f} (val + test kits)"
        + (
            ""
            if head_held is None
            else f"; shipped tagger {np.mean(head_held == held_true):.3f} on val + test kits "
            f"({np.mean((head_held == held_true)[[s.split == 'test' for s in held]]):.3f} on the test kits alone)"
        )
    )
    space = vectors.DESCRIBED
    min_scale = ctagger.SPACE_PARAMS[space]["min_scale"]
    X_calib, normalize = space_vectors(calib, space)
    X_calib = unit_rows(X_calib, normalize)
    print(
        f"\n#### Calibration on the train kits ({space}): precision ≥ {TARGET_PRECISION} on every task with no "
        f"class and with the unseen-kit classifier's classes, default minimum confidence ≥ {LOWEST_DEFAULT}; "
        "widest first (mean recall over tasks and class modes)\n"
    )
    settings = calibrate_precision(X_calib, calib_tasks, {"none": None, "pred": calib_pred}, min_scale)
    print(
        "| n_neighbors | bandwidth | horizon | min confidence | no class: " + " | ".join(TASKS) + " | "
        "predicted class: " + " | ".join(TASKS) + " | mean recall |"
    )
    print("|---:|---:|---:|---:|" + "---:|" * (2 * len(TASKS) + 1))
    best = admissible(settings)
    package = package_setting(settings)
    for setting in best[:8] + ([package] if package is not None and package not in best[:8] else []):
        p = setting.params
        print(
            f"| {p['n_neighbors']} | {p['bandwidth']} | {p['horizon']} | {setting.min_confidence} | "
            f"{fmt_pr(setting.scores['none'])} | {fmt_pr(setting.scores['pred'])} | {setting.mean_recall:.3f} |"
        )
    tagger = ctagger.CustomTagger.for_space(space, normalize=False)
    near_best = [s for s in best if s.mean_recall >= best[0].mean_recall - 0.002] if best else []
    note = "" if package in near_best else " (NOT within 0.002 of the widest admissible setting!)"
    print(
        f"\npackage defaults: n_neighbors={tagger.n_neighbors}, bandwidth={tagger.bandwidth}, "
        f"horizon={tagger.horizon}, min_confidence={tagger.min_confidence}{note}"
    )

    print("\n#### Held-out kits: the package's rule at each reach (P / R / F1 per task, pooled P / R, mean F1)\n")
    print(
        "| space | reach (min confidence) | classes | " + " | ".join(TASKS) + " | pooled | mean F1 | across classes |"
    )
    print("|---|---|---|" + "---:|" * (len(TASKS) + 3))
    modes: list[tuple[str, np.ndarray | None]] = [
        ("none", None),
        ("true", held_true),
        ("predicted (unseen-kit classifier)", held_pred),
    ]
    if head_held is not None:
        modes.append(("shipped tagger (saw the val kits)", head_held))
    for other in (vectors.MUSICNN, vectors.COMBINED):
        X_held, normalize = space_vectors(held, other)
        X_held = unit_rows(X_held, normalize)
        design = [evaluate_tagger(X_held, t, design_tagger()) for t in held_tasks]
        print(f"| {other} | design: within {DESIGN_THRESHOLD} | none | {fmt_row(design)} |")
        defaults = ctagger.CustomTagger.for_space(other, normalize=False)
        scores = [evaluate_tagger(X_held, t, defaults, None, held_true) for t in held_tasks]
        print(f"| {other} | strict ({defaults.min_confidence}) | none | {fmt_row(scores)} |")
    X_held, normalize = space_vectors(held, space)
    X_held = unit_rows(X_held, normalize)
    design = [evaluate_tagger(X_held, t, design_tagger()) for t in held_tasks]
    print(f"| {space} | design: within {DESIGN_THRESHOLD} | none | {fmt_row(design)} |")
    levels = list(ctagger.REACH_LEVELS.items())
    thresholds = [ctagger.reach_confidence(r) for _, r in levels]
    strict: dict[str, list[Scores]] = {}
    for label, cls in modes:
        curves = [evaluate_curve(X_held, t, tagger, cls, held_true, thresholds) for t in held_tasks]
        for i, ((name, _), th) in enumerate(zip(levels, thresholds, strict=True)):
            scores = [c[i] for c in curves]
            if name == ctagger.DEFAULT_REACH:
                strict[label] = scores
            print(f"| {space} | {name} ({th:g}) | {label} | {fmt_row(scores)} |")
    for label in ("none", "shipped tagger (saw the val kits)"):
        if label in strict:
            print(f"\nPer tag at the default reach, {label} (P / R / F1):")
            per_tag_lines(held_tasks, strict[label])
    corrections_section(held, held_tasks, head_held)


def fmt_row(scores: Sequence[Scores]) -> str:
    """The cells of one held-out row: P / R / F1 per task, pooled P / R, mean F1, share given across classes."""
    given = sum(s.given for s in scores)
    across = f"{sum(s.across for s in scores) / given:.3f} of {given}" if given else "–"
    cells = " | ".join(f"{s.precision:.2f} / {s.recall:.2f} / **{s.f1:.2f}**" for s in scores)
    return f"{cells} | {pooled(scores)} | **{np.mean([s.f1 for s in scores]):.3f}** | {across}"


REVIEWS = (5, 10, 20)
"""How many of a tag's most confident propagated sounds the simulated user looks at in (c)."""


def corrections_section(held: Sequence[Sound], tasks: Sequence[Task], head_held: np.ndarray | None) -> None:
    """(c): the backend's configuration (default space and parameters, the shipped tagger's classes) widened to the
    ``wide`` reach, after one round of corrections, against the same sounds without them."""
    X, normalize = space_vectors(held, vectors.DESCRIBED)
    X = unit_rows(X, normalize)
    wide = ctagger.reach_confidence("wide")
    tagger = ctagger.CustomTagger.for_space(vectors.DESCRIBED, normalize=False, min_confidence=wide)
    print("\n### (c) one round of corrections: rejected tags as counter-examples\n")
    print(
        f"Backend configuration (space musicnn+descriptors, package defaults at the wide reach, confidence ≥ {wide}; "
        "each sound compared with examples of its class by the shipped tagger, or with every example). Per tag the "
        "user looks at the N sounds given it with the highest confidence and removes it where it is wrong; the tags "
        "are propagated again with those rejections. Both rows of a pair are scored on the same sounds: neither "
        "examples nor looked at."
    )
    print("\n| N looked at per tag | rejections per draw | propagation | " + " | ".join(TASKS) + " | mean F1 |")
    print("|---:|---:|---|" + "---:|" * (len(TASKS) + 1))
    modes = [("no class", None)] + ([] if head_held is None else [("shipped tagger's class", head_held)])
    for label, classes in modes:
        for review in REVIEWS:
            results = [evaluate_corrections(X, t, tagger, classes, review) for t in tasks]
            per_draw = sum(r[2] for r in results) / sum(len(t.draws) for t in tasks)
            before = fmt_scores([r[0] for r in results])
            after = fmt_scores([r[1] for r in results])
            print(f"| {review} | {per_draw:.1f} | first ({label}) | {before} |")
            print(f"| {review} | {per_draw:.1f} | with the rejections ({label}) | {after} |")


if __name__ == "__main__":
    main()

"""The non-drum gate: a second reason for the tagger to say ``Unknown``.

The head's softmax knows five drum classes; a bass note or a notification sound often gets one of them
with a likelihood above the Unknown threshold. The gate is a small network (one hidden layer of ReLU units and
a logistic output), trained on the same sounds as the head, that tells drums (the five classes) from
everything else by the sound's MusiCNN embedding and its envelope and spectral-shape
:mod:`~drumsamp_models.descriptors`. The tagger says
``Unknown`` when no class likelihood reaches the threshold *or* the gate's non-drum probability passes
its own threshold; both thresholds are calibrated together (``tools/train_tagger.py``). The figures are
in ``docs/evaluation.md``.

The weights ship inside the package (``weights/nondrum_gate.npz``) and run in NumPy.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any

import numpy as np

from . import descriptors

__all__ = ["GATE_FILE", "NonDrumGate", "gate_features"]

GATE_FILE = "nondrum_gate.npz"


def gate_features(embeddings: np.ndarray, described: np.ndarray) -> np.ndarray:
    """The gate's input per sound: the L2-normalised mean MusiCNN embedding beside the standardised descriptors.

    ``embeddings`` is (n, 200) or (200,), ``described`` (n, 36) or (36,); returns (n, 236) or (236,).
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    norm = np.linalg.norm(emb, axis=-1, keepdims=True)
    unit = emb / np.maximum(norm, 1e-12)
    return np.concatenate([unit, descriptors.standardize(described).astype(np.float64)], axis=-1)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True)
class NonDrumGate:
    """A one-hidden-layer network (ReLU, then a logistic output) on standardised :func:`gate_features`;
    ``threshold`` on P(non-drum).

    ``head_threshold`` is the head's Unknown threshold calibrated together with ``threshold`` (for the head
    whose fingerprint is ``meta["head"]``): with the gate on, the tagger uses it in place of the head's own.
    """

    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    threshold: float = 0.5
    head_threshold: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        features: np.ndarray,
        is_non_drum: np.ndarray,
        hidden: int = 64,
        alpha: float = 1.0,
        seed: int = 0,
        threshold: float = 0.5,
    ) -> NonDrumGate:
        """Fit on (n, 236) :func:`gate_features` by L-BFGS on the logistic loss, both kinds weighted equally.

        ``hidden`` is the number of ReLU units, ``alpha`` the L2 penalty on the weights (scikit-learn's
        ``MLPClassifier`` convention: ``alpha / (2 n)`` times the squared weights), ``seed`` fixes the start.
        """
        from scipy.optimize import minimize

        x = np.asarray(features, dtype=np.float64)
        y = np.where(np.asarray(is_non_drum, dtype=bool), 1.0, -1.0)
        if x.ndim != 2 or len(x) != len(y):
            raise ValueError("features must be (n, d) with one label per row")
        if not (y > 0).any() or not (y < 0).any():
            raise ValueError("the gate needs both drum and non-drum sounds to learn from")
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        z = (x - mean) / scale
        n, d = z.shape
        n_pos = float((y > 0).sum())
        weight = np.where(y > 0, 0.5 / n_pos, 0.5 / (n - n_pos))  # each kind weighs half; sums to 1
        penalty = alpha / n
        cut = (d * hidden, d * hidden + hidden, d * hidden + 2 * hidden)

        def unpack(params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
            """(w1, b1, w2, b2) from the flat parameter vector L-BFGS works on."""
            return params[: cut[0]].reshape(d, hidden), params[cut[0] : cut[1]], params[cut[1] : cut[2]], params[-1]

        def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
            w1, b1, w2, b2 = unpack(params)
            pre = z @ w1 + b1
            act = np.maximum(pre, 0.0)
            margin = y * (act @ w2 + b2)
            loss = np.sum(weight * np.logaddexp(0.0, -margin)) + 0.5 * penalty * (np.sum(w1**2) + np.sum(w2**2))
            g_out = -weight * y * _sigmoid(-margin)
            g_pre = np.outer(g_out, w2) * (pre > 0)
            grad = [
                (z.T @ g_pre + penalty * w1).ravel(),
                g_pre.sum(axis=0),
                act.T @ g_out + penalty * w2,
                [g_out.sum()],
            ]
            return float(loss), np.concatenate(grad)

        rng = np.random.default_rng(seed)
        start = np.concatenate(
            [
                rng.normal(0.0, np.sqrt(2.0 / d), d * hidden),
                np.zeros(hidden),
                rng.normal(0.0, np.sqrt(1.0 / hidden), hidden),
                [0.0],
            ]
        )
        res = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 1000})
        w1, b1, w2, b2 = unpack(res.x)
        return cls(mean, scale, w1, b1, w2, float(b2), threshold)

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(non-drum) for (n, 236) :func:`gate_features` (or one (236,) row: a 0-d array)."""
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        return _sigmoid(np.maximum(z @ self.w1 + self.b1, 0.0) @ self.w2 + self.b2)

    def with_thresholds(self, threshold: float, head_threshold: float | None, meta: dict[str, Any]) -> NonDrumGate:
        """The same weights with calibrated thresholds and metadata."""
        return NonDrumGate(self.mean, self.scale, self.w1, self.b1, self.w2, self.b2, threshold, head_threshold, meta)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-1 of the weights, thresholds and metadata: changes with the gate."""
        digest = hashlib.sha1()
        for array in (self.mean, self.scale, self.w1, self.b1, self.w2):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        digest.update(json.dumps([self.b2, self.threshold, self.head_threshold, self.meta]).encode())
        return digest.hexdigest()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the gate to an ``.npz`` (arrays plus JSON thresholds and metadata)."""
        extra = {"b2": self.b2, "threshold": self.threshold, "head_threshold": self.head_threshold}
        np.savez(
            path,
            mean=self.mean,
            scale=self.scale,
            w1=self.w1,
            b1=self.b1,
            w2=self.w2,
            meta=np.array(json.dumps(extra | {"meta": self.meta}, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NonDrumGate:
        """Read a gate written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as npz:
            extra = json.loads(str(npz["meta"]))
            return cls(
                mean=npz["mean"].astype(np.float64),
                scale=npz["scale"].astype(np.float64),
                w1=npz["w1"].astype(np.float64),
                b1=npz["b1"].astype(np.float64),
                w2=npz["w2"].astype(np.float64),
                b2=float(extra["b2"]),
                threshold=float(extra["threshold"]),
                head_threshold=None if extra["head_threshold"] is None else float(extra["head_threshold"]),
                meta=extra["meta"],
            )

    @classmethod
    def shipped(cls) -> NonDrumGate | None:
        """The gate shipped in the wheel, or None when the package has none."""
        ref = resources.files("drumsamp_models").joinpath("weights", GATE_FILE)
        if not ref.is_file():
            return None
        with resources.as_file(ref) as path:
            return cls.load(path)

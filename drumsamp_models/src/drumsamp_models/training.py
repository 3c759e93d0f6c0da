"""Training the tagger's head on MusiCNN embeddings: augmentation, soft targets, fitting, calibration.

Everything here works on arrays, so the same code retrains the head on any labelled sounds: compute
patch embeddings with :class:`~drumsamp_models.tagger.MusicnnEmbedder`, build targets with
:func:`soft_targets`, fit with :func:`fit_head`, pick the Unknown threshold with
:func:`calibrate_unknown_threshold`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .tagger import CLASSES, UNKNOWN, Head, _softmax

__all__ = [
    "FitResult",
    "augment",
    "calibrate_unknown_threshold",
    "calibrate_with_gate",
    "class_weights",
    "fit_head",
    "random_eq",
    "shelf_filter",
    "soft_targets",
]


def _reverb(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Convolve with a short synthetic room (exponentially decaying noise, RT60 0.1-0.6 s)."""
    rt60 = rng.uniform(0.1, 0.6)
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir[0] = 0.0
    ir /= np.sqrt(np.sum(ir**2)) + 1e-12
    wet = np.convolve(y, ir)[: len(y) + n // 2]
    mix = rng.uniform(0.1, 0.35)
    dry = np.concatenate([y, np.zeros(len(wet) - len(y), dtype=y.dtype)])
    return (1 - mix) * dry + mix * wet


def shelf_filter(
    y: np.ndarray, sr: int, freq: float, gain_db: float, kind: str = "high", slope: float = 1.0
) -> np.ndarray:
    """Boost or cut everything above (``kind="high"``) or below (``"low"``) ``freq`` Hz by ``gain_db``.

    A second-order shelving filter (R. Bristow-Johnson's audio EQ cookbook) with shelf slope ``slope``.
    """
    from scipy.signal import lfilter

    if kind not in ("high", "low"):
        raise ValueError("kind must be 'high' or 'low'")
    if not 0 < freq < sr / 2:
        raise ValueError("freq must lie between 0 and the Nyquist frequency")
    a_gain = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / sr
    cos_w0 = np.cos(w0)
    alpha = np.sin(w0) / 2 * np.sqrt((a_gain + 1 / a_gain) * (1 / slope - 1) + 2)
    root = 2 * np.sqrt(a_gain) * alpha
    sign = 1.0 if kind == "high" else -1.0
    b = a_gain * np.array(
        [
            (a_gain + 1) + sign * (a_gain - 1) * cos_w0 + root,
            -2 * sign * ((a_gain - 1) + sign * (a_gain + 1) * cos_w0),
            (a_gain + 1) + sign * (a_gain - 1) * cos_w0 - root,
        ]
    )
    a = np.array(
        [
            (a_gain + 1) - sign * (a_gain - 1) * cos_w0 + root,
            2 * sign * ((a_gain - 1) - sign * (a_gain + 1) * cos_w0),
            (a_gain + 1) - sign * (a_gain - 1) * cos_w0 - root,
        ]
    )
    return lfilter(b / a[0], a / a[0], y).astype(y.dtype, copy=False)


def random_eq(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A random tone change, as from a mixing desk or another microphone: a high shelf (1.5-8 kHz,
    -15 to +6 dB) and a low shelf (60-400 Hz, -6 to +6 dB)."""
    high = float(np.exp(rng.uniform(np.log(1500), np.log(min(8000, 0.45 * sr)))))
    y = shelf_filter(y, sr, high, rng.uniform(-15, 6), "high")
    low = float(np.exp(rng.uniform(np.log(60), np.log(400))))
    return shelf_filter(y, sr, low, rng.uniform(-6, 6), "low")


def augment(y: np.ndarray, sr: int, rng: np.random.Generator, eq: float = 0.0) -> np.ndarray:
    """A random, label-preserving variant of a drum sound.

    Applies, each with some probability: playback-speed change (pitch and length together, ±2
    semitones), pitch shift (±2 semitones), time stretch (0.85-1.15), polarity inversion, a short
    reverb, background noise (30-50 dB SNR), with probability ``eq`` a random tone change
    (:func:`random_eq`), and always a gain change (-12 to +3 dB, peak kept ≤ 1). With ``eq=0`` (the
    default) no extra random number is drawn: the variants are those of 0.5.0 and earlier, draw for draw.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if rng.random() < 0.4:
        factor = 2.0 ** (rng.uniform(-2, 2) / 12)
        y = librosa.resample(y, orig_sr=int(sr * factor), target_sr=sr, res_type="soxr_hq")
    elif rng.random() < 0.5:
        y = librosa.effects.pitch_shift(y, sr=sr, n_steps=rng.uniform(-2, 2), res_type="soxr_hq")
    if rng.random() < 0.3 and len(y) > 2048:
        y = librosa.effects.time_stretch(y, rate=rng.uniform(0.85, 1.15))
    if rng.random() < 0.5:
        y = -y
    if rng.random() < 0.3:
        y = _reverb(y, sr, rng)
    if rng.random() < 0.4:
        power = np.mean(y**2) + 1e-12
        snr_db = rng.uniform(30, 50)
        y = y + rng.standard_normal(len(y)) * np.sqrt(power / 10 ** (snr_db / 10))
    if eq:
        eq_rng = np.random.default_rng(rng.integers(2**63))
        if eq_rng.random() < eq:
            y = random_eq(y, sr, eq_rng)
    y = y * 10 ** (rng.uniform(-12, 3) / 20)
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak > 1.0:
        y = y / peak
    return y.astype(np.float32)


def soft_targets(labels: Sequence[str], classes: Sequence[str] = CLASSES, smoothing: float = 0.0) -> np.ndarray:
    """One-hot targets with label smoothing; ``Unknown`` (a non-drum sound) gets the uniform distribution.

    Training non-drums towards a flat output ("outlier exposure") keeps their maximum likelihood low,
    which is what the Unknown threshold needs.
    """
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    out = np.full((len(labels), k), smoothing / k, dtype=np.float32)
    for row, label in enumerate(labels):
        if label == UNKNOWN:
            out[row] = 1.0 / k
        else:
            out[row, index[label]] += 1.0 - smoothing
    return out


def class_weights(
    labels: Sequence[str],
    unknown_share: float = 1.0,
    groups: Sequence[str] | None = None,
    group_power: float = 0.0,
) -> np.ndarray:
    """Per-sample weights giving every class the same total weight (Unknown: ``unknown_share`` of a class).

    With ``groups`` (a kit family or source per sample), a sample of a class that its group holds ``n`` of is
    first weighted ``n ** -group_power``: 0 leaves big kits their weight, 1 gives every group the same share
    of each class it holds, so that one kit's many velocity layers do not outweigh the other kits.
    """
    labels_arr = np.asarray(labels)
    if groups is None or group_power == 0.0:
        raw = np.ones(len(labels_arr), dtype=np.float32)
    else:
        cells = [f"{g}\x00{label}" for g, label in zip(groups, labels_arr.tolist(), strict=True)]
        _, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
        raw = (counts[inverse].astype(np.float64) ** -group_power).astype(np.float32)
    weights = np.zeros(len(labels_arr), dtype=np.float32)
    for label in np.unique(labels_arr):
        members = labels_arr == label
        weights[members] = raw[members] / raw[members].sum()
    weights[labels_arr == UNKNOWN] *= unknown_share
    return weights * (len(labels_arr) / weights.sum())


@dataclass(frozen=True)
class FitResult:
    """The trained head and the training history (per-epoch losses, best epoch)."""

    head: Head
    history: dict[str, list[float]]
    best_epoch: int


def fit_head(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    *,
    sample_weight: np.ndarray | None = None,
    val_sample_weight: np.ndarray | None = None,
    classes: Sequence[str] = CLASSES,
    hidden: int = 200,
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
    epochs: int = 50,
    batch_size: int = 32,
    patience: int | None = None,
    seed: int = 0,
    verbose: int = 0,
) -> FitResult:
    """Train Dropout → Dense(hidden, ReLU) → Dense(classes, softmax) on 200-d embeddings with Adam and
    cross-entropy (soft targets allowed).

    With validation data, the weights of the epoch with the lowest validation loss are kept; without,
    training runs the full ``epochs``.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(x_train.shape[1],)),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(len(classes), activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy")
    callbacks = []
    validation = None
    if x_val is not None and y_val is not None:
        validation = (x_val, y_val, val_sample_weight) if val_sample_weight is not None else (x_val, y_val)
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience or epochs, restore_best_weights=True)
        )
    hist = model.fit(
        x_train,
        y_train,
        sample_weight=sample_weight,
        validation_data=validation,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        callbacks=callbacks,
        verbose=verbose,
    )
    dense1, dense2 = model.layers[1], model.layers[2]
    w1, b1 = (np.asarray(v, dtype=np.float32) for v in dense1.get_weights())
    w2, b2 = (np.asarray(v, dtype=np.float32) for v in dense2.get_weights())
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    best_epoch = int(np.argmin(history["val_loss"])) + 1 if "val_loss" in history else epochs
    return FitResult(Head(w1, b1, w2, b2, tuple(classes)), history, best_epoch)


def calibrate_unknown_threshold(
    drum_max_likelihood: np.ndarray,
    max_drum_rejection: float = 0.03,
    grid: np.ndarray | None = None,
) -> float:
    """The highest threshold (on a 0.01 grid) that tags at most ``max_drum_rejection`` of drums ``Unknown``.

    ``drum_max_likelihood`` holds the maximum class likelihood of each validation drum sound. The higher
    the threshold, the more non-drum sounds are rejected, so the highest admissible one is chosen.
    """
    values = np.asarray(drum_max_likelihood, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no validation drum sounds to calibrate the Unknown threshold on")
    grid = np.round(np.arange(0.2, 1.0, 0.01), 2) if grid is None else grid
    admissible = [float(t) for t in grid if np.mean(values < t) <= max_drum_rejection]
    return max(admissible) if admissible else float(grid[0])


def calibrate_with_gate(
    max_likelihood: np.ndarray,
    non_drum: np.ndarray,
    is_drum: np.ndarray,
    max_drum_rejection: float = 0.05,
) -> tuple[float, float]:
    """The (Unknown threshold, gate threshold) pair that rejects the most non-drums while tagging at most
    ``max_drum_rejection`` of the drums ``Unknown`` (ties: fewer drums lost).

    A sound is rejected when its ``max_likelihood`` is below the first threshold or its gate probability
    ``non_drum`` is above the second; both thresholds lie on a 0.01 grid (a gate threshold of 1.0 turns the
    gate off). Inputs hold one value per validation sound, drums and non-drums.
    """
    maxl = np.asarray(max_likelihood, dtype=np.float64)
    gate = np.asarray(non_drum, dtype=np.float64)
    drum = np.asarray(is_drum, dtype=bool)
    if not drum.any() or drum.all():
        raise ValueError("calibrating the gate needs both drum and non-drum validation sounds")
    gate_grid = np.round(np.arange(0.05, 1.001, 0.01), 2)
    by_gate = gate[:, None] > gate_grid[None, :]  # (n, gates)
    best: tuple[float, float, float, float] = (-1.0, 0.0, 0.2, 1.0)
    for t1 in np.round(np.arange(0.2, 1.0, 0.01), 2):
        rejected = (maxl < t1)[:, None] | by_gate
        lost = rejected[drum].mean(axis=0)
        caught = rejected[~drum].mean(axis=0)
        for j in np.flatnonzero(lost <= max_drum_rejection):
            key = (float(caught[j]), -float(lost[j]))
            if key > (best[0], -best[1]):
                best = (key[0], float(lost[j]), float(t1), float(gate_grid[j]))
    return best[2], best[3]


def fit_head_numpy(
    x_train: np.ndarray,
    y_train: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    classes: Sequence[str] = CLASSES,
    hidden: int = 200,
    dropout: float = 0.5,
    learning_rate: float = 1e-3,
    epochs: int = 50,
    batch_size: int = 32,
    seed: int = 0,
) -> FitResult:
    """:func:`fit_head`'s network and recipe (Dropout → Dense(hidden, ReLU) → Dense(classes, softmax), Glorot
    initialisation, Adam, weighted cross-entropy averaged over each batch, full ``epochs``) in NumPy.

    About twenty times faster than Keras on this small network (no per-step framework overhead), which makes
    leave-one-group-out over 30+ groups affordable on two cores; the numbers differ from Keras' only by the
    random streams (initialisation, dropout masks, batch order)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x_train, np.float32)
    y = np.asarray(y_train, np.float32)
    w = np.ones(len(x), np.float32) if sample_weight is None else np.asarray(sample_weight, np.float32)
    n_in, k = x.shape[1], y.shape[1]

    def glorot(fan_in: int, fan_out: int) -> np.ndarray:
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)

    params = [glorot(n_in, hidden), np.zeros(hidden, np.float32), glorot(hidden, k), np.zeros(k, np.float32)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-7
    step = 0
    losses: list[float] = []
    keep = 1.0 - dropout
    for _ in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            xb, yb, wb = x[idx], y[idx], w[idx]
            mask = (rng.random(xb.shape) < keep).astype(np.float32) / keep if dropout > 0 else 1.0
            xd = xb * mask
            pre = xd @ params[0] + params[1]
            h = np.maximum(pre, 0.0)
            p = _softmax(h @ params[2] + params[3])
            total += float(np.sum(wb * -np.sum(yb * np.log(np.clip(p, 1e-7, 1.0)), axis=1)))
            # d(mean weighted CE)/dz for softmax outputs (targets sum to 1)
            dz = (p - yb) * (wb / len(idx))[:, None]
            grads = [None, None, h.T @ dz, dz.sum(axis=0)]
            dh = (dz @ params[2].T) * (pre > 0)
            grads[0], grads[1] = xd.T @ dh, dh.sum(axis=0)
            step += 1
            lr = learning_rate * np.sqrt(1 - beta2**step) / (1 - beta1**step)
            for i, g in enumerate(grads):
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                params[i] -= (lr * m[i] / (np.sqrt(v[i]) + eps)).astype(np.float32)
        losses.append(total / len(x))
    w1, b1, w2, b2 = (p.astype(np.float32) for p in params)
    return FitResult(Head(w1, b1, w2, b2, tuple(classes)), {"loss": losses}, epochs)

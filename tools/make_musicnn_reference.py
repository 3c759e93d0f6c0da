"""Record the ORIGINAL MusiCNN's outputs on fixed inputs: tests/models/data/musicnn_reference.npz (MTT_musicnn;
``--model MSD_musicnn``: musicnn_reference_MSD_musicnn.npz).

The reference is produced by the original TF1 graph, built by musicnn 0.1.0's own ``musicnn/models.py``
(imported from the downloaded package, not from our code, unpatched) and restored from its own
checkpoint of the model, exactly as ``musicnn/extractor.py`` does it (``model`` name scope, input
placeholder (None, 187, 96), ``is_training`` placeholder fed False, sigmoid over the logits). The
inputs are float32 log-mel patches computed by ``drumsamp_models.features.musicnn_patches`` (read from
this repository's source tree) from generated signals and fed straight into the placeholder, bypassing
the original's float16 extractor. A second graph with a variable-length placeholder (None, None, 96)
records one short input, the proof that the port's ``n_frames=None`` matches too.

It needs the original's runtime (full ``tensorflow`` + ``tf-keras``, legacy Keras), so it runs once
in a scratch venv outside the repository::

    python3 -m venv /tmp/tf1ref
    /tmp/tf1ref/bin/pip install tensorflow tf-keras librosa numpy
    cd /work/main && TF_USE_LEGACY_KERAS=1 /tmp/tf1ref/bin/python tools/make_musicnn_reference.py
    # offline, from an unpacked musicnn 0.1.0 (a folder holding musicnn/MTT_musicnn/):
    TF_USE_LEGACY_KERAS=1 /tmp/tf1ref/bin/python tools/make_musicnn_reference.py --source /tmp/mnn/src
    # the same for MSD_musicnn (writes musicnn_reference_MSD_musicnn.npz):
    TF_USE_LEGACY_KERAS=1 /tmp/tf1ref/bin/python tools/make_musicnn_reference.py --model MSD_musicnn

Without ``--source`` it runs ``pip download --no-deps musicnn==0.1.0`` into a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.compat.v1.layers needs tf-keras (Keras 2)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "models" / "data" / "musicnn_reference.npz"
SR = 16000
SHORT_FRAMES = 100


def _env(n: int, tau: float) -> np.ndarray:
    """Exponential decay envelope of n samples with time constant tau seconds."""
    return np.exp(-np.arange(n) / (tau * SR))


def reference_signals() -> dict[str, np.ndarray]:
    """Deterministic 16 kHz test signals (float32), each giving one or more 187-frame patches."""
    rng = np.random.default_rng(20190401)
    t = np.arange(int(0.6 * SR)) / SR
    kick = np.sin(2 * np.pi * (60 * t + 40 * 0.03 * (1 - np.exp(-t / 0.03)))) * _env(t.size, 0.12)
    snare = rng.standard_normal(int(0.4 * SR)) * _env(int(0.4 * SR), 0.06) * 0.5
    snare[: int(0.2 * SR)] += 0.4 * np.sin(2 * np.pi * 190 * t[: int(0.2 * SR)]) * _env(int(0.2 * SR), 0.04)
    hat = np.diff(rng.standard_normal(int(0.15 * SR) + 1)) * _env(int(0.15 * SR), 0.02) * 0.3
    loop = np.zeros(7 * SR)  # 7 s at 120 bpm: kick on beats, snare on 2 and 4, hats on eighths -> 2 patches
    for i, start in enumerate(range(0, loop.size, SR // 4)):
        hit = hat if i % 2 else (kick if i % 4 == 0 else snare)
        end = min(loop.size, start + hit.size)
        loop[start:end] += hit[: end - start]
    return {
        "noise_burst": (rng.standard_normal(int(0.5 * SR)) * _env(int(0.5 * SR), 0.08)).astype(np.float32),
        "kick_60hz": (kick / np.abs(kick).max()).astype(np.float32),  # normalised: loud, overflows float16
        "drum_loop_7s": (0.5 * loop / np.abs(loop).max()).astype(np.float32),
        "white_noise": (0.3 * rng.standard_normal(3 * SR)).astype(np.float32),
        "quiet_hat": (0.05 * hat / np.abs(hat).max()).astype(np.float32),
    }


def package_root(folder: Path) -> Path:
    """The folder holding ``musicnn/models.py`` in an unpacked musicnn package (itself or a sub-folder)."""
    for candidate in (folder, *sorted(p for p in folder.iterdir() if p.is_dir())):
        if (candidate / "musicnn" / "models.py").is_file():
            return candidate
    raise FileNotFoundError(f"no musicnn/models.py under {folder}")


def run_original(
    pkg_root: Path, batches: list[np.ndarray], n_frames: int | None, model: str = "MTT_musicnn"
) -> list[tuple[np.ndarray, ...]]:
    """Build musicnn's own TF1 graph as its extractor does, restore ``model``, return (taggram, penultimate)."""
    sys.path.insert(0, str(pkg_root))
    import tensorflow as tf
    from musicnn import configuration as config  # the original package's own code
    from musicnn import models

    assert Path(models.__file__).resolve().is_relative_to(pkg_root.resolve()), models.__file__
    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        labels = config.MTT_LABELS if model.startswith("MTT") else config.MSD_LABELS
        y, *_, penultimate = models.define_model(x, is_training, model, len(labels))
        normalized_y = tf.nn.sigmoid(y)
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().restore(sess, str(pkg_root / "musicnn" / model) + "/")
        return [
            tuple(sess.run([normalized_y, penultimate], feed_dict={x: batch, is_training: False})) for batch in batches
        ]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="unpacked musicnn 0.1.0 (default: pip download it)")
    parser.add_argument("--model", default="MTT_musicnn", choices=["MTT_musicnn", "MSD_musicnn"])
    parser.add_argument("--out", type=Path, help=f"output .npz (default {OUT}, or ..._<model>.npz)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = OUT if args.model == "MTT_musicnn" else OUT.with_name(f"{OUT.stem}_{args.model}.npz")

    sys.path[:0] = [str(ROOT), str(ROOT / "drumsamp_models" / "src")]
    from drumsamp_models.features import musicnn_mel, musicnn_patches
    from tools.convert_musicnn import musicnn_source  # the same download and unpacking as the converter

    signals = reference_signals()
    per_signal = {name: musicnn_patches(y) for name, y in signals.items()}
    mels = np.concatenate(list(per_signal.values())).astype(np.float32)
    names = np.array([name for name, p in per_signal.items() for _ in range(len(p))])
    short = musicnn_mel(signals["kick_60hz"])[None, :SHORT_FRAMES].astype(np.float32)
    short = np.pad(short, ((0, 0), (0, SHORT_FRAMES - short.shape[1]), (0, 0)))

    with musicnn_source(args.source) as folder:
        pkg_root = package_root(folder)
        ((taggram, penultimate),) = run_original(pkg_root, [mels], n_frames=mels.shape[1], model=args.model)
        ((short_taggram, short_penultimate),) = run_original(pkg_root, [short], n_frames=None, model=args.model)
        import tensorflow as tf

        tf_version = tf.__version__

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        mels=mels,
        names=names,
        taggram=taggram.astype(np.float32),
        embedding=penultimate.astype(np.float32),
        short_mels=short,
        short_taggram=short_taggram.astype(np.float32),
        short_embedding=short_penultimate.astype(np.float32),
        producer=np.array(f"musicnn 0.1.0 models.py + {args.model} checkpoint, tensorflow {tf_version} compat.v1"),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): {mels.shape[0]} patches {list(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Convert the original MusiCNN TF1 checkpoints into the Keras weights files shipped in drumsamp_models.

MTT_musicnn (MagnaTagATune) is the design's base; MSD_musicnn (Million Song Dataset, same architecture) can
give the tagger head a second frozen embedding. The checkpoints come from PyPI ``musicnn==0.1.0`` (ISC
licence, Music Technology Group, Universitat Pompeu Fabra). By default the package is fetched with
``pip download --no-deps musicnn==0.1.0`` into a temporary folder and unpacked; ``--source DIR`` uses an
unpacked copy instead (a folder holding ``musicnn/MTT_musicnn/``). ``--model`` picks the models (default:
both). Every checkpoint variable is mapped onto a Keras layer with ``set_weights``; the conversion fails if
a non-optimiser variable is left unused or a shape does not fit.

Regenerate the shipped files (from the repository root)::

    .venv/bin/python tools/convert_musicnn.py          # both models; --model MSD_musicnn for one
    # or, offline, from an unpacked copy:
    .venv/bin/python tools/convert_musicnn.py --source /tmp/mnn/src
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("MTT_musicnn", "MSD_musicnn")
WEIGHTS_DIR = ROOT / "drumsamp_models" / "src" / "drumsamp_models" / "weights"
MUSICNN_SPEC = "musicnn==0.1.0"
OPTIMISER_VARIABLES = frozenset({"beta1_power", "beta2_power"})

LICENCE_HEADER = """\
The files MTT_musicnn.weights.h5 and MSD_musicnn.weights.h5 in this folder hold the weights of the MTT_musicnn
(MagnaTagATune) and MSD_musicnn (Million Song Dataset) models of musicnn (https://github.com/jordipons/musicnn),
converted unchanged from the TensorFlow checkpoints shipped in the PyPI package musicnn 0.1.0 by DrumSampler's
tools/convert_musicnn.py.

musicnn: Jordi Pons and Xavier Serra, Music Technology Group, Universitat Pompeu Fabra.
  J. Pons, X. Serra. "musicnn: pre-trained convolutional neural networks for music audio tagging".
  Late-breaking/demo session, 20th International Society for Music Information Retrieval Conference
  (ISMIR 2019).

The musicnn licence (ISC), as distributed with musicnn 0.1.0:

"""


@contextmanager
def musicnn_source(source: Path | None) -> Iterator[Path]:
    """Yield a folder holding ``musicnn/MTT_musicnn/``: ``source`` itself, or a freshly downloaded package."""
    if source is not None:
        yield source
        return
    with tempfile.TemporaryDirectory(prefix="musicnn-") as tmp:
        tmp_path = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", MUSICNN_SPEC, "-d", str(tmp_path / "dl")],
            check=True,
        )
        (archive,) = sorted((tmp_path / "dl").iterdir())
        out = tmp_path / "src"
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(out)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(out, filter="data")
        yield out


def find_package_root(source: Path, model: str = "MTT_musicnn") -> Path:
    """The folder whose ``musicnn/<model>/.index`` exists (the source itself or one level below)."""
    for candidate in (source, *sorted(p for p in source.iterdir() if p.is_dir())):
        if (candidate / "musicnn" / model / ".index").is_file():
            return candidate
    raise FileNotFoundError(f"no musicnn/{model}/ checkpoint under {source}")


def find_licence(source: Path) -> Path:
    """musicnn's ISC licence file (LICENSE.md in the wheel's dist-info or the sdist root)."""
    for path in sorted(source.rglob("LICENSE*")):
        if "ISC" in path.read_text(errors="replace") or "Permission to use" in path.read_text(errors="replace"):
            return path
    raise FileNotFoundError(f"no licence file under {source}")


def read_checkpoint(ckpt_dir: Path) -> dict[str, np.ndarray]:
    """All variables of a TF1 checkpoint whose prefix is the folder itself (hence the trailing slash)."""
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(str(ckpt_dir) + "/")
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def layer_weights(layer_type: str, scope: str, ckpt: dict[str, np.ndarray], used: set[str]) -> list[np.ndarray]:
    """The checkpoint arrays of one TF1 layer scope, in Keras order, marking them used."""

    def take(var: str) -> np.ndarray:
        name = f"{scope}/{var}"
        used.add(name)
        return ckpt[name]

    if layer_type == "BatchNormalization":
        return [take("gamma"), take("beta"), take("moving_mean"), take("moving_variance")]
    kernel, bias = take("kernel"), take("bias")
    if layer_type == "Conv1D":  # the mid-end's (7, C, 1, 64) conv over a 1-channel map is a Conv1D (7, C, 64)
        if kernel.ndim != 4 or kernel.shape[2] != 1:
            raise ValueError(f"{scope}: unexpected mid-end kernel shape {kernel.shape}")
        kernel = kernel[:, :, 0, :]
    return [kernel, bias]


def convert(pkg_root: Path, weights_out: Path, name: str = "MTT_musicnn") -> None:
    """Map a MusiCNN checkpoint (``musicnn/<name>/``) onto the Keras model and save it as ``weights_out``."""
    from drumsamp_models.musicnn import N_PARAMS, TF1_LAYER_NAMES, build_musicnn

    ckpt = read_checkpoint(pkg_root / "musicnn" / name)
    model = build_musicnn(name=name)
    used: set[str] = set()
    for scope, keras_name in TF1_LAYER_NAMES.items():
        layer = model.get_layer(keras_name)
        arrays = layer_weights(type(layer).__name__, scope, ckpt, used)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(a.shape) for a in arrays]
        if expected != got:
            raise ValueError(f"{scope} -> {keras_name}: shapes {got} do not fit {expected}")
        layer.set_weights([a.astype(np.float32) for a in arrays])

    unused = sorted(n for n in ckpt if n not in used and "Adam" not in n and n not in OPTIMISER_VARIABLES)
    if unused:
        raise ValueError(f"checkpoint variables left unused: {unused}")
    layers_with_weights = {layer.name for layer in model.layers if layer.weights}
    if layers_with_weights != set(TF1_LAYER_NAMES.values()):
        raise ValueError(
            f"Keras layers without checkpoint weights: {layers_with_weights - set(TF1_LAYER_NAMES.values())}"
        )
    if model.count_params() != N_PARAMS:
        raise ValueError(f"{model.count_params()} parameters, expected {N_PARAMS}")

    weights_out.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(weights_out))
    check = build_musicnn(name=name)
    check.load_weights(str(weights_out))
    for a, b in zip(model.get_weights(), check.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    print(f"wrote {weights_out} ({weights_out.stat().st_size} bytes, {len(used)} variables, {N_PARAMS} parameters)")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="unpacked musicnn 0.1.0 (default: pip download it)")
    parser.add_argument("--out-dir", type=Path, default=WEIGHTS_DIR, help=f"output folder (default {WEIGHTS_DIR})")
    parser.add_argument(
        "--model", action="append", choices=MODELS, help="model to convert (repeatable; default: all of them)"
    )
    args = parser.parse_args(argv)

    with musicnn_source(args.source) as source:
        for name in args.model or MODELS:
            convert(find_package_root(source, name), args.out_dir / f"{name}.weights.h5", name)
        licence = find_licence(source).read_text().strip() + "\n"
    (args.out_dir / "LICENSE-musicnn.txt").write_text(LICENCE_HEADER + licence)
    print(f"wrote {args.out_dir / 'LICENSE-musicnn.txt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

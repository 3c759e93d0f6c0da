"""The Keras port of MTT_musicnn and MSD_musicnn against the ORIGINAL TF1 network's outputs on fixed inputs.

``data/musicnn_reference.npz`` (MTT_musicnn) and ``data/musicnn_reference_MSD_musicnn.npz`` were written by
``tools/make_musicnn_reference.py``: musicnn 0.1.0's own ``models.py`` graph with its own checkpoint, fed float32
log-mel patches from ``musicnn_patches``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from drumsamp_models import musicnn

REFERENCES = {
    "MTT_musicnn": Path(__file__).parent / "data" / "musicnn_reference.npz",
    "MSD_musicnn": Path(__file__).parent / "data" / "musicnn_reference_MSD_musicnn.npz",
}
LOOP_TAGS = {"MTT_musicnn": {"drums", "beat", "beats"}, "MSD_musicnn": {"electronic", "electro", "dance", "House"}}
"""Tags one of which the original puts among its top three for the generated drum loop."""
TAGGRAM_ATOL = 1e-5  # measured 1.8e-7 (values in [0, 1])
EMBEDDING_ATOL = 1e-4  # measured 9.5e-7 (values up to ~4)


@pytest.fixture(scope="module", params=sorted(REFERENCES))
def name(request: pytest.FixtureRequest) -> str:
    """Each shipped model in turn."""
    return request.param


@pytest.fixture(scope="module")
def reference(name: str) -> dict[str, np.ndarray]:
    """The saved inputs and original outputs."""
    with np.load(REFERENCES[name], allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def model(name: str) -> Any:
    """The shipped model, fixed 187-frame input."""
    return musicnn.load_musicnn(model=name)


def _run(model: Any, mels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Call the model directly (inference mode) and return (taggram, embedding) as NumPy."""
    out = model(mels, training=False)
    return np.asarray(out["taggram"]), np.asarray(out["embedding"])


def test_reference_is_meaningful(name: str, reference: dict[str, np.ndarray]) -> None:
    assert name in str(reference["producer"])
    assert reference["mels"].dtype == np.float32 and reference["mels"].shape[1:] == (187, 96)
    assert reference["taggram"].shape == (len(reference["mels"]), 50)
    assert reference["embedding"].shape == (len(reference["mels"]), 200)
    assert list(reference["names"]).count("drum_loop_7s") == 2  # a multi-patch clip, features per patch
    # different sounds give different outputs (the original's float16 overflow would make them equal)
    assert np.unique(reference["embedding"].round(3), axis=0).shape[0] == len(reference["mels"])
    loop = int(np.flatnonzero(reference["names"] == "drum_loop_7s")[0])
    top3 = {musicnn.MODELS[name][i] for i in np.argsort(reference["taggram"][loop])[-3:]}
    assert top3 & LOOP_TAGS[name]


def test_taggram_and_embedding_match_original(model: Any, reference: dict[str, np.ndarray]) -> None:
    taggram, embedding = _run(model, reference["mels"])
    np.testing.assert_allclose(taggram, reference["taggram"], rtol=0, atol=TAGGRAM_ATOL)
    np.testing.assert_allclose(embedding, reference["embedding"], rtol=0, atol=EMBEDDING_ATOL)


def test_single_patches_match_batch(model: Any, reference: dict[str, np.ndarray]) -> None:
    for i in (0, 3):
        taggram, embedding = _run(model, reference["mels"][i : i + 1])
        np.testing.assert_allclose(taggram[0], reference["taggram"][i], rtol=0, atol=TAGGRAM_ATOL)
        np.testing.assert_allclose(embedding[0], reference["embedding"][i], rtol=0, atol=EMBEDDING_ATOL)


def test_variable_length_matches_original(name: str, reference: dict[str, np.ndarray]) -> None:
    model = musicnn.load_musicnn(n_frames=None, model=name)
    taggram, embedding = _run(model, reference["short_mels"])
    np.testing.assert_allclose(taggram, reference["short_taggram"], rtol=0, atol=TAGGRAM_ATOL)
    np.testing.assert_allclose(embedding, reference["short_embedding"], rtol=0, atol=EMBEDDING_ATOL)
    taggram, _ = _run(model, reference["mels"])
    np.testing.assert_allclose(taggram, reference["taggram"], rtol=0, atol=TAGGRAM_ATOL)


def test_parameter_count_and_frozen(model: Any) -> None:
    assert musicnn.build_musicnn().count_params() == musicnn.N_PARAMS == 792_079
    assert model.count_params() == 792_079
    assert not model.trainable_weights
    assert all(not layer.trainable for layer in model.layers)
    assert len(musicnn.MTT_TAGS) == 50 and musicnn.MTT_TAGS[:3] == ("guitar", "classical", "slow")
    assert musicnn.MTT_TAGS[-1] == "choral"


def test_the_two_models_differ_and_unknown_models_are_refused(reference: dict[str, np.ndarray]) -> None:
    mtt, msd = (
        np.asarray(musicnn.load_musicnn(model=m)(reference["mels"], training=False)["embedding"]) for m in REFERENCES
    )
    assert np.abs(mtt - msd).max() > 0.1
    assert len(musicnn.MSD_TAGS) == 50 and musicnn.MSD_TAGS[:2] == ("rock", "pop")
    with pytest.raises(ValueError, match="unknown MusiCNN model 'MSD_vgg'"):
        musicnn.load_musicnn(model="MSD_vgg")


def test_shipped_files_are_in_the_installed_package() -> None:
    for name in musicnn.MODELS:
        weights = musicnn.weights_path(name)
        assert weights.is_file()
        assert 3_000_000 < len(weights.read_bytes()) < 4_000_000
    licence = weights.parent.joinpath("LICENSE-musicnn.txt").read_text()
    for needle in (
        "MSD_musicnn.weights.h5",
        "Music Technology Group, Universitat Pompeu Fabra",
        "Jordi Pons",
        "Xavier Serra",
        "Permission to use",
    ):
        assert needle in licence


def test_other_modules_do_not_import_tensorflow() -> None:
    code = (
        "import pkgutil, importlib, sys, drumsamp_models\n"
        "for m in pkgutil.iter_modules(drumsamp_models.__path__):\n"
        "    if m.name != 'musicnn':\n"
        "        importlib.import_module('drumsamp_models.' + m.name)\n"
        "bad = sorted(n for n in ('tensorflow', 'keras') if n in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

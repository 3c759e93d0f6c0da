"""The model package as a data scientist gets it: a py3-none-any wheel installed into a fresh venv, offline."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

from tests.audio_factory import one_shot_library

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT / "drumsamp_models"),
        ],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("*.whl")
    return found


def test_wheel_name_and_contents(wheel: Path) -> None:
    assert wheel.name.startswith("drumsamp_models-") and wheel.name.endswith("-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in ("audio", "features", "utils", "batches", "errors", "cli"):
        assert f"drumsamp_models/{module}.py" in names
    assert not [n for n in names if n.startswith(("tests/", "tools/"))]
    for shipped in ("MTT_musicnn.weights.h5", "MSD_musicnn.weights.h5", "LICENSE-musicnn.txt", "tagger_head.npz"):
        assert f"drumsamp_models/weights/{shipped}" in names


def test_wheel_installs_offline_into_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    # The dependencies come from the project's venv (a path entry, so its editable install stays invisible);
    # the package itself only from the wheel, with the package index switched off.
    site = Path(
        subprocess.check_output(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)], check=True)
    one_shot_library(tmp_path / "Sample_Lib")
    script = textwrap.dedent(
        f"""
        import drumsamp_models
        from drumsamp_models import utils
        from pathlib import Path
        assert drumsamp_models.__file__.startswith({str(site)!r}), drumsamp_models.__file__
        audio_files = [str(f) for f in Path('./Sample_Lib/').glob('**/*.wav')]
        report = utils.save_classification_batches_to_disk(audio_files, './classification_batches')
        from drumsamp_models import tagger
        tags = tagger.predict_tags_on_computed_mels(report.feature_files)
        assert set(tags) == set(audio_files), tags
        assert all(abs(sum(t["likelihoods"].values()) - 1) < 1e-4 for t in tags.values())
        print(len(report.written), len(report.failed), drumsamp_models.__version__)
        """
    )
    # No network: any download attempt by the package would fail here.
    offline = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    run = subprocess.run([str(py), "-c", script], cwd=tmp_path, capture_output=True, text=True, env=offline)
    assert run.returncode == 0, run.stderr
    written, failed, version = run.stdout.split()
    assert (written, failed) == ("6", "0")
    assert wheel.name.startswith(f"drumsamp_models-{version}-")

"""The wheel's README: its Python examples run as written on a generated library, and its facts hold."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from drumsamp_models.nondrum import NonDrumGate
from drumsamp_models.tagger import CLASSES, UNKNOWN, Head
from tests.audio_factory import kick, noise_burst, tone, write

README = Path(__file__).resolve().parents[2] / "drumsamp_models" / "README.md"


def _library(root: Path) -> list[Path]:
    sr = 44100
    sounds = {
        "kicks/kick_1.wav": kick(0.4, sr, seed=1),
        "kicks/kick_2.wav": kick(0.6, sr, seed=2),
        "snares/snare_1.wav": noise_burst(0.3, sr, decay=15, seed=3) + 0.3 * kick(0.3, sr, seed=3),
        "snares/snare_2.wav": noise_burst(0.35, sr, decay=12, seed=4) + 0.3 * kick(0.35, sr, seed=4),
        "hats/hat_1.wav": noise_burst(0.15, sr, decay=40, seed=5),
        "tones/tone_1.wav": tone(440, 1.0, sr, decay=3),
    }
    files = [write(root / "Sample_Lib" / name, y, sr) for name, y in sounds.items()]
    # every supported format, whatever the case of its extension, is found by the examples
    files.append(write(root / "Sample_Lib" / "toms" / "TOM_1.FLAC", tone(120, 0.5, sr, decay=8), sr, "FLAC", "PCM_16"))
    files.append(write(root / "Sample_Lib" / "kicks" / "kick_3.Aiff", kick(0.5, sr, seed=6), sr, "AIFF", "PCM_16"))
    (root / "Sample_Lib" / "notes.txt").write_text("not audio")
    return files


def test_python_examples_run_as_written(tmp_path: Path, monkeypatch, capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 4
    _library(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # the README's own examples
    out = capsys.readouterr().out

    results = namespace["report"].results
    assert len(results) == 8 and namespace["report"].failed == {}
    assert all(r.tag in (*CLASSES, UNKNOWN) and r.embedding.shape == (200,) for r in results.values())
    assert namespace["tags"] != {} and (tmp_path / "Sample_Lib" / ".drumsamp" / "index.npz").is_file()
    user = {s.tag: (s.confidence, s.source) for s in namespace["tags"][namespace["index"].resolve("kick_1.wav")]}
    assert user == {"punchy": (1.0, "user"), "909": (1.0, "user")}
    assert "because of" in out and "kick_1.wav" in out


def test_stated_facts_match_the_package() -> None:
    text = README.read_text()
    version = tomllib.loads((README.parent / "pyproject.toml").read_text())["project"]["version"]
    assert f"drumsamp_models-{version}-py3-none-any.whl" in text
    threshold = float(Head.shipped().meta["unknown_threshold"])
    assert f"shipped head ({threshold:.2f})" in text and f"(threshold {threshold:.2f})" in text
    gate = NonDrumGate.shipped()
    assert f"gate threshold {gate.threshold:.2f}" in text and f"(Unknown threshold {gate.head_threshold:.2f})" in text


@pytest.mark.parametrize(
    "module", ["audio", "features", "descriptors", "utils", "tagger", "nondrum", "training", "index"]
)
def test_listed_modules_exist(module: str) -> None:
    assert f"`{module}`" in README.read_text()
    __import__(f"drumsamp_models.{module}")

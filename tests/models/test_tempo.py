"""Loop tempo (``drumsamp_models.tempo``) on loops of exactly known tempo rendered in code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drumsamp_models import audio, tempo
from tests.audio_factory import kick, write
from tests.loop_factory import render_loop

# style: (bpm, bars, swing) — tempi across 70-180, five styles, straight and swung, 1 to 4 bars.
STYLES = {
    "boom_bap": [(72.0, 1, 0.0), (88.0, 2, 0.3)],
    "funk": [(84.5, 1, 0.0), (104.0, 2, 0.2)],
    "rock": [(96.0, 2, 0.0), (132.0, 2, 0.15), (145.0, 4, 0.0), (160.0, 2, 0.0)],
    "house": [(118.0, 2, 0.0), (124.0, 4, 0.0)],
    "dnb": [(172.0, 4, 0.0), (178.0, 2, 0.25)],
}
LOOPS = [(bpm, bars, style, swing) for style, loops in STYLES.items() for bpm, bars, swing in loops]


def within(estimate: float | None, bpm: float, share: float = 0.02) -> bool:
    return estimate is not None and abs(estimate - bpm) <= share * bpm


@pytest.mark.parametrize(("bpm", "bars", "style", "swing"), LOOPS)
def test_the_tempo_of_rendered_loops_is_within_two_percent(bpm: float, bars: int, style: str, swing: float) -> None:
    """Half and double the tempo are in the range for many of these (72/144, 84.5/169, 88/176, 160/80, 172/86...):
    an octave error fails."""
    y = render_loop(bpm, bars, style, swing, seed=int(bpm))
    assert within(tempo.estimate_bpm(y, 44100), bpm)


def test_a_whole_number_of_bars_snaps_the_tempo_to_the_loop_length() -> None:
    y = render_loop(123.4, 2, "house", seed=1)
    assert tempo.estimate_bpm(y, 44100) == pytest.approx(123.4, abs=0.05)
    assert tempo.snap_to_length(119.3, 4.0) == pytest.approx(120.0)  # 8 beats in 4 s
    assert tempo.snap_to_length(117.0, 4.0) == 117.0  # 2.5 % away from 120: left alone


def test_a_loop_with_a_ringing_tail_still_gets_its_tempo() -> None:
    """Not cut to loop seamlessly: half a second of the last hits after the last bar."""
    y = render_loop(108.0, 2, "rock", seed=3, tail=0.5)
    assert within(tempo.estimate_bpm(y, 44100), 108.0)


def test_the_estimate_does_not_depend_on_the_sample_rate() -> None:
    y = render_loop(137.0, 2, "funk", seed=5)
    at_44k = tempo.estimate_bpm(y, 44100)
    at_16k = tempo.estimate_bpm(audio.resample(y, 44100, 16000), 16000)
    assert within(at_44k, 137.0) and within(at_16k, 137.0)
    assert at_16k == pytest.approx(at_44k, rel=0.005)


def test_the_range_decides_which_octave_is_answered() -> None:
    y = render_loop(90.0, 2, "rock", seed=7)
    assert within(tempo.estimate_bpm(y, 44100), 90.0)
    assert within(tempo.estimate_bpm(y, 44100, min_bpm=130.0, max_bpm=200.0), 180.0)
    with pytest.raises(ValueError):
        tempo.estimate_bpm(y, 44100, min_bpm=120.0, max_bpm=100.0)


def test_too_short_or_silent_sounds_have_no_tempo() -> None:
    assert tempo.estimate_bpm(kick(0.3), 44100) is None  # shorter than MIN_SECONDS
    assert tempo.estimate_bpm(np.zeros(44100 * 2, dtype=np.float32), 44100) is None


def test_a_file_gives_the_tempo_of_its_decoded_signal(tmp_path: Path) -> None:
    y = render_loop(101.0, 2, "boom_bap", seed=9)
    path = write(tmp_path / "loop.flac", y, 44100, "FLAC", "PCM_24")
    from_file = tempo.estimate_bpm_file(path)
    assert within(from_file, 101.0)
    assert from_file == pytest.approx(tempo.estimate_bpm(audio.load(path, sr=tempo.SAMPLE_RATE), tempo.SAMPLE_RATE))


def test_candidates_include_every_octave_in_the_range_and_the_ranker_prefers_the_beat() -> None:
    y = render_loop(80.0, 2, "rock", seed=11)
    rhythm = tempo.analyse(y, 44100)
    assert rhythm is not None
    found = tempo.candidate_tempi(rhythm)
    assert any(within(bpm, 80.0) for bpm in found) and any(within(bpm, 160.0) for bpm in found)
    scores = tempo.ranker().score(np.stack([tempo.features(rhythm, bpm) for bpm in found]))
    assert within(found[int(np.argmax(scores))], 80.0)


def test_the_shipped_ranker_matches_the_features_and_round_trips(tmp_path: Path) -> None:
    ranker = tempo.ranker()
    assert ranker.w1.shape[1] == len(tempo.FEATURES) == len(ranker.mean)
    assert ranker.meta["splits"] == ["train", "val"]  # never the test kits the benchmark measures on
    ranker.save(tmp_path / "copy.npz")
    copy = tempo.TempoRanker.load(tmp_path / "copy.npz")
    rows = np.random.default_rng(0).normal(size=(3, len(tempo.FEATURES)))
    np.testing.assert_allclose(copy.score(rows), ranker.score(rows))
    arrays = {"mean": ranker.mean[:-1], "scale": ranker.scale[:-1], "w1": ranker.w1[:, :-1], "b1": ranker.b1}
    fewer = np.array(tempo.FEATURES[:-1])  # fitted by another version, on other features
    np.savez(tmp_path / "other.npz", **arrays, w2=ranker.w2, features=fewer, meta=np.array("{}"))
    with pytest.raises(ValueError, match="other features"):
        tempo.TempoRanker.load(tmp_path / "other.npz")


def test_fitting_learns_to_rank_the_true_tempo_first() -> None:
    """A ranker fitted on (right, wrong) feature pairs scores the right rows higher."""
    rng = np.random.default_rng(0)
    right = rng.normal(0.5, 1.0, size=(200, len(tempo.FEATURES)))
    wrong = rng.normal(-0.5, 1.0, size=(200, len(tempo.FEATURES)))
    fitted = tempo.TempoRanker.fit(right, wrong, hidden=4, nets=1)
    assert np.mean(fitted.score(right) > fitted.score(wrong)) > 0.95

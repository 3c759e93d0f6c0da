"""Waveform peaks: ``audio.peaks`` on a signal in memory and ``audio.scan(..., peaks=...)`` while decoding."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumsamp_models import audio
from drumsamp_models.errors import SilentAudioError
from tests.audio_factory import FORMATS, kick, noise_burst, tone, write

COUNTS = (1000, 64)


def brute_force(y: np.ndarray, n: int) -> np.ndarray:
    """The documented definition, bucket by bucket: frames [i*len//n, (i+1)*len//n), or the start frame alone."""
    rows = []
    for i in range(n):
        lo, hi = i * len(y) // n, (i + 1) * len(y) // n
        frames = y[lo : max(hi, lo + 1)]
        rows.append([frames.min(), frames.max()])
    return np.array(rows, dtype=np.float32)


def signal(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    """A kick-like decay plus noise, ``channels`` different channels (frames,) or (frames, channels)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 44100
    columns = [
        (0.8 * np.sin(2 * np.pi * (60 + 40 * c) * t) * np.exp(-6 * t) + 0.1 * rng.uniform(-1, 1, frames)) / 1.1
        for c in range(channels)
    ]
    y = np.stack(columns, axis=1).astype(np.float32)
    return y[:, 0] if channels == 1 else y


# --- audio.peaks: the direct computation ---------------------------------------------------------------------------


@pytest.mark.parametrize("frames", [1, 2, 63, 64, 65, 999, 1000, 1001, 64_000, 64_001, 100_003])
@pytest.mark.parametrize("n", [1, 3, 64, 1000])
def test_peaks_follow_the_documented_buckets(frames: int, n: int) -> None:
    y = np.random.default_rng(frames + n).standard_normal(frames).astype(np.float32)
    got = audio.peaks(y, n)
    assert got.shape == (n, 2) and got.dtype == np.float32
    np.testing.assert_array_equal(got, brute_force(y, n))
    assert np.all(got[:, 0] <= got[:, 1])
    assert got[:, 0].min() == y.min() and got[:, 1].max() == y.max()


def test_a_signal_shorter_than_the_buckets_repeats_the_frame_at_each_empty_bucket() -> None:
    y = np.array([0.5, -0.25, 1.0], dtype=np.float32)
    got = audio.peaks(y, 6)  # starts 0, 0, 1, 1, 2, 2: every bucket is the frame at its start
    np.testing.assert_array_equal(got, np.repeat(y, 2)[:, None].repeat(2, axis=1))


def test_peaks_of_several_channels_are_those_of_the_mono_mix() -> None:
    y = signal(5000, 3)
    np.testing.assert_array_equal(audio.peaks(y, 64), audio.peaks(audio.to_mono(y), 64))


@pytest.mark.parametrize("bad", [0, -1])
def test_peaks_refuse_no_buckets_and_an_empty_signal(bad: int) -> None:
    with pytest.raises(ValueError):
        audio.peaks(np.ones(10, dtype=np.float32), bad)
    with pytest.raises(ValueError):
        audio.peaks(np.empty(0, dtype=np.float32), 64)


# --- scan(..., peaks=...): computed while decoding, equal to the direct computation ---------------------------------


def assert_scan_peaks_exact(path: Path, counts: tuple[int, ...] = COUNTS) -> audio.ScanResult:
    found = audio.scan(path, peaks=counts)
    y = audio.load(path, sr=None)
    assert set(found.peaks) == set(counts)
    for count in counts:
        assert found.peaks[count].shape == (count, 2) and found.peaks[count].dtype == np.float32
        np.testing.assert_array_equal(found.peaks[count], audio.peaks(y, count))
    return found


@pytest.mark.parametrize(("ext", "fmt", "subtype", "lossless"), FORMATS, ids=[f"{f[1]}-{f[2]}" for f in FORMATS])
@pytest.mark.parametrize("channels", [1, 2])
def test_scan_peaks_equal_the_direct_computation_in_every_format(
    tmp_path: Path, ext: str, fmt: str, subtype: str, lossless: bool, channels: int
) -> None:
    path = write(tmp_path / f"s.{ext}", signal(80_000, channels), 44100, fmt, subtype)
    found = assert_scan_peaks_exact(path)
    if lossless and subtype != "PCM_U8":  # the decoded signal is the written one: peaks of what was written
        written = signal(80_000, channels)
        np.testing.assert_allclose(found.peaks[64], audio.peaks(written, 64), atol=1e-4)


@pytest.mark.parametrize("frames", [1, 10, 63, 64, 999, 1000, 1001, 63_999, 64_000, 65_537, 131_072, 200_001])
def test_scan_peaks_are_exact_for_any_length(tmp_path: Path, frames: int) -> None:
    """Lengths around the bucket counts, 64 x 1000 and the decoder's block; fewer frames than buckets too."""
    assert_scan_peaks_exact(write(tmp_path / "s.wav", signal(frames, 2, seed=frames), 44100, subtype="FLOAT"))


@pytest.mark.parametrize("channels", [3, 6, 8])
def test_scan_peaks_down_mix_many_channels(tmp_path: Path, channels: int) -> None:
    path = write(tmp_path / "s.flac", signal(30_000, channels), 48000, "FLAC", "PCM_24")
    assert_scan_peaks_exact(path, (1000, 64, 7))


@pytest.mark.parametrize("block", [1, 7, 64, 1000, 4096])
def test_bucket_edges_falling_anywhere_in_a_block(tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks smaller than, equal to and unaligned with the buckets: each block is split at the edges in it."""
    path = write(tmp_path / "s.wav", signal(9_001, 2), 44100, subtype="FLOAT")
    monkeypatch.setattr(audio, "_BLOCK_FRAMES", block)
    assert_scan_peaks_exact(path, (1000, 64, 9_001, 20_000))


@pytest.mark.parametrize("rate", [8000, 22050, 96000])
def test_scan_peaks_are_at_the_file_rate(tmp_path: Path, rate: int) -> None:
    path = write(tmp_path / "s.wav", kick(0.4, rate), rate)
    found = assert_scan_peaks_exact(path)
    assert found.decoded_frames == round(0.4 * rate)


def test_a_stream_shorter_than_its_header_is_decoded_again_with_its_own_length(tmp_path: Path) -> None:
    """An MP3 cut a few per cent short decodes (within the accepted share) to fewer frames than its header says:
    the bucket edges of the header's length would be wrong, the second decode's are those of the frames found."""
    full = write(tmp_path / "full.mp3", np.stack([kick(1.3), tone(200, 1.3)], axis=1), 44100, "MP3", "MPEG_LAYER_III")
    data = full.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: int(len(data) * 0.95)])
    found = assert_scan_peaks_exact(cut)
    assert found.decoded_frames < found.frames


def test_scan_without_peaks_gives_none_and_one_count_may_be_an_int(tmp_path: Path) -> None:
    path = write(tmp_path / "s.wav", noise_burst(0.3), 44100)
    assert audio.scan(path).peaks == {}
    assert audio.scan(path, peaks=0).peaks == {}
    found = audio.scan(path, peaks=64)
    assert list(found.peaks) == [64]
    np.testing.assert_array_equal(found.peaks[64], audio.peaks(audio.load(path, sr=None), 64))
    assert found == audio.scan(path)  # the peaks are not part of the result's equality


@pytest.mark.parametrize("bad", [-1, (64, 0), (True,), 2.5])
def test_scan_refuses_bucket_counts_that_are_not_positive_integers(tmp_path: Path, bad: object) -> None:
    path = write(tmp_path / "s.wav", noise_burst(0.3), 44100)
    with pytest.raises(ValueError):
        audio.scan(path, peaks=bad)  # type: ignore[arg-type]


def test_scan_with_peaks_still_runs_every_check(tmp_path: Path) -> None:
    path = write(tmp_path / "silent.wav", np.zeros(4410, dtype=np.float32), 44100)
    with pytest.raises(SilentAudioError):
        audio.scan(path, peaks=COUNTS)


def test_scan_peaks_keep_memory_to_one_block(tmp_path: Path) -> None:
    """20 s of 4 channels at 48 kHz (15 MB as float32 frames x channels, 3.8 MB mono): scanning with 1 000 and 64
    buckets holds about one block, never the signal."""
    path = tmp_path / "long.flac"
    frames = 20 * 48000
    with sf.SoundFile(str(path), "w", 48000, 4, format="FLAC", subtype="PCM_16") as out:
        for start in range(0, frames, 65536):
            out.write(signal(min(65536, frames - start), 4, seed=start))
    gc.collect()
    tracemalloc.start()
    try:
        found = audio.scan(path, peaks=COUNTS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found.decoded_frames == frames
    assert peak < 2.5 * (1 << 20), peak  # one block of 65 536 x 4 float32 is 1 MB
    np.testing.assert_array_equal(found.peaks[1000], audio.peaks(audio.load(path, sr=None), 1000))

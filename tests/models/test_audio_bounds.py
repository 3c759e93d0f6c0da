"""Bounded memory of audio decoding: the sample-rate ceiling, the header budget, block decoding and scan()."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from drumsamp_models import audio
from drumsamp_models.errors import (
    AudioError,
    AudioTooLongError,
    EmptyAudioError,
    NotAudioError,
    SampleRateTooHighError,
    SilentAudioError,
    TooManyChannelsError,
    UnreadableAudioError,
)
from tests.audio_factory import noise_burst, tone, write

MB = 1 << 20
BOMB_RATE = 655350  # the highest rate a FLAC header can carry


def _constant(path: Path, sr: int, channels: int, seconds: float, value: float = 0.25, fmt: str = "FLAC") -> Path:
    """A constant multi-channel signal written in blocks, so that writing it needs little memory."""
    block = np.full((65536, channels), value, dtype=np.float32)
    total = round(seconds * sr)
    with sf.SoundFile(str(path), "w", sr, channels, format=fmt, subtype="PCM_16") as out:
        for start in range(0, total, len(block)):
            out.write(block[: min(len(block), total - start)])
    return path


def _traced_peak(call: Callable[[], object]) -> tuple[object, int]:
    """Run ``call`` under tracemalloc: its result (or the AudioError it raised) and the peak of traced memory."""
    gc.collect()
    tracemalloc.start()
    try:
        try:
            result: object = call()
        except AudioError as exc:
            result = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 channels at 655 350 Hz for 60 s of constant signal: a few hundred KB of FLAC, 1.26 GB as float32."""
    return _constant(tmp_path_factory.mktemp("bomb") / "bomb.flac", BOMB_RATE, 8, 60.0)


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A legal but heavy file: 8 channels at 192 kHz for 20 s (123 MB as float32 frames x channels)."""
    return _constant(tmp_path_factory.mktemp("heavy") / "heavy.flac", 192000, 8, 20.0)


# --- (a) the decompression bomb is refused from its header --------------------------------------------------------


def test_bomb_is_small_on_disk_and_passes_the_old_limits(bomb: Path) -> None:
    assert 100_000 < bomb.stat().st_size < 1_000_000
    header = audio.info(bomb)
    assert (header.samplerate, header.channels, header.frames) == (BOMB_RATE, 8, 60 * BOMB_RATE)
    assert header.duration <= audio.DEFAULT_MAX_DURATION


@pytest.mark.parametrize("entry", ["load", "load_with_rate", "scan"])
def test_bomb_is_refused_before_decoding(bomb: Path, entry: str) -> None:
    call = getattr(audio, entry)
    err, peak = _traced_peak(lambda: call(bomb))
    assert isinstance(err, SampleRateTooHighError), err
    assert err.path == str(bomb)
    assert "655350 Hz" in err.reason and "384000 Hz" in err.reason
    assert peak < 5 * MB, f"{entry} allocated {peak / MB:.1f} MB"


def test_samplerate_ceiling_is_configurable(tmp_path: Path) -> None:
    path = write(tmp_path / "hi.wav", tone(1000, 0.2, 96000), 96000)
    with pytest.raises(SampleRateTooHighError, match="96000 Hz; the accepted maximum is 48000 Hz"):
        audio.load(path, max_samplerate=48000)
    with pytest.raises(SampleRateTooHighError):
        audio.scan(path, max_samplerate=48000)
    assert audio.load(path, sr=None, max_samplerate=96000).size == 19200
    assert audio.load(path, sr=None, max_samplerate=None).size == 19200
    assert audio.scan(path, max_samplerate=None).decoded_frames == 19200
    assert issubclass(SampleRateTooHighError, AudioError)


def test_header_budget_refuses_mp3_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MP3 skips the header duration check (its frame count is an estimate), not the samples budget."""
    path = write(tmp_path / "long.mp3", tone(200, 5.0, 22050), 22050, fmt="MP3", subtype="MPEG_LAYER_III")

    def no_decoding(*args: object) -> None:
        raise AssertionError("decoded despite the header budget")

    monkeypatch.setattr(audio, "_blocks", no_decoding)
    limits = {"max_duration": 2.0, "max_samplerate": 22050, "max_channels": 1}
    for entry in (audio.load, audio.scan):
        with pytest.raises(AudioTooLongError) as info:
            entry(path, **limits)  # type: ignore[operator]
        assert "header announces" in info.value.reason and "maximum is 2 s" in info.value.reason


# --- (b) a legal but heavy file: memory is the mono output plus one block -----------------------------------------


def test_scan_of_heavy_file_holds_one_block(heavy: Path) -> None:
    assert heavy.stat().st_size < 1_000_000
    found, peak = _traced_peak(lambda: audio.scan(heavy))
    assert isinstance(found, audio.ScanResult), found
    assert (found.samplerate, found.channels, found.decoded_frames) == (192000, 8, 20 * 192000)
    assert found.peak == pytest.approx(0.25, abs=1e-4) and found.decoded_duration == 20.0
    assert peak < 4 * MB, f"scan allocated {peak / MB:.1f} MB"


def test_load_of_heavy_file_holds_mono_output_plus_one_block(heavy: Path) -> None:
    y, peak = _traced_peak(lambda: audio.load(heavy, sr=None))
    assert isinstance(y, np.ndarray), y
    assert y.shape == (20 * 192000,) and y.dtype == np.float32
    np.testing.assert_allclose(y, 0.25, atol=1e-4)
    assert peak < 1.3 * y.nbytes + 4 * MB, f"load allocated {peak / MB:.1f} MB for {y.nbytes / MB:.1f} MB of output"


def test_resampling_load_of_heavy_file_is_bounded(heavy: Path) -> None:
    y, peak = _traced_peak(lambda: audio.load(heavy, sr=16000))
    assert isinstance(y, np.ndarray), y
    assert y.shape == (20 * 16000,)
    mono = 20 * 192000 * 4
    assert peak < 1.3 * mono + y.nbytes + 4 * MB, f"load allocated {peak / MB:.1f} MB"


# --- (c) block decoding gives exactly a whole-file decode ---------------------------------------------------------

CASES = [
    ("wav", "WAV", "PCM_16", 2),
    ("wav", "WAV", "FLOAT", 6),
    ("wav", "WAV", "PCM_24", 1),
    ("aiff", "AIFF", "PCM_16", 3),
    ("flac", "FLAC", "PCM_24", 8),
    ("flac", "FLAC", "PCM_16", 1),
    ("ogg", "OGG", "VORBIS", 2),
    ("ogg", "OGG", "VORBIS", 5),
    ("mp3", "MP3", "MPEG_LAYER_III", 2),
    ("mp3", "MP3", "MPEG_LAYER_III", 1),
]


def _signal(channels: int, seconds: float, sr: int) -> np.ndarray:
    cols = [
        tone(110 + 170 * c, seconds, sr, decay=1.0, amp=0.8 / (c + 1)) + 0.1 * noise_burst(seconds, sr, 0.5, seed=c)
        for c in range(channels)
    ]
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("block", [65536, 1000])
@pytest.mark.parametrize(("ext", "fmt", "subtype", "channels"), CASES, ids=[f"{c[1]}-{c[2]}-{c[3]}ch" for c in CASES])
def test_block_decoding_equals_whole_file_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str, fmt: str, subtype: str, channels: int, block: int
) -> None:
    monkeypatch.setattr(audio, "_BLOCK_FRAMES", block)
    path = write(tmp_path / f"s.{ext}", _signal(channels, 2.2, 44100), 44100, fmt, subtype)  # 97 020 frames
    whole, _ = sf.read(str(path), dtype="float32", always_2d=True)
    assert len(whole) > 65536
    mono = whole.mean(axis=1, dtype=np.float32)
    got = audio.load(path, sr=None)
    assert got.dtype == np.float32 and np.array_equal(got, mono)
    assert np.array_equal(audio.load(path, sr=16000), soxr.resample(mono, 44100, 16000, quality="HQ"))
    found = audio.scan(path)
    assert found.decoded_frames == len(mono) and found.peak == float(np.max(np.abs(mono)))


def test_output_grows_beyond_the_preallocation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs longer than what is allocated up front grow as they decode, and still stop at the limit."""
    monkeypatch.setattr(audio, "_MAX_PREALLOC", 1000)
    monkeypatch.setattr(audio, "_BLOCK_FRAMES", 777)
    path = write(tmp_path / "s.flac", _signal(3, 1.0, 44100), 44100, "FLAC", "PCM_24")
    whole, _ = sf.read(str(path), dtype="float32", always_2d=True)
    got = audio.load(path, sr=None, max_duration=None)
    assert np.array_equal(got, whole.mean(axis=1, dtype=np.float32)) and got.flags.owndata
    mp3 = write(tmp_path / "long.mp3", tone(200, 5.0, 22050), 22050, fmt="MP3", subtype="MPEG_LAYER_III")
    for entry in (audio.load, audio.scan):
        with pytest.raises(AudioTooLongError, match="longer than 2 s; the accepted maximum is 2 s"):
            entry(mp3, max_duration=2.0)  # type: ignore[operator]


# --- (d) scan() runs every check of load() ------------------------------------------------------------------------


def _cut(path: Path) -> Path:
    """The first half of a file, as an interrupted upload leaves it."""
    full = path.read_bytes()
    cut = path.with_name("cut-" + path.name)
    cut.write_bytes(full[: len(full) // 2])
    return cut


def _text(tmp: Path) -> Path:
    (tmp / "notes.wav").write_text("this is not audio\n" * 20)
    return tmp / "notes.wav"


def _png(tmp: Path) -> Path:
    (tmp / "image.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    return tmp / "image.mp3"


def _zero_bytes(tmp: Path) -> Path:
    (tmp / "empty.wav").write_bytes(b"")
    return tmp / "empty.wav"


def _header_only(tmp: Path) -> Path:
    sf.write(tmp / "none.wav", np.zeros(0, dtype=np.float32), 44100)
    return tmp / "none.wav"


def _nan(tmp: Path) -> Path:
    y = np.tile(tone(300, 0.5)[:, None], (1, 2))
    y[100, 1] = np.nan
    return write(tmp / "nan.wav", y, subtype="FLOAT")


MP3 = {"fmt": "MP3", "subtype": "MPEG_LAYER_III"}
# The bad inputs of test_audio.py: how to make the file, the limits to pass, the error load() raises.
BAD: dict[str, tuple[Callable[[Path], Path], dict[str, float], type[AudioError]]] = {
    "missing": (lambda tmp: tmp / "nope.wav", {}, UnreadableAudioError),
    "directory": (lambda tmp: tmp, {}, UnreadableAudioError),
    "zero-bytes": (_zero_bytes, {}, EmptyAudioError),
    "header-only": (_header_only, {}, EmptyAudioError),
    "text": (_text, {}, NotAudioError),
    "png": (_png, {}, NotAudioError),
    "too-long": (lambda tmp: write(tmp / "long.wav", tone(100, 61.0, 8000), 8000), {}, AudioTooLongError),
    "too-long-configured": (
        lambda tmp: write(tmp / "two.wav", tone(100, 2.0, 8000), 8000),
        {"max_duration": 1.5},
        AudioTooLongError,
    ),
    "too-long-mp3": (
        lambda tmp: write(tmp / "long.mp3", tone(200, 5.0, 22050), 22050, **MP3),
        {"max_duration": 2.0},
        AudioTooLongError,
    ),
    "nine-channels": (
        lambda tmp: write(tmp / "nine.wav", np.tile(tone(440, 0.2)[:, None], (1, 9))),
        {},
        TooManyChannelsError,
    ),
    "silent": (lambda tmp: write(tmp / "zeros.wav", np.zeros(44100, dtype=np.float32)), {}, SilentAudioError),
    "nan": (_nan, {}, UnreadableAudioError),
    "truncated-wav": (lambda tmp: _cut(write(tmp / "w.wav", noise_burst(1.0))), {}, UnreadableAudioError),
    "truncated-aiff": (
        lambda tmp: _cut(write(tmp / "a.aiff", noise_burst(1.0), fmt="AIFF")),
        {},
        UnreadableAudioError,
    ),
    "truncated-flac": (
        lambda tmp: _cut(write(tmp / "f.flac", noise_burst(1.0), fmt="FLAC")),
        {},
        UnreadableAudioError,
    ),
    "truncated-mp3": (
        lambda tmp: _cut(write(tmp / "m.mp3", noise_burst(2.0, decay=0.5), **MP3)),
        {},
        UnreadableAudioError,
    ),
    # test_audio.py accepts UnreadableAudioError or EmptyAudioError here, both saying "truncated".
    "truncated-ogg": (
        lambda tmp: _cut(write(tmp / "o.ogg", noise_burst(3.0, decay=0.5), fmt="OGG", subtype="VORBIS")),
        {},
        AudioError,
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_scan_raises_like_load(tmp_path: Path, case: str) -> None:
    make, limits, expected = BAD[case]
    path = make(tmp_path)
    with pytest.raises(expected) as loaded:
        audio.load(path, sr=None, **limits)  # type: ignore[arg-type]
    with pytest.raises(expected) as scanned:
        audio.scan(path, **limits)  # type: ignore[arg-type]
    assert type(scanned.value) is type(loaded.value)
    assert scanned.value.reason == loaded.value.reason and str(path) in str(scanned.value)
    if case.startswith("truncated"):
        assert "truncated" in scanned.value.reason


def test_scan_reports_header_and_decode(tmp_path: Path) -> None:
    y = np.stack([tone(300, 0.5, 48000, amp=0.5), tone(700, 0.5, 48000, amp=0.1)], axis=1)
    path = write(tmp_path / "st.flac", y, 48000, "FLAC", "PCM_24")
    found = audio.scan(path)
    assert isinstance(found, audio.AudioInfo)
    header = audio.info(path)
    assert (found.path, found.samplerate, found.channels, found.frames, found.format, found.subtype) == (
        header.path,
        header.samplerate,
        header.channels,
        header.frames,
        header.format,
        header.subtype,
    )
    assert found.decoded_frames == 24000 and found.decoded_duration == 0.5
    assert found.peak == float(np.max(np.abs(audio.load(path, sr=None))))
    assert "scan" in audio.__all__ and "ScanResult" in audio.__all__ and "DEFAULT_MAX_SAMPLERATE" in audio.__all__

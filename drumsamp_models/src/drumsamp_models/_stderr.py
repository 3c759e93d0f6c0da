"""Silence the C++ start-up lines TensorFlow writes to standard error while it is imported.

TensorFlow's libraries log through absl before any setting (``TF_CPP_MIN_LOG_LEVEL`` included) can apply,
so the only way to keep "oneDNN custom operations are on ..." and the CPU-feature lines out of a user's
terminal or a server's log is to point file descriptor 2 elsewhere for the duration of the import.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send what is written to file descriptor 2 to /dev/null inside the block (Python's own errors still
    propagate as exceptions). Set ``DRUMSAMP_TF_VERBOSE=1`` to see it."""
    if os.environ.get("DRUMSAMP_TF_VERBOSE") == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)

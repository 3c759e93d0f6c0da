"""The Drumsample Tagger shared by the process, and the fingerprint of its model."""

from __future__ import annotations

import threading

from flask import current_app

from drumsamp_models.tagger import Tagger

_taggers: dict[tuple[float | None, float], Tagger] = {}
_tagger_lock = threading.Lock()


def tagger() -> Tagger:
    """The tagger for the app's settings, shared by the process (TensorFlow is loaded once, on first use)."""
    key = (current_app.config["UNKNOWN_THRESHOLD"], current_app.config["MAX_AUDIO_SECONDS"])
    with _tagger_lock:
        if key not in _taggers:
            _taggers[key] = Tagger(unknown_threshold=key[0], max_duration=key[1])
        return _taggers[key]


def model_id() -> str:
    """Fingerprint of the tagger's model (head weights and front-end settings)."""
    return tagger().head.fingerprint

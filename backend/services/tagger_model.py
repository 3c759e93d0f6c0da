"""The Drumsample Tagger shared by the process, and the fingerprint of what the analysis computes with it."""

from __future__ import annotations

import hashlib
import threading

from flask import current_app

from drumsamp_models import descriptors, vectors
from drumsamp_models.tagger import Tagger

_taggers: dict[tuple[float | None, float], Tagger] = {}
_tagger_lock = threading.Lock()


def tagger() -> Tagger:
    """The tagger for the app's settings, shared by the process (TensorFlow is loaded once, on first use).

    It also measures each sound's envelope and spectral-shape descriptors (``describe=True``), from the
    same decoded audio, for the similarity space ``"musicnn+descriptors"``.
    """
    key = (current_app.config["UNKNOWN_THRESHOLD"], current_app.config["MAX_AUDIO_SECONDS"])
    with _tagger_lock:
        if key not in _taggers:
            _taggers[key] = Tagger(unknown_threshold=key[0], max_duration=key[1], describe=True)
        return _taggers[key]


def similarity_space() -> str:
    """The similarity space and its weight, e.g. ``musicnn+descriptors@0.4`` (part of :func:`model_id`)."""
    return f"{vectors.DESCRIBED}@{vectors.DESCRIPTOR_WEIGHT}"


def model_id() -> str:
    """Fingerprint (40-hex SHA-1) of everything an analysis result depends on.

    SHA-1 of the head's fingerprint (its weights and front-end settings), the non-drum gate's,
    ``descriptors.fingerprint()`` (descriptor version and shipped scaler) and :func:`similarity_space`: a
    change of any of them makes /analyze analyse every sample again, and the stored map and recommendations
    follow.
    """
    model = tagger()
    gate = model.gate.fingerprint if model.gate is not None else "no-gate"
    key = model.head.fingerprint + gate + descriptors.fingerprint() + similarity_space()
    return hashlib.sha1(key.encode()).hexdigest()

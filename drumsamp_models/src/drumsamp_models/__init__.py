"""DrumSampler's models: drum one-shot tagger, custom tagger and recommender.

Submodules keep the names of the original design: ``utils`` (pre-processing), ``tagger``,
``ctagger`` and ``recommender``; ``audio`` and ``features`` hold the building blocks; ``tempo`` gives a drum loop's
BPM (``tempo.estimate_bpm(y, sr)``).
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import AudioError, DrumsampError, FeatureFileError

try:
    __version__ = version("drumsamp_models")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["AudioError", "DrumsampError", "FeatureFileError", "__version__"]

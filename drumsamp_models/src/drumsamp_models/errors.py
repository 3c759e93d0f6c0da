"""Exceptions raised by drumsamp_models; each names the file and the problem."""

from __future__ import annotations

import os


class DrumsampError(Exception):
    """Base class of every error raised by this package."""


class FileProblem(DrumsampError, ValueError):
    """A file we were given cannot be used: ``path`` names it, ``reason`` says why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class AudioError(FileProblem):
    """An audio file could not be turned into samples."""


class UnreadableAudioError(AudioError):
    """The file is missing, unreadable, corrupt or truncated."""


class NotAudioError(AudioError):
    """The file is not in an audio format we can decode."""


class EmptyAudioError(AudioError):
    """The file decodes to no samples."""


class SilentAudioError(EmptyAudioError):
    """The file decodes to digital silence (peak below the silence threshold)."""


class AudioTooLongError(AudioError):
    """The file is longer than the configured limit."""


class TooManyChannelsError(AudioError):
    """The file has more channels than the configured limit."""


class SampleRateTooHighError(AudioError):
    """The file's sample rate is above the configured ceiling."""


class FeatureFileError(FileProblem):
    """A feature (``.npz``) file is missing, unreadable or of the wrong kind."""

"""Background work: the job runner (a thread pool by default; the same interface serves real workers)."""

from __future__ import annotations

from flask import current_app

from .runner import JobRunner, claim

__all__ = ["JobRunner", "claim", "runner"]


def runner() -> JobRunner:
    """The job runner of the current app."""
    return current_app.extensions["drumsampler.jobs"]

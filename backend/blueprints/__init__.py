"""One blueprint per resource; routes only validate and translate HTTP, the work is in ``services``."""

from __future__ import annotations

from flask import Flask

from . import (
    analysis,
    app_shell,
    auth,
    corrections,
    duplicates,
    libraries,
    meta,
    recommendations,
    samples,
    search,
    tags,
    tempo,
    waveforms,
)

BLUEPRINTS = (
    auth.bp,
    libraries.bp,
    analysis.bp,
    samples.bp,
    tags.bp,
    corrections.bp,
    recommendations.bp,
    search.bp,
    duplicates.bp,
    tempo.bp,
    waveforms.bp,
    meta.bp,
    app_shell.bp,
)


def register_blueprints(app: Flask) -> None:
    """Register every blueprint on ``app``."""
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)

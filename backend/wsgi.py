"""WSGI entry point for gunicorn: ``gunicorn backend.wsgi:app``.

Brings the database schema up to date (serialised across workers by a file lock), removes the upload
temporaries and unreferenced stored audio that a killed process left behind, and starts the background
job runner, which resumes jobs interrupted by a previous stop. The process serves only once the runner's
first thread has loaded the tagger (TensorFlow's import would otherwise stall the requests of the moment).
"""

from __future__ import annotations

from . import JOBS_KEY, create_app, upgrade_database
from .services.storage import remove_orphaned_audio, remove_stale_temporary_files

app = create_app()
upgrade_database(app)
remove_stale_temporary_files(app.config["DATA_DIR"])
with app.app_context():
    remove_orphaned_audio()
runner = app.extensions[JOBS_KEY]
runner.start(warm_up=True)
runner.wait_warm(timeout=90)  # serve once TensorFlow is loaded (within gunicorn's boot timeout)

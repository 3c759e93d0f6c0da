"""WSGI entry point for gunicorn: ``gunicorn backend.wsgi:app``.

Brings the database schema up to date (serialised across workers by a file lock), removes the upload
temporaries and unreferenced stored audio that a killed process left behind. Analysis jobs run in worker processes
(``backend.local_worker`` or Celery's ``backend.worker``): this process never loads TensorFlow, unless
``ANALYSIS_IN_PROCESS`` asks it to run the worker threads itself (then it serves once they have loaded the tagger).
"""

from __future__ import annotations

from . import JOBS_KEY, create_app, upgrade_database
from .services.storage import remove_orphaned_audio, remove_stale_temporary_files

app = create_app()
upgrade_database(app)
remove_stale_temporary_files(app.config["DATA_DIR"])
with app.app_context():
    remove_orphaned_audio()
if app.config["ANALYSIS_IN_PROCESS"]:  # not by default: the local worker or Celery workers analyse
    runner = app.extensions[JOBS_KEY]
    runner.start(warm_up=True)
    runner.wait_warm(timeout=90)  # serve once TensorFlow is loaded (within gunicorn's boot timeout)

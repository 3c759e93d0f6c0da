"""The local worker: ``python -m backend.local_worker`` (``make run`` starts one beside gunicorn).

Without a Celery broker the job table is the queue: this process takes queued jobs and resumes orphaned ones
(``backend.jobs.runner``), analysing on ``ANALYSIS_WORKERS`` threads. It is the only process that loads TensorFlow;
SIGTERM or SIGINT stops it after the chunk in flight (the job stays claimable by the next worker).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from . import JOBS_KEY, create_app, upgrade_database
from .jobs import JobRunner

POLL_SECONDS = 1.0  # how soon a queued job is taken up (at most)


def main() -> int:
    """Run the local worker until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(test_config={"ANALYSIS_IN_PROCESS": True})
    if app.config["CELERY_BROKER_URL"]:
        print("CELERY_BROKER_URL is set: run Celery workers (celery -A backend.worker worker)", file=sys.stderr)
        return 2
    app.config["JOB_POLL_SECONDS"] = min(app.config["JOB_POLL_SECONDS"], POLL_SECONDS)
    upgrade_database(app)
    runner = JobRunner(app)
    app.extensions[JOBS_KEY] = runner
    stopped = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("backend.jobs").info("signal %d: stopping after the chunk in flight", signum)
        runner.stop()
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner.start(warm_up=True)
    runner.wait_warm(timeout=300)
    logging.getLogger("backend.jobs").info("local worker %s takes jobs from the database", runner.owner)
    stopped.wait()
    runner.join(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())

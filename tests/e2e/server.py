"""The real server for the browser tests and ``bench/ui.py``: gunicorn as ``make run`` starts it, on 127.0.0.1.

One place for both: the backend tests' :class:`tests.backend.test_restart.Server` (gunicorn with
``backend/gunicorn_conf.py`` serving ``backend.wsgi:app`` in its own process group, a free port, waits for
``/health``) with the backend tests' environment (``BASE_ENV``: rate limits off; the JWT secret is generated
into the fresh ``DATA_DIR``), one worker, the analysis at its production pace and the built app of this
checkout (``FRONTEND_DIR``: ``E2E_APP_DIR`` when set, e.g. a private ``ng build --output-path``, else
``frontend/dist/drumsampler/browser``).
"""

from __future__ import annotations

import os
from pathlib import Path

import requests

from tests.backend.conftest import BASE_ENV
from tests.backend.test_restart import Server

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_APP_DIR = ROOT / "frontend" / "dist" / "drumsampler" / "browser"
# the built app under test: `E2E_APP_DIR` (e.g. `ng build --output-path /tmp/e2e-app`), else the Makefile's build
APP_DIR = Path(os.environ["E2E_APP_DIR"]).resolve() if os.environ.get("E2E_APP_DIR") else DEFAULT_APP_DIR
APP_INDEX = APP_DIR / "index.html"
SERVER_ENV = {
    **BASE_ENV,
    # the production pace of the analysis (test_restart's Server slows it down to kill it half-way)
    "ANALYSIS_CHUNK": "8",
    "ANALYSIS_PAUSE_SECONDS": "0",
    "FRONTEND_DIR": str(APP_DIR),
}


def log_tail(data_dir: Path, chars: int = 4000) -> str:
    """The end of the server's log files in ``data_dir``."""
    logs = sorted(data_dir.glob("gunicorn-*.log"))
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}" for log in logs)


def start_server(data_dir: Path, workers: int = 1, **env: str) -> Server:
    """gunicorn on a free 127.0.0.1 port with ``DATA_DIR=data_dir``, once it answers ``/health``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return Server(data_dir, workers, **{**SERVER_ENV, **env})
    except AssertionError as exc:
        raise AssertionError(f"the server did not start: {exc}\n{log_tail(data_dir)}") from None


def app_problem(url: str) -> str | None:
    """Why the server at ``url`` does not serve the built Angular app at ``/`` (``None`` when it does)."""
    if not APP_INDEX.is_file():
        where = APP_INDEX.relative_to(ROOT) if APP_INDEX.is_relative_to(ROOT) else APP_INDEX
        return f"the built app is missing ({where}): run make frontend first (or set E2E_APP_DIR to a built app)"
    try:
        response = requests.get(f"{url}/", timeout=30)
    except requests.RequestException as exc:
        return f"GET / failed: {exc}"
    if response.status_code != 200 or "<app-root" not in response.text:
        return (
            f"the server does not serve the app's index.html at / (GET / answered {response.status_code} "
            f"{response.headers.get('Content-Type')}: {response.text[:200]!r})"
        )
    return None

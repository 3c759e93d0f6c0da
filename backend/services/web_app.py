"""The built Angular app (``FRONTEND_DIR``), served from the API's origin: its page and its static files.

Files whose names carry a content hash (Angular's ``main-HASH.js``, ``styles-HASH.css``, everything under
``media/``) never change under their name: browsers keep them a year. The page itself is revalidated on every
use, so a new build is picked up at once; it carries the Content-Security-Policy the app runs under.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Response, current_app, send_from_directory
from werkzeug.security import safe_join

from ..errors import ApiError

INDEX = "index.html"
NOT_BUILT = "the web app is not built: run make run (or make frontend)"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Angular's output hashing: an upper-case base-32 hash before the extension (main-5ZDPMB3Q.js, chunk-...).
_HASHED = re.compile(r"-[A-Z0-9]{6,}\.(?:js|mjs|css)$")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def frontend_dir() -> Path:
    """The folder of the built app."""
    return Path(current_app.config["FRONTEND_DIR"])


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # too long, a NUL byte, text that is no file name
        return False


def find_file(relative: str) -> str | None:
    """``relative`` (a URL path without its leading ``/``) when it names a file inside the built app, else None.

    Refused: ``..`` segments, absolute paths, hidden files (a segment starting with ``.``) and links that lead
    out of the folder.
    """
    root = frontend_dir()
    if not relative or any(segment.startswith(".") for segment in relative.split("/")):
        return None
    joined = safe_join(str(root), relative)
    if joined is None or not _is_file(Path(joined)):
        return None
    if not Path(joined).resolve().is_relative_to(root.resolve()):
        return None
    return relative


def cache_control(relative: str) -> str:
    """``Cache-Control`` of a file of the app: a year for content-hashed names, revalidation for the rest."""
    if relative.startswith("media/") or _HASHED.search(relative.rsplit("/", 1)[-1]):
        return IMMUTABLE
    return REVALIDATE


def file_response(relative: str) -> Response:
    """A file of the app (``find_file`` checked it) with its caching; HTML also with the app's security headers."""
    response = send_from_directory(frontend_dir(), relative)
    response.headers["Cache-Control"] = cache_control(relative)
    if relative.endswith(".html"):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "same-origin"  # every other response: no-referrer (the app factory)
    return response


def index_response() -> Response:
    """The app's page (for ``/`` and its client-side routes); 503 while the app is not built."""
    if find_file(INDEX) is None:
        raise ApiError(503, NOT_BUILT)
    return file_response(INDEX)

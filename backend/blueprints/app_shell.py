"""The web app, same origin as the API: its page for ``/`` and its client-side routes, its files for other paths.

Files are served only for GET paths that no route of the API knows (a 404 of the routing), so every API
route, its 405s and the JSON 404 of unknown paths stay as they are.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import PathConverter

from ..services import web_app

bp = Blueprint("app_shell", __name__)


class AnyPathConverter(PathConverter):
    """Werkzeug's ``path`` with line breaks too: a deep link is the app's page whatever it holds (the app says
    when no library has that name)."""

    regex = r"(?s:[^/].*?)"


bp.record_once(lambda state: state.app.url_map.converters.setdefault("anypath", AnyPathConverter))


@bp.get("/")
@bp.get("/login")
@bp.get("/register")
@bp.get("/libraries", strict_slashes=False)
@bp.get("/libraries/<anypath:rest>")
def index(rest: str = "") -> Response:
    """The app's page: the app routes ``/login``, ``/register`` and ``/libraries/...`` itself (deep links)."""
    return web_app.index_response()


@bp.before_app_request
def app_file() -> Response | None:
    """A GET of a path no route knows that names a file of the built app: that file (else the usual JSON 404)."""
    if request.method not in ("GET", "HEAD") or type(request.routing_exception) is not NotFound:
        return None
    relative = web_app.find_file(request.path.lstrip("/"))
    return None if relative is None else web_app.file_response(relative)

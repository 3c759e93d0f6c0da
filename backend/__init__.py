"""DrumSampler's REST API: the Flask app factory.

``create_app()`` reads its configuration from environment variables (``backend.config``), binds the
extensions, registers one blueprint per resource and the JSON error handlers, and attaches the
background job runner (``app.extensions["drumsampler.jobs"]``): it queues analysis jobs for the workers, and runs
them itself only where ``ANALYSIS_IN_PROCESS`` is set (the tests; see ``backend.jobs``).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from flask import Flask, Response, request
from flask import Request as FlaskRequest
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from .blueprints import register_blueprints
from .blueprints._http import credentials
from .cli import drumsampler
from .errors import ApiError, error_response, register_error_handlers
from .extensions import db, jwt, migrate
from .jobs import JobRunner
from .models import User
from .services import ratelimit_storage  # noqa: F401 - registers the drumsampler+sqlite:// limits store
from .services.auth import normalise_mail
from .services.storage import tmp_dir

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")
RATE_LIMITED_VIEWS = ("auth.register", "auth.login")
JOBS_KEY = "drumsampler.jobs"
MIGRATION_LOCK_KEY = 0x44534D50  # the advisory lock of migrations on PostgreSQL ("DSMP")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: enforce foreign keys, write-ahead log (readers never wait for the analysis), wait on locks."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def _register_jwt_callbacks() -> None:
    from .services.auth import check_claims, is_revoked

    @jwt.user_lookup_loader
    def _load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
        return db.session.get(User, int(payload["sub"]))  # the shape of "sub" was checked with the others

    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        check_claims(payload)  # the first callback on every token: 401 for claims of the wrong shape
        return is_revoked(payload["sid"])

    @jwt.unauthorized_loader
    def _missing(reason: str) -> tuple[Response, int]:
        return error_response(401, f"authentication required: send 'Authorization: Bearer <token>' ({reason})")

    @jwt.invalid_token_loader
    def _invalid(reason: str) -> tuple[Response, int]:
        return error_response(401, f"invalid token: {reason}")

    @jwt.expired_token_loader
    def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> tuple[Response, int]:
        return error_response(401, "token has expired: log in again or use /refresh")

    @jwt.revoked_token_loader
    def _revoked_answer(_header: dict[str, Any], _payload: dict[str, Any]) -> tuple[Response, int]:
        return error_response(401, "token has been revoked (logged out)")

    @jwt.user_lookup_error_loader
    def _no_user(_header: dict[str, Any], _payload: dict[str, Any]) -> tuple[Response, int]:
        return error_response(401, "the account of this token no longer exists")


_register_jwt_callbacks()


def _account_key() -> str:
    """The rate-limit key of the account a login names (a hash of the normalised mail)."""
    try:
        mail, _ = credentials()
    except ApiError:
        return "account:-"  # no usable mail: the request fails with 400, which is not counted
    return "account:" + hashlib.sha256(normalise_mail(mail).encode("utf-8", "replace")).hexdigest()


def _rate_limit(app: Flask) -> Limiter:
    """Flask-Limiter: ``AUTH_RATE_LIMIT`` per client on login and register, ``ACCOUNT_LOGIN_LIMIT`` failed logins
    per account from all clients together. Counters live in ``RATELIMIT_STORAGE_URI``: by default a SQLite
    file that every worker process shares, Redis for several machines."""
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        default_limits=[],
        enabled=app.config["RATELIMIT_ENABLED"],
    )
    per_client = limiter.limit(
        app.config["AUTH_RATE_LIMIT"],
        scope="auth-client",
        error_message=f"too many login or registration attempts from this address ({app.config['AUTH_RATE_LIMIT']})",
    )
    for endpoint in RATE_LIMITED_VIEWS:
        app.view_functions[endpoint] = per_client(app.view_functions[endpoint])
    per_account = limiter.limit(
        app.config["ACCOUNT_LOGIN_LIMIT"],
        key_func=_account_key,
        scope="auth-account",
        deduct_when=lambda response: response.status_code == 401,
        error_message=f"too many failed logins for this account ({app.config['ACCOUNT_LOGIN_LIMIT']})",
    )
    app.view_functions["auth.login"] = per_account(app.view_functions["auth.login"])
    return limiter


def _headers(app: Flask) -> None:
    """Security headers on every response; CORS for the origins in ``CORS_ORIGINS``."""
    origins = set(app.config["CORS_ORIGINS"])

    @app.after_request
    def _add_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        origin = request.headers.get("Origin")
        if origin and ("*" in origins or origin in origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Range, If-None-Match"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = "Content-Range, Accept-Ranges, Content-Length, ETag"
        return response


class Request(FlaskRequest):
    """Flask's request, with uploaded file parts spooled to unnamed temporary files in ``DATA_DIR/tmp`` (gone
    with the process whatever happens): Werkzeug would keep parts under 500 KB in memory, which for a batch of
    small files is the whole request."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return tempfile.TemporaryFile(dir=tmp_dir())  # the parsed form owns and closes it


def create_app(test_config: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Flask:
    """Build the app from ``env`` (default: the process environment), then apply ``test_config`` on top."""
    app = Flask(__name__, static_folder=None)
    app.request_class = Request
    app.config.update(config_module.from_env(env, default_data_dir=app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.getLogger("backend").setLevel(logging.INFO)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    jwt.init_app(app)
    register_blueprints(app)
    register_error_handlers(app)
    app.extensions["drumsampler.limiter"] = _rate_limit(app)
    _headers(app)
    app.cli.add_command(drumsampler)  # flask --app backend drumsampler import ...

    runner = JobRunner(app)
    app.extensions[JOBS_KEY] = runner

    @app.before_request
    def _start_jobs() -> None:
        runner.start()

    @app.before_request
    def _no_nul() -> tuple[Response, int] | None:
        """404 for a NUL character in the path: no library or sample name holds one (PostgreSQL's text cannot)."""
        if "\x00" in request.path:
            return error_response(404, "no library or sample has a NUL character (%00) in its name")
        return None

    @app.before_request
    def _small_bodies() -> None:
        """Only uploads (multipart) may be large: every other body is read whole, so it gets the JSON limit."""
        if request.mimetype != "multipart/form-data":
            request.max_content_length = app.config["MAX_JSON_BYTES"]

    return app


def upgrade_database(app: Flask) -> None:
    """Bring the database schema to the newest migration, serialised by a file lock in the instance folder and, on
    PostgreSQL, by an advisory lock (web servers and workers on several machines may start together)."""
    import fcntl

    from flask_migrate import upgrade
    from sqlalchemy import text

    lock_path = Path(app.config["DATA_DIR"]) / ".migrate.lock"
    with open(lock_path, "w") as lock, app.app_context():
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as connection:
                    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                    try:
                        upgrade(directory=MIGRATIONS_DIR)
                    finally:
                        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                        connection.commit()
            else:
                upgrade(directory=MIGRATIONS_DIR)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

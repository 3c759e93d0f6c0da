"""Configuration from environment variables (see ``.env.example`` and the README).

Every setting has a safe default for a single-machine install; nothing secret lives in code: the
JWT secret comes from ``JWT_SECRET_KEY`` or is generated once into the instance folder (mode 0600).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

SECRET_FILE = "secret_key"
REPO_ROOT = Path(__file__).resolve().parent.parent
# Where the Angular production build lands (the CLI's default output of the project "drumsampler").
DEFAULT_FRONTEND_DIR = REPO_ROOT / "frontend" / "dist" / "drumsampler" / "browser"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"environment variable {name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"environment variable {name} must not be negative, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"environment variable {name} must be true or false, got {raw!r}")


def load_or_create_secret(data_dir: Path) -> str:
    """The secret stored in ``data_dir/secret_key``, created (mode 0600) on first use.

    Several server processes may start at once: the secret is written to a private temporary file and linked into
    place in one step, so a reader never sees a half-written file and exactly one secret wins.
    """
    path = data_dir / SECRET_FILE
    if not path.exists():
        fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=data_dir)  # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
            os.link(tmp, path)  # fails when another process was first: its secret is the one
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable secret (delete it to generate a new one)")
    return secret


def database_uri(url: str) -> str:
    """``DATABASE_URL`` as SQLAlchemy takes it: ``postgres://`` and ``postgresql://`` use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_env(
    env: Mapping[str, str] | None = None, default_data_dir: str | os.PathLike[str] = "instance"
) -> dict[str, Any]:
    """The Flask configuration built from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("DATA_DIR", "").strip() or default_data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = env.get("JWT_SECRET_KEY", "").strip() or load_or_create_secret(data_dir)
    if len(secret) < 32:
        raise ValueError("JWT_SECRET_KEY must be at least 32 characters long")
    database_url = database_uri(env.get("DATABASE_URL", "").strip()) or f"sqlite:///{data_dir / 'drumsampler.db'}"
    broker_url = env.get("CELERY_BROKER_URL", "").strip()
    max_upload_mb = _float(env, "MAX_UPLOAD_MB", 50.0)
    max_batch_files = _int(env, "MAX_BATCH_FILES", 100, 1)
    # A batch holds at least one file of the largest size allowed.
    max_batch_bytes = int(max(_float(env, "MAX_BATCH_MB", 200.0), max_upload_mb) * 1024 * 1024)
    return {
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": secret,
        "JWT_SECRET_KEY": secret,
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ERROR_MESSAGE_KEY": "message",
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=_int(env, "ACCESS_TOKEN_MINUTES", 60, 1)),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=_int(env, "REFRESH_TOKEN_DAYS", 30, 1)),
        "STREAM_TOKEN_SECONDS": _int(env, "STREAM_TOKEN_SECONDS", 600, 1),
        # The built web app served at / (index.html and its hashed assets); relative paths from the working folder.
        "FRONTEND_DIR": str(Path(env.get("FRONTEND_DIR", "").strip() or DEFAULT_FRONTEND_DIR).resolve()),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PASSWORD_MIN_LENGTH": _int(env, "PASSWORD_MIN_LENGTH", 8, 1),
        "AUTH_RATE_LIMIT": env.get("AUTH_RATE_LIMIT", "").strip() or "10 per minute;50 per hour",
        # Default: a SQLite file that every process of this machine shares (backend.services.ratelimit_storage).
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "").strip()
        or f"drumsampler+sqlite://{data_dir / 'ratelimits.sqlite3'}",
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        # A whole upload request: a batch's files together (MAX_BATCH_MB, at least one file's limit), plus
        # room for the form's own bytes (part headers, one 'path' field per file); each file inside is limited
        # by MAX_UPLOAD_MB, checked while it is copied.
        "MAX_CONTENT_LENGTH": max_batch_bytes + 64 * 1024 + max_batch_files * 4096,
        "MAX_UPLOAD_BYTES": int(max_upload_mb * 1024 * 1024),
        # One upload request (POST /upload) takes at most this many files ('file' parts): 413 beyond.
        "MAX_BATCH_FILES": max_batch_files,
        # ... and at most this many bytes of files in all (Werkzeug answers 413 from MAX_CONTENT_LENGTH).
        "MAX_BATCH_BYTES": max_batch_bytes,
        # Non-file form fields held in memory. Werkzeug also applies it to its read buffer while it searches
        # a file part for the boundary, so it must stay well above that buffer (64 KiB): 1 MiB.
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "MAX_AUDIO_SECONDS": _float(env, "MAX_AUDIO_SECONDS", 60.0),
        # Where analysis jobs run (docs/architecture.md, "Jobs and workers"): with CELERY_BROKER_URL, Celery workers
        # (`celery -A backend.worker worker`); without, a local worker process (`python -m backend.local_worker`) that
        # takes them from the database. ANALYSIS_IN_PROCESS: this process runs the local worker's threads itself
        # (tests, `flask run`); the web server never does by default, so it never loads TensorFlow.
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": env.get("CELERY_RESULT_BACKEND", "").strip() or broker_url,
        "CELERY_VISIBILITY_TIMEOUT": _float(env, "CELERY_VISIBILITY_TIMEOUT", 3600.0),
        "ANALYSIS_IN_PROCESS": _bool(env, "ANALYSIS_IN_PROCESS", False),
        "ANALYSIS_WORKERS": _int(env, "ANALYSIS_WORKERS", 1, 1),
        "ANALYSIS_CHUNK": _int(env, "ANALYSIS_CHUNK", 8, 1),
        "ANALYSIS_PAUSE_SECONDS": _float(env, "ANALYSIS_PAUSE_SECONDS", 0.0),
        # Niceness added to the analysis threads (and TensorFlow's, which they start): requests come first.
        "ANALYSIS_NICE": _int(env, "ANALYSIS_NICE", 10, 0),
        "JOB_POLL_SECONDS": _float(env, "JOB_POLL_SECONDS", 5.0),
        "JOB_STALE_SECONDS": _float(env, "JOB_STALE_SECONDS", 120.0),
        "TAGS_WAIT_SECONDS": _float(env, "TAGS_WAIT_SECONDS", 600.0),
        # Unset: the threshold calibrated with the shipped tagger head.
        "UNKNOWN_THRESHOLD": _float(env, "UNKNOWN_THRESHOLD", 0.0) if env.get("UNKNOWN_THRESHOLD") else None,
        "RECOMMENDATIONS": _int(env, "RECOMMENDATIONS", 8, 1),
        "CORS_ORIGINS": [o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()],
        # Bodies that are not uploads (JSON, forms) are read whole: their own, small limit.
        "MAX_JSON_BYTES": int(_float(env, "MAX_JSON_MB", 2.0) * 1024 * 1024),
        # Requests of one user waiting for an analysis (GET /tags) at once, per process; 429 beyond.
        "MAX_WAITS_PER_USER": _int(env, "MAX_WAITS_PER_USER", 2, 1),
        # ... and of all users together, per process (make run serves 8 threads per process).
        "MAX_WAITS_PER_PROCESS": _int(env, "MAX_WAITS_PER_PROCESS", 4, 1),
        # Failed logins of one account, from any client, before its logins are refused for a while.
        "ACCOUNT_LOGIN_LIMIT": env.get("ACCOUNT_LOGIN_LIMIT", "").strip() or "20 per hour",
        # zxcvbn score (0-4) a new password must reach.
        "PASSWORD_MIN_SCORE": _int(env, "PASSWORD_MIN_SCORE", 3, 0),
        # Finished analysis jobs are deleted after this many days (the last job of a library is kept).
        "JOB_RETENTION_DAYS": _float(env, "JOB_RETENTION_DAYS", 7.0),
        # Below this much free space in DATA_DIR, /health reports "degraded".
        "MIN_FREE_DISK_BYTES": int(_float(env, "MIN_FREE_DISK_MB", 500.0) * 1024 * 1024),
        # Highest sample rate accepted in uploads (Hz): bounds the work of a decode, whatever a header claims.
        "MAX_SAMPLE_RATE": _int(env, "MAX_SAMPLE_RATE", 384000, 8000),
        "JSON_SORT_KEYS": False,
    }

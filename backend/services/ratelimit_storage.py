"""A rate-limit store for Flask-Limiter (the ``limits`` library) in one SQLite file shared by the processes.

``limits`` keeps its counters in memory (each gunicorn worker on its own, so N workers allow N times the
limit), in Redis, Memcached or MongoDB. A single-machine install has none of the last three; this store
keeps fixed-window counters in ``DATA_DIR/ratelimits.sqlite3`` so that the documented limits hold
whatever the number of workers. URI: ``drumsampler+sqlite:///absolute/path/to/file``. Several hosts share
limits through Redis instead (``RATELIMIT_STORAGE_URI=redis://...``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from limits.storage import Storage

SCHEME = "drumsampler+sqlite"
PRUNE_EVERY = 500  # increments between deletions of expired counters


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file (write-ahead log; one connection per thread and process)."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 - the registry of limits reads this class attribute

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions, **options)
        path = (uri or "").partition("://")[2]
        if not path.startswith("/"):
            raise ValueError(f"{SCHEME} needs an absolute file path: {SCHEME}:///path/to/file, got {uri!r}")
        self.path = path
        self._local = threading.local()
        self._increments = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a forked worker opens its own)."""
        if getattr(self._local, "pid", None) != os.getpid():
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS counter "
                "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
            )
            self._local.connection, self._local.pid = connection, os.getpid()
        return self._local.connection

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to the counter of ``key`` (a new window of ``expiry`` seconds when the last one ended)."""
        now = time.time()
        db = self._db()
        (count,) = db.execute(
            "INSERT INTO counter (key, count, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires <= ? THEN excluded.count ELSE count + excluded.count END, "
            "expires = CASE WHEN expires <= ? THEN excluded.expires ELSE expires END RETURNING count",
            (key, amount, now + expiry, now, now),
        ).fetchone()
        self._increments += 1
        if self._increments % PRUNE_EVERY == 0:
            db.execute("DELETE FROM counter WHERE expires <= ?", (now,))
        return int(count)

    def get(self, key: str) -> int:
        """The counter of ``key`` in its current window (0 when none)."""
        query = "SELECT count FROM counter WHERE key = ? AND expires > ?"
        row = self._db().execute(query, (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """When the current window of ``key`` ends (now when there is none)."""
        now = time.time()
        row = self._db().execute("SELECT expires FROM counter WHERE key = ? AND expires > ?", (key, now)).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        """Whether the file answers."""
        try:
            self._db().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; how many there were."""
        return self._db().execute("DELETE FROM counter").rowcount

    def clear(self, key: str) -> None:
        """Forget the counter of ``key``."""
        self._db().execute("DELETE FROM counter WHERE key = ?", (key,))

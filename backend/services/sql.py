"""Dialect-aware statements the services share: ``INSERT ... ON CONFLICT`` on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db


def insert_on_conflict(
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    update: Sequence[str] = (),
) -> None:
    """Insert ``rows``; a row whose ``conflict`` columns already exist is left alone, or gets ``update`` set.

    Setting columns on a conflict also takes the existing row's write lock (PostgreSQL) until the transaction
    ends; on SQLite any write takes the database's write lock. Either way, the caller holds it until commit.
    """
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise RuntimeError(f"database {dialect!r} is not supported (use SQLite or PostgreSQL)")
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    statement = insert(model).values(list(rows))
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(conflict), set_={name: statement.excluded[name] for name in update}
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    db.session.execute(statement)

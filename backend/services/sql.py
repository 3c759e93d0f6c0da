"""Dialect-aware statements the services share: ``INSERT ... ON CONFLICT`` on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import update
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


def fill_if_missing(model: Any, row_id: int, content_hash: str, column: str, value: Any) -> bool:
    """Set ``column`` of the row ``row_id`` (a sample) to ``value`` if it still has ``content_hash`` and the column is
    still NULL (work computed outside the transaction, stored only if still wanted); True when set."""
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, model.content_hash == content_hash, getattr(model, column).is_(None))
        .values({column: value})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1

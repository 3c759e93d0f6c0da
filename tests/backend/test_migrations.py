"""The Alembic migrations build exactly the schema the models describe, on a real SQLite file."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from backend.extensions import db


def test_migrated_schema_matches_the_models(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert compare_metadata(context, db.metadata) == []
        tables = set(inspect(connection).get_table_names())
    assert {"user", "samplelibrary", "sample", "tag", "sample_tags", "job", "recommendation"} <= tables
    assert "alembic_version" in tables

"""At most one queued or running analysis job per library (partial unique index).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = "state IN ('queued', 'running')"


def upgrade() -> None:
    # Jobs left active twice by the race this index closes: keep the oldest, fail the others.
    op.execute(
        "UPDATE job SET state = 'failed', message = 'superseded by another job of the same library' "
        f"WHERE {ACTIVE} AND id NOT IN (SELECT id FROM job AS j WHERE j.library_id = job.library_id AND "
        f"j.{ACTIVE} ORDER BY j.created_at LIMIT 1)"
    )
    op.create_index(
        "uq_job_active_library",
        "job",
        ["library_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_job_active_library", table_name="job")

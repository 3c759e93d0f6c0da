"""The reach a library's custom tags spread at, remembered (NULL: the package's default, strict).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("samplelibrary") as batch:
        batch.add_column(sa.Column("tag_reach", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samplelibrary") as batch:
        batch.drop_column("tag_reach")

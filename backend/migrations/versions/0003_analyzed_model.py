"""The tagger model each sample was analysed with: a new model re-analyses the library on /analyze.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sample") as batch:
        batch.add_column(sa.Column("analyzed_model", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sample") as batch:
        batch.drop_column("analyzed_model")

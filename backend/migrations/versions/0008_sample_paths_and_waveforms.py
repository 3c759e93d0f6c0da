"""Samples named by their path in the library (up to 1 024 bytes), and their waveform peaks.

Today's names are plain file names: they are already valid root-level paths and stay as they are.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sample") as batch:
        batch.alter_column("name", existing_type=sa.String(length=255), type_=sa.String(length=1024))
        batch.add_column(sa.Column("thumb", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("peaks", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sample") as batch:
        batch.drop_column("peaks")
        batch.drop_column("thumb")
        batch.alter_column("name", existing_type=sa.String(length=1024), type_=sa.String(length=255))

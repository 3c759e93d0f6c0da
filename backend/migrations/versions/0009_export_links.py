"""Export links: a stream link may stand for one library's export (its selection as JSON) instead of one sample.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stream_link") as batch:
        batch.alter_column("sample_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("library_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("selection", sa.JSON(), nullable=True))
        fk = batch.f("fk_stream_link_library_id_samplelibrary")
        batch.create_foreign_key(fk, "samplelibrary", ["library_id"], ["id"], ondelete="CASCADE")
        batch.create_index(batch.f("ix_stream_link_library_id"), ["library_id"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM stream_link WHERE sample_id IS NULL")
    with op.batch_alter_table("stream_link") as batch:
        batch.drop_index(batch.f("ix_stream_link_library_id"))
        batch.drop_constraint(batch.f("fk_stream_link_library_id_samplelibrary"), type_="foreignkey")
        batch.drop_column("selection")
        batch.drop_column("library_id")
        batch.alter_column("sample_id", existing_type=sa.Integer(), nullable=False)

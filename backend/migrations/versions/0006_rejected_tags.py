"""Custom tags the user removed from a sample, so that propagation does not put them back.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rejected_tag",
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["sample.id"], name=op.f("fk_rejected_tag_sample_id_sample"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], name=op.f("fk_rejected_tag_tag_id_tag"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sample_id", "tag_id", name=op.f("pk_rejected_tag")),
    )


def downgrade() -> None:
    op.drop_table("rejected_tag")

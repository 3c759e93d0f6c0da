"""A library that thinks: loop tempo, class corrections and their suggestions, duplicate fingerprints, and the
favourite each recommendation comes from.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sample") as batch:
        batch.add_column(sa.Column("bpm", sa.Float(), nullable=True))
        batch.add_column(sa.Column("bpm_user", sa.Float(), nullable=True))
        batch.add_column(sa.Column("user_class", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("recommendation") as batch:
        batch.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
        fk = batch.f("fk_recommendation_source_id_sample")
        batch.create_foreign_key(fk, "sample", ["source_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "class_suggestion",
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("suggested_class", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["sample.id"], name=op.f("fk_class_suggestion_sample_id_sample"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("sample_id", "suggested_class", name=op.f("pk_class_suggestion")),
    )


def downgrade() -> None:
    op.drop_table("class_suggestion")
    with op.batch_alter_table("recommendation") as batch:
        batch.drop_constraint(batch.f("fk_recommendation_source_id_sample"), type_="foreignkey")
        batch.drop_column("source_id")
    with op.batch_alter_table("sample") as batch:
        batch.drop_column("fingerprint")
        batch.drop_column("corrected_at")
        batch.drop_column("user_class")
        batch.drop_column("bpm_user")
        batch.drop_column("bpm")

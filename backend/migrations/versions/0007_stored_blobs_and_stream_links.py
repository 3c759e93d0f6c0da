"""Stored audio files as rows (locked by uploads and deletions), and opaque audio links tied to a session.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_blob",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_stored_blob_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "content_hash", name=op.f("pk_stored_blob")),
    )
    # every file the samples use today gets its row
    op.execute(
        "INSERT INTO stored_blob (user_id, content_hash, format, created_at) "
        "SELECT samplelibrary.user_id, sample.content_hash, MIN(sample.format), MIN(sample.created_at) "
        "FROM sample JOIN samplelibrary ON sample.library_id = samplelibrary.id "
        "GROUP BY samplelibrary.user_id, sample.content_hash"
    )
    op.create_table(
        "stream_link",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["sample.id"], name=op.f("fk_stream_link_sample_id_sample"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_stream_link_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_stream_link")),
    )
    with op.batch_alter_table("stream_link") as batch:
        batch.create_index(batch.f("ix_stream_link_expires_at"), ["expires_at"], unique=False)
        batch.create_index(batch.f("ix_stream_link_sample_id"), ["sample_id"], unique=False)
        batch.create_index(batch.f("ix_stream_link_sid"), ["sid"], unique=False)
        batch.create_index(batch.f("ix_stream_link_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("stream_link")
    op.drop_table("stored_blob")

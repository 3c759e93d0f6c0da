"""The tagger's sub-class of each sample (issue 21: kick; snare, rimshot, clap; closed hat, open hat, ride, crash;
tom; loop; percussion; other), beside its class.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sample") as batch:
        batch.add_column(sa.Column("subclass", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sample") as batch:
        batch.drop_column("subclass")

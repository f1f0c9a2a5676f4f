"""Access tokens expire: access_tokens.expires_at (storage/tokens.py).

Tokens made before it have none stored; they expire TOKEN_DAYS after they were created
(computed in storage/tokens.py), so no backfill is needed.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.drop_column("expires_at")

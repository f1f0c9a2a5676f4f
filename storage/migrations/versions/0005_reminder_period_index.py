"""An index on reminder_keys.period: a pass looks up the keys of its periods in one query.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_keys") as batch:
        batch.create_index("ix_reminder_keys_period", ["period"])


def downgrade() -> None:
    with op.batch_alter_table("reminder_keys") as batch:
        batch.drop_index("ix_reminder_keys_period")

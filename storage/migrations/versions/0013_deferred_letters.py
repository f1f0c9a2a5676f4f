"""outbox.context (a reminder rendered at delivery) and an index on reminder_keys.email.

A reminder pass stores what each letter says (its lines, as data) instead of its rendered
bodies; the relay renders it when it sends. The index lets each chunk of a pass check, in its
own short transaction, which of its recipients another pass has covered meanwhile.

Revision ID: 0013
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("context", sa.JSON(), nullable=True))
    with op.batch_alter_table("reminder_keys") as batch:
        batch.create_index("ix_reminder_keys_email", ["email"])


def downgrade() -> None:
    with op.batch_alter_table("reminder_keys") as batch:
        batch.drop_index("ix_reminder_keys_email")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("context")

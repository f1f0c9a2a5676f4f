"""An index on events (event, kind, at, step, region_code): the week's changes and the trends.

"What changed this week" reads the finished steps of the last days (a range of this index, not a
scan of the whole history), and the burn-up counts finished steps per step and day from the
index alone, without reading the events' data.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_event_at", "events",
                    ["event", "kind", "at", "step", "region_code"])


def downgrade() -> None:
    op.drop_index("ix_events_event_at", table_name="events")

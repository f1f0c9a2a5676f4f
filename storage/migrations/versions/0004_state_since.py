"""machines.state_since: when the current state began, indexed for "late" queries.

Revision ID: 0004
Revises: 0003
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _since(state: str, steps: dict) -> datetime | None:
    """The since of the current step, or for a finished machine the latest since."""
    if state in steps:
        text = steps[state].get("since")
    else:
        text = max((v.get("since") or "" for v in steps.values()), default="") or None
    if not text:
        return None
    value = datetime.fromisoformat(text).astimezone(UTC)
    return value


def upgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.add_column(sa.Column("state_since", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    rows = conn.execute(sa.text("SELECT id, state, steps FROM machines")).all()
    updates = []
    for id_, state, steps in rows:
        steps = json.loads(steps) if isinstance(steps, str) else steps
        since = _since(state, steps)
        if since is not None and sqlite:
            since = since.replace(tzinfo=None)
        updates.append({"id": id_, "since": since})
    if updates:
        conn.execute(sa.text("UPDATE machines SET state_since = :since WHERE id = :id"), updates)
    with op.batch_alter_table("machines") as batch:
        batch.create_index("ix_machines_kind_region_state_since",
                           ["kind", "region_code", "state", "state_since"])


def downgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.drop_index("ix_machines_kind_region_state_since")
        batch.drop_column("state_since")

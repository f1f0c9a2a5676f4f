"""The step graph: machines.statuses, open_steps, step_definitions.

Every machine keeps its per-step statuses as they are (they are valid on the strict line of the
first release); the strict line is recorded as definition version 1, so that `rollout init`
(or `rollout steps migrate`) moves the machines to the configured graph with one history event
per machine moved. The history itself is not touched.

Revision ID: 0006
Revises: 0005
"""

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SLUGS = ("coordinator", "registry", "municipalities", "admins", "teachers", "classes",
         "parents", "students", "adoption")
CODE = {"done": "D", "skipped": "S", "current": "C", "pending": "P"}
# The first release's definition: its default SLAs and thresholds, each step after the one
# before it. Frozen here: later releases change their defaults, not this record.
SLAS = {"coordinator": (5, 10), "registry": (10, 15), "municipalities": (10, 15),
        "admins": (5, 10), "teachers": (10, 15), "classes": (10, 15), "parents": (15, 25),
        "students": (15, 25), "adoption": (20, 30)}
LEGACY_NOTE = "release 0.1: the strict line"


def legacy_body() -> dict:
    return {slug: {"sla_days": SLAS[slug][0], "escalate_after_days": SLAS[slug][1],
                   "threshold": 1.0, "region_share": 1.0,
                   "after": [SLUGS[i - 1]] if i else []}
            for i, slug in enumerate(SLUGS)}


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    with op.batch_alter_table("machines") as batch:
        batch.add_column(sa.Column("statuses", sa.String(length=16), nullable=True))
    op.create_table(
        "open_steps",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code", "step", name=op.f("pk_open_steps")),
    )
    op.create_index("ix_open_steps_kind_step_region_since", "open_steps",
                    ["kind", "step", "region_code", "since"], unique=False)
    op.create_table(
        "step_definitions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_step_definitions")),
    )
    updates, opened = [], []
    for id_, kind, code, region, steps in conn.execute(
            sa.text("SELECT id, kind, code, region_code, steps FROM machines")):
        steps = json.loads(steps) if isinstance(steps, str) else steps
        updates.append({"id": id_, "statuses": "".join(CODE[steps[s]["status"]] for s in SLUGS)})
        for slug in SLUGS:
            if steps[slug]["status"] == "current" and steps[slug].get("since"):
                since = datetime.fromisoformat(steps[slug]["since"]).astimezone(UTC)
                opened.append({"kind": kind, "code": code, "step": slug, "region_code": region,
                               "since": since.replace(tzinfo=None) if sqlite else since})
    if updates:
        conn.execute(sa.text("UPDATE machines SET statuses = :statuses WHERE id = :id"), updates)
    if opened:
        conn.execute(sa.text("INSERT INTO open_steps (kind, code, step, region_code, since) "
                             "VALUES (:kind, :code, :step, :region_code, :since)"), opened)
    with op.batch_alter_table("machines") as batch:
        batch.alter_column("statuses", existing_type=sa.String(length=16), nullable=False)
        batch.create_index("ix_machines_kind_region_statuses",
                           ["kind", "region_code", "statuses"])
    if updates:  # a database with machines ran under the first release's definition
        body = legacy_body()
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        now = datetime.now(UTC)
        conn.execute(sa.text(
            "INSERT INTO step_definitions (version, fingerprint, body, adopted_at, note) "
            "VALUES (1, :fp, :body, :at, :note)"),
            {"fp": hashlib.sha256(text.encode()).hexdigest()[:16], "body": json.dumps(body),
             "at": now.replace(tzinfo=None) if sqlite else now, "note": LEGACY_NOTE})


def downgrade() -> None:
    with op.batch_alter_table("machines") as batch:
        batch.drop_index("ix_machines_kind_region_statuses")
        batch.drop_column("statuses")
    op.drop_index("ix_open_steps_kind_step_region_since", table_name="open_steps")
    op.drop_table("open_steps")
    op.drop_table("step_definitions")

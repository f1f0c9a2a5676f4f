"""The outbox, the reminder keys and the bounced addresses: the mail side's tables, and the
queries over bounces that status, the report and the dashboard share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    union,
)

from storage.models import (
    assignments,
    metadata,
    municipalities,
    optional,
    regions,
    required,
    schools,
)
from storage.types import UtcDateTime

QUEUED, SENT, FAILED = "queued", "sent", "failed"
STATUSES = (QUEUED, SENT, FAILED)

# A message to deliver. Rendered and stored in the transaction of the event that caused it;
# `message_id` is fixed then and reused on every attempt, so a message delivered twice is
# recognisably the same.
outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("message_id", String(255), unique=True),
    required("kind", String(32)),  # template name: coordinator, reminder, ...
    optional("region_code", String(16), index=True),
    required("sender", String(600)),  # "Name <addr>", parsed when sent
    required("recipients", JSON),  # {"to": [[name, addr], ...]}
    required("subject", Text),
    required("body_text", Text),
    required("body_html", Text),
    optional("attachments", JSON),  # {"files": [{"filename", "mime", "text"}]}
    # A letter rendered at delivery (reminders, escalations): what it says, as data; its
    # subject and bodies are empty until the relay renders them (notifications/deferred.py)
    optional("context", Text),  # JSON, compact and in UTF-8
    required("created_at", UtcDateTime),
    required("status", String(8), default=QUEUED),
    required("attempts", Integer, default=0),
    required("next_attempt_at", UtcDateTime),
    optional("lease_until", UtcDateTime),  # a relay holds the message until then
    optional("lease_owner", String(64)),
    optional("sent_at", UtcDateTime),
    optional("last_error", Text),
    Index("ix_outbox_status_id", "status", "id"),  # claims walk queued messages in id order
)

# One (machine, step, recipient, period) a reminder was queued for. The UNIQUE constraint is
# what makes a repeated or concurrent pass queue nothing twice.
reminder_keys = Table(
    "reminder_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("machine_id", Integer),
    required("step", String(32)),
    required("email", String(254)),
    required("period", String(40), index=True),  # "<since date>#<n>"
    required("level", Integer),
    required("message_id", String(255)),  # the outbox message that carried it
    required("created_at", UtcDateTime),
    UniqueConstraint("machine_id", "step", "email", "period"),
)

# An address the server refused permanently: a broken contact until mail gets through.
bounces = Table(
    "bounces", metadata,
    Column("email", String(254), primary_key=True),
    required("at", UtcDateTime),
    required("error", Text),
    optional("outbox_id", Integer),
)


def broken_contacts(conn: Connection, emails: Iterable[str] | None = None
                    ) -> list[dict[str, Any]]:
    """Bounced addresses (oldest first): e-mail, when, and the server's answer."""
    q = select(bounces.c.email, bounces.c.at, bounces.c.error).order_by(bounces.c.at)
    if emails is not None:
        q = q.where(bounces.c.email.in_(list(emails)))
    return [dict(r._mapping) for r in conn.execute(q)]


def broken_contacts_by_region(conn: Connection) -> dict[str, list[str]]:
    """Region code -> the bounced addresses (sorted) of people holding a role in that region.

    A role is in a region when its scope is the region itself, one of its municipalities or
    one of its schools; global roles (program managers, support, auditors) are in none.
    """
    bounced = select(bounces.c.email)
    parts = [select(code.label("region"), assignments.c.email)
             .join(assignments, assignments.c.scope == scope)
             .where(assignments.c.email.in_(bounced))
             for code, scope in ((regions.c.code, regions.c.code),
                                 (municipalities.c.region_code, municipalities.c.code),
                                 (schools.c.region_code, schools.c.code))]
    out: dict[str, set[str]] = {}
    for region, email in conn.execute(union(*parts)):
        out.setdefault(region, set()).add(email)
    return {region: sorted(emails) for region, emails in sorted(out.items())}

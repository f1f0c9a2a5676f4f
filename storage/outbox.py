"""The outbox, the reminder keys and the bounced addresses (tables of the mail side)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

QUEUED, SENT, FAILED = "queued", "sent", "failed"
STATUSES = (QUEUED, SENT, FAILED)


class OutboxMessage(Base):
    """A rendered message waiting for (or done with) delivery.

    Rendered and stored in the transaction of the event that caused it; `message_id` is fixed
    then and reused on every attempt, so a message delivered twice is recognisably the same.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # template name: coordinator, reminder, ...
    region_code: Mapped[str | None] = mapped_column(String(16), index=True)
    sender: Mapped[str] = mapped_column(String(600))  # "Name <addr>", parsed when sent
    recipients: Mapped[dict[str, Any]]  # {"to": [[name, addr], ...]}
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    attachments: Mapped[dict[str, Any] | None]  # {"files": [{"filename", "mime", "text"}]}
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(8), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]  # a relay holds the message until then
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class ReminderKey(Base):
    """One reminder owed for one open spell of a step, per recipient and repeat period.

    The UNIQUE constraint is what makes a repeated or concurrent pass queue nothing twice.
    """

    __tablename__ = "reminder_keys"
    __table_args__ = (UniqueConstraint("machine_id", "step", "email", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    machine_id: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    period: Mapped[str] = mapped_column(String(40))  # "<since date>#<n>"
    level: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(255))  # the outbox message that carried it
    created_at: Mapped[datetime]


class Bounce(Base):
    """An address the server refused permanently: a broken contact until mail gets through."""

    __tablename__ = "bounces"
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    at: Mapped[datetime]
    error: Mapped[str] = mapped_column(Text)
    outbox_id: Mapped[int | None] = mapped_column(Integer)


T = Base.metadata.tables
outbox = T["outbox"]
reminder_keys = T["reminder_keys"]
bounces = T["bounces"]

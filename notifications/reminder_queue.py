"""Queueing a pass's letters: in chunks, each with its reminder keys and a history event, in
one short write transaction; letters stored as contexts, rendered at delivery (deferred.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from notifications import outbox
from notifications.deferred import Line, pack, render_stored
from notifications.policy import Recipient
from notifications.reminders import (
    CHUNK,
    SYSTEM,
    Late,
    PassSummary,
    Plan,
    count,
    drop_already_sent,
)
from notifications.settings import MailSettings, ReminderSettings
from storage import Database, NewEvent, history
from storage.bulk import insert_rows
from storage.outbox import reminder_keys


def queue_letters(db: Database, now: datetime, mail: MailSettings, reminders: ReminderSettings,
                  plan: Plan, summary: PassSummary, chunk: int = CHUNK,
                  after_chunk: Callable[[int], None] | None = None) -> None:
    """Queue the plan's letters in chunks, each with its keys and a history event.

    Each chunk checks again, in its own transaction, which of its recipients' lines a
    concurrent pass has queued meanwhile (the UNIQUE keys would refuse them), so the counts
    are what this pass queued. Letters are stored as contexts (deferred.py): the first of
    each template is rendered here, so a broken template stops the pass before it queues.
    """
    repeat = reminders.repeat_every_days
    for kind in ("reminder", "escalation"):
        first = next((x for x in plan.letters.values()
                      if _kind(list(zip(x.items, x.lines, strict=True))) == kind), None)
        if first is not None:
            render_stored(_packed(first.person, list(zip(first.items, first.lines,
                                                         strict=True)), repeat), mail)
    summary.reminders = summary.escalations = summary.items = 0
    summary.recipients = []
    parts = _parts(sorted(plan.owed), plan.owed, chunk)
    for n, part in enumerate(parts, 1):
        with db.write() as conn:
            owed = {email: plan.owed[email] for email in part}
            drop_already_sent(conn, owed, summary, after_key=plan.last_key)
            done = PassSummary(at=now)
            rows: list[dict[str, Any]] = []
            keys: list[dict[str, Any]] = []
            for email in sorted(owed):
                letter = plan.letters[email]
                fresh = set(owed[email])
                kept = [(it, ln) for it, ln in zip(letter.items, letter.lines, strict=True)
                        if it in fresh]
                row = outbox.deferred_row(
                    _kind(kept), _packed(letter.person, kept, repeat),
                    [(letter.person.name, email)], sender=mail.sender, now=now)
                rows.append(row)
                keys.extend({"machine_id": it.machine_id, "step": it.step, "email": email,
                             "period": it.period, "level": it.level,
                             "message_id": row["message_id"]} for it, _ in kept)
            count(owed, done)
            if rows:
                outbox.enqueue(conn, rows)
                insert_rows(conn, reminder_keys, keys, {"created_at": now})
                history.append(conn, [NewEvent(
                    at=now, event="RemindersQueued", actor=SYSTEM, trigger="reminder pass",
                    reason=f"part {n} of {len(parts)}: {done.summary()}",
                    data={"reminders": done.reminders, "escalations": done.escalations,
                          "items": done.items, "recipients": len(done.recipients),
                          "part": n, "parts": len(parts)})])
        count(owed, summary)
        if after_chunk is not None:
            after_chunk(n)


def _parts(emails: list[str], owed: dict[str, list[Late]], chunk: int) -> list[list[str]]:
    """Recipients in chunks of about `chunk` letters or `chunk` × 5 lines, whichever first."""
    parts: list[list[str]] = [[]]
    lines = 0
    for email in emails:
        if parts[-1] and (len(parts[-1]) >= chunk or lines >= chunk * 5):
            parts.append([])
            lines = 0
        parts[-1].append(email)
        lines += len(owed[email])
    return parts


def _kind(kept: list[tuple[Late, Line]]) -> str:
    return "reminder" if kept[0][0].level == 0 else "escalation"  # own lines sort first


def _packed(person: Recipient, kept: list[tuple[Late, Line]], repeat: int) -> str:
    return pack({"name": person.name, "email": person.email, "role": person.role},
                [ln for it, ln in kept if it.level == 0],
                [ln for it, ln in kept if it.level > 0], repeat)

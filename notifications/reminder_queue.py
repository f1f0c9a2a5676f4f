"""Queueing a pass's letters: in chunks, each with its reminder keys and a history event, in
one short write transaction; letters stored as contexts, rendered at delivery (deferred.py)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
    # One writer thread: while it writes and commits chunk n (SQLite and the driver release
    # the GIL for that), this thread builds the letters of chunk n+1. One chunk at a time is
    # in flight, in order, so a chunk commits only after the one before it has.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reminder-queue") as writer:
        pending: Future[None] | None = None
        for n, part in enumerate(parts, 1):
            built = {email: _built(plan, email, plan.letters[email].items, mail, now, repeat)
                     for email in part}
            if pending is not None:
                pending.result()  # the chunk before committed (or its error stops the pass)
            pending = writer.submit(_write_part, db, now, mail, repeat, plan, summary, built,
                                    n, len(parts), after_chunk)
        if pending is not None:
            pending.result()


Built = tuple[dict[str, Any], list[dict[str, Any]]]  # an outbox row and its reminder keys


def _built(plan: Plan, email: str, items: list[Late], mail: MailSettings, now: datetime,
           repeat: int) -> Built:
    """One recipient's letter of the pass (the `items` still owed) and its reminder keys."""
    letter = plan.letters[email]
    fresh = set(items)
    kept = [(it, ln) for it, ln in zip(letter.items, letter.lines, strict=True) if it in fresh]
    row = outbox.deferred_row(_kind(kept), _packed(letter.person, kept, repeat),
                              [(letter.person.name, email)], sender=mail.sender, now=now)
    keys = [{"machine_id": it.machine_id, "step": it.step, "email": email,
             "period": it.period, "level": it.level, "message_id": row["message_id"]}
            for it, _ in kept]
    return row, keys


def _write_part(db: Database, now: datetime, mail: MailSettings, repeat: int, plan: Plan,
                summary: PassSummary, built: dict[str, Built], n: int, parts: int,
                after_chunk: Callable[[int], None] | None) -> None:
    """One chunk in one write transaction: what a concurrent pass queued meanwhile dropped
    (its letters rebuilt without those lines), then the letters, their keys and an event."""
    with db.write() as conn:
        owed = {email: plan.owed[email] for email in built}
        drop_already_sent(conn, owed, summary, after_key=plan.last_key)
        done = PassSummary(at=now)
        rows: list[dict[str, Any]] = []
        keys: list[dict[str, Any]] = []
        for email in sorted(owed):
            row, its_keys = built[email]
            if len(owed[email]) != len(its_keys):  # overtaken: some lines are queued already
                row, its_keys = _built(plan, email, owed[email], mail, now, repeat)
            rows.append(row)
            keys.extend(its_keys)
        count(owed, done)
        if rows:
            outbox.enqueue(conn, rows)
            insert_rows(conn, reminder_keys, keys, {"created_at": now})
            history.append(conn, [NewEvent(
                at=now, event="RemindersQueued", actor=SYSTEM, trigger="reminder pass",
                reason=f"part {n} of {parts}: {done.summary()}",
                data={"reminders": done.reminders, "escalations": done.escalations,
                      "items": done.items, "recipients": len(done.recipients),
                      "part": n, "parts": parts})])
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

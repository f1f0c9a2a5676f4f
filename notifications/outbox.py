"""The outbox: queue rendered messages in the caller's transaction; claim, mark, list them."""

from __future__ import annotations

import random
from base64 import b64encode
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from notifications.message import new_message_id, recipients
from notifications.render import Rendered
from storage.bulk import insert_rows
from storage.outbox import FAILED, QUEUED, SENT, bounces, outbox

BACKOFF_BASE_S = 60.0
BACKOFF_CAP_S = 3600.0
MAX_ATTEMPTS = 12  # about half a day of temporary failures, then the message is failed
_jitter = random.Random()


def message_row(rendered: Rendered, to: Sequence[tuple[str | None, str]], *, sender: str,
                now: datetime, region_code: str | None = None,
                cc: Sequence[tuple[str | None, str]] = (),
                reply_to: Sequence[tuple[str | None, str]] = ()) -> dict[str, Any]:
    """The outbox row for a rendered letter; its Message-ID is fixed here, once."""
    files = [{"filename": a.filename, "mime": a.mime, "text": a.text} if a.data is None else
             {"filename": a.filename, "mime": a.mime, "base64": b64encode(a.data).decode()}
             for a in rendered.attachments]
    return {"message_id": new_message_id(sender, rendered.name), "kind": rendered.name,
            "region_code": region_code, "sender": sender,
            "recipients": recipients(to, cc, reply_to),
            "subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html,
            "attachments": {"files": files} if files else None, "context": None,
            "created_at": now,
            "status": QUEUED, "attempts": 0, "next_attempt_at": now}


def deferred_row(kind: str, context: str, to: Sequence[tuple[str | None, str]], *,
                 sender: str, now: datetime) -> dict[str, Any]:
    """The outbox row for a letter rendered at delivery (notifications/deferred.py): its
    context instead of its subject and bodies; its Message-ID and Date fixed here, once."""
    return {"message_id": new_message_id(sender, kind), "kind": kind, "region_code": None,
            "sender": sender, "recipients": recipients(to), "subject": "", "body_text": "",
            "body_html": "", "attachments": None, "context": context, "created_at": now,
            "status": QUEUED, "attempts": 0, "next_attempt_at": now}


# Columns that are usually the same for every message of a batch (converted once, not per row)
_SHARED = ("kind", "region_code", "sender", "subject", "body_text", "body_html", "attachments",
           "context", "created_at", "status", "attempts", "next_attempt_at")


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert rows (from `message_row`) in the caller's transaction; returns their Message-IDs."""
    if rows:
        first = rows[0]
        shared = {k: first[k] for k in _SHARED if all(r[k] == first[k] for r in rows)}
        insert_rows(conn, outbox, rows, shared)
    return [r["message_id"] for r in rows]


def claim(conn: Connection, now: datetime, owner: str, limit: int, lease_s: float
          ) -> list[dict[str, Any]]:
    """Lease up to `limit` due messages to `owner`; disjoint between concurrent relays.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so two relays never wait on or take the same rows;
    SQLite: the transaction is exclusive anyway. A relay killed mid-batch leaves leases that
    expire, after which another relay takes the messages again (with the same Message-ID).
    """
    due = and_(outbox.c.status == QUEUED, outbox.c.next_attempt_at <= now,
               or_(outbox.c.lease_until.is_(None), outbox.c.lease_until <= now))
    q = select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = list(conn.execute(q).scalars())
    if not ids:
        return []
    conn.execute(update(outbox).where(outbox.c.id.in_(ids))
                 .values(lease_until=now + timedelta(seconds=lease_s), lease_owner=owner))
    rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
    return [dict(r._mapping) for r in rows]


# A message this relay holds: `row_id` and `owner` given at execution. The relay's hot
# statements are built once from it: a relay marks every message in its own transaction, and
# building an UPDATE per message cost as much CPU as executing it.
_MINE = and_(outbox.c.id == bindparam("row_id"), outbox.c.lease_owner == bindparam("owner"),
             outbox.c.status == QUEUED)


def set_subject(conn: Connection, row_id: int, owner: str, subject: str) -> None:
    """The subject of a letter rendered at delivery, kept for `outbox list`."""
    conn.execute(update(outbox).where(_MINE).values(subject=subject),
                 {"row_id": row_id, "owner": owner})


_SENT = {"status": SENT, "sent_at": bindparam("now"), "attempts": outbox.c.attempts + 1,
         "lease_until": None, "last_error": bindparam("error")}
_MARK_SENT = update(outbox).where(_MINE).values(_SENT)
_MARK_SENT_WITH_SUBJECT = update(outbox).where(_MINE).values(
    {**_SENT, "subject": bindparam("new_subject")})
_BOUNCES_CLEARED = delete(bounces).where(bounces.c.email.in_(bindparam("emails",
                                                                      expanding=True)))


def mark_sent(conn: Connection, row_id: int, owner: str, now: datetime,
              refused: dict[str, str] | None = None,
              recipients: dict[str, Any] | None = None, subject: str | None = None) -> None:
    """Accepted by the server: sent. Addresses it refused for good become broken contacts.

    `recipients`: the row's stored `recipients`, if the caller has them (saves a query);
    `subject`: a letter rendered at delivery, its subject (kept for `outbox list`).
    """
    error = "; ".join(f"{a}: {e}" for a, e in (refused or {}).items()) or None
    params = {"row_id": row_id, "owner": owner, "now": now, "error": error}
    if subject is None:
        conn.execute(_MARK_SENT, params)
    else:
        conn.execute(_MARK_SENT_WITH_SUBJECT, {**params, "new_subject": subject})
    if recipients is None:
        recipients = conn.execute(select(outbox.c.recipients)
                                  .where(outbox.c.id == row_id)).scalar_one()
    delivered = [a for _, a in [*recipients["to"], *recipients.get("cc", [])]
                 if a not in (refused or {})]
    if delivered:  # mail got through: the contact works again
        conn.execute(_BOUNCES_CLEARED, {"emails": delivered})
    record_bounces(conn, refused or {}, row_id, now)


def mark_deferred(conn: Connection, row_id: int, owner: str, now: datetime, error: str,
                  attempts_before: int) -> datetime | None:
    """A temporary failure: retry later with exponential backoff and jitter (None: gave up)."""
    attempts = attempts_before + 1
    if attempts >= MAX_ATTEMPTS:
        mark_failed(conn, row_id, owner, now, f"gave up after {attempts} temporary failures; "
                    f"last: {error}", {}, attempts_before)
        return None
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
    when = now + timedelta(seconds=delay / 2 + _jitter.uniform(0, delay / 2))
    conn.execute(update(outbox).where(_MINE).values(
        attempts=attempts, next_attempt_at=when, lease_until=None, lease_owner=None,
        last_error=error), {"row_id": row_id, "owner": owner})
    return when


def mark_failed(conn: Connection, row_id: int, owner: str, now: datetime, error: str,
                refused: dict[str, str], attempts_before: int) -> None:
    """A permanent failure: `failed` with the server's answer, never retried by itself."""
    conn.execute(update(outbox).where(_MINE).values(
        status=FAILED, attempts=attempts_before + 1, lease_until=None, last_error=error),
        {"row_id": row_id, "owner": owner})
    record_bounces(conn, refused, row_id, now)


def release(conn: Connection, ids: Iterable[int], owner: str) -> None:
    """Give back messages claimed but not attempted (shutdown, or the server went away)."""
    ids = list(ids)
    if ids:
        conn.execute(update(outbox).where(outbox.c.id.in_(ids), outbox.c.lease_owner == owner,
                                          outbox.c.status == QUEUED)
                     .values(lease_until=None, lease_owner=None))


def record_bounces(conn: Connection, refused: dict[str, str], row_id: int, now: datetime) -> None:
    for addr, error in refused.items():
        conn.execute(delete(bounces).where(bounces.c.email == addr))
        conn.execute(insert(bounces).values(email=addr, at=now, error=error, outbox_id=row_id))


def listing(conn: Connection, status: str | None = None, limit: int | None = None,
            subject_of: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Messages for `outbox list`, newest first: id, to, subject, status, attempts, ...

    A letter rendered at delivery and not sent yet has no subject stored: `subject_of` gets
    its context and renders one (`deferred.subject_of`; without it, the subject is empty)."""
    q = select(outbox.c.id, outbox.c.message_id, outbox.c.kind, outbox.c.recipients,
               outbox.c.subject, outbox.c.context, outbox.c.status, outbox.c.attempts,
               outbox.c.created_at, outbox.c.next_attempt_at, outbox.c.sent_at, outbox.c.last_error
               ).order_by(outbox.c.id.desc())
    if status:
        q = q.where(outbox.c.status == status)
    if limit:
        q = q.limit(limit)
    out = []
    for r in conn.execute(q):
        d = dict(r._mapping)
        d["to"] = [a for _, a in d.pop("recipients")["to"]]
        context = d.pop("context")
        if not d["subject"] and context is not None and subject_of is not None:
            d["subject"] = subject_of(context)
        out.append(d)
    return out


def counts(conn: Connection) -> dict[str, int]:
    q = select(outbox.c.status, func.count()).group_by(outbox.c.status)
    by = {status: n for status, n in conn.execute(q)}
    return {s: by.get(s, 0) for s in (QUEUED, SENT, FAILED)}

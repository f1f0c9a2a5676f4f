"""The outbox: queue rendered messages in the caller's transaction; claim, mark, list them."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    union,
    update,
)

from notifications.message import new_message_id, recipients
from notifications.render import Rendered
from storage.models import assignments, municipalities, regions, schools
from storage.outbox import FAILED, QUEUED, SENT, bounces, outbox

BACKOFF_BASE_S = 60.0
BACKOFF_CAP_S = 3600.0
MAX_ATTEMPTS = 12  # about half a day of temporary failures, then the message is failed
_jitter = random.Random()


def message_row(rendered: Rendered, to: Sequence[tuple[str | None, str]], *, sender: str,
                now: datetime, region_code: str | None = None) -> dict[str, Any]:
    """The outbox row for a rendered letter; its Message-ID is fixed here, once."""
    files = [{"filename": a.filename, "mime": a.mime, "text": a.text}
             for a in rendered.attachments]
    return {"message_id": new_message_id(sender, rendered.name), "kind": rendered.name,
            "region_code": region_code, "sender": sender, "recipients": recipients(to),
            "subject": rendered.subject, "body_text": rendered.text, "body_html": rendered.html,
            "attachments": {"files": files} if files else None, "created_at": now,
            "status": QUEUED, "attempts": 0, "next_attempt_at": now}


# Columns that are usually the same for every message of a batch (converted once, not per row)
_SHARED = ("kind", "region_code", "sender", "attachments", "created_at", "status", "attempts",
           "next_attempt_at")


def enqueue(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert rows (from `message_row`) in the caller's transaction; returns their Message-IDs."""
    if rows:
        first = rows[0]
        shared = {k: first[k] for k in _SHARED if all(r[k] == first[k] for r in rows)}
        insert_rows(conn, outbox, rows, shared)
    return [r["message_id"] for r in rows]


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                shared: Mapping[str, Any] | None = None, *, chunk: int = 20_000) -> None:
    """INSERT `rows` (same keys each) plus the `shared` values with one executemany per chunk.

    The statement is compiled by Core for the connection's dialect and every value goes
    through its column's type, as `conn.execute(insert(table), rows)` would do; but the
    shared values are converted once, and rows reach the driver as plain tuples: Core's own
    per-row parameter handling cost more than SQLite's insert itself (128k reminder keys:
    1.3 s against 0.36 s).
    """
    if not rows:
        return
    shared = dict(shared or {})
    names = [n for n in rows[0] if n not in shared] + list(shared)
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=names)
    bind_of = {bp.key: name for name, bp in compiled.binds.items()}
    column_of = {name: key for key, name in bind_of.items()}
    order = ([column_of[b] for b in compiled.positiontup or ()] if compiled.positional
             else names)
    procs: dict[str, Any] = {n: table.c[n].type.dialect_impl(dialect).bind_processor(dialect)
                             for n in names}
    fixed = {n: procs[n](v) if procs[n] else v for n, v in shared.items()}
    template = [fixed.get(n) for n in order]
    plain = [(i, n) for i, n in enumerate(order) if n not in fixed and procs[n] is None]
    converted = [(i, n, procs[n]) for i, n in enumerate(order)
                 if n not in fixed and procs[n] is not None]
    sql = str(compiled)
    for start in range(0, len(rows), chunk):
        params: list[Any] = []
        for r in rows[start:start + chunk]:
            values = template.copy()
            for i, n in plain:
                values[i] = r[n]
            for i, n, p in converted:
                values[i] = p(r[n])
            params.append(tuple(values) if compiled.positional
                          else {bind_of[n]: v for n, v in zip(order, values, strict=True)})
        conn.exec_driver_sql(sql, params)


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


def _mine(row_id: int, owner: str) -> Any:
    return and_(outbox.c.id == row_id, outbox.c.lease_owner == owner, outbox.c.status == QUEUED)


def mark_sent(conn: Connection, row_id: int, owner: str, now: datetime,
              refused: dict[str, str] | None = None,
              recipients: dict[str, Any] | None = None) -> None:
    """Accepted by the server: sent. Addresses it refused for good become broken contacts.

    `recipients`: the row's stored `recipients`, if the caller has them (saves a query).
    """
    conn.execute(update(outbox).where(_mine(row_id, owner)).values(
        status=SENT, sent_at=now, attempts=outbox.c.attempts + 1, lease_until=None,
        last_error="; ".join(f"{a}: {e}" for a, e in (refused or {}).items()) or None))
    if recipients is None:
        recipients = conn.execute(select(outbox.c.recipients)
                                  .where(outbox.c.id == row_id)).scalar_one()
    delivered = [a for _, a in recipients["to"] if a not in (refused or {})]
    if delivered:  # mail got through: the contact works again
        conn.execute(delete(bounces).where(bounces.c.email.in_(delivered)))
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
    conn.execute(update(outbox).where(_mine(row_id, owner)).values(
        attempts=attempts, next_attempt_at=when, lease_until=None, lease_owner=None,
        last_error=error))
    return when


def mark_failed(conn: Connection, row_id: int, owner: str, now: datetime, error: str,
                refused: dict[str, str], attempts_before: int) -> None:
    """A permanent failure: `failed` with the server's answer, never retried by itself."""
    conn.execute(update(outbox).where(_mine(row_id, owner)).values(
        status=FAILED, attempts=attempts_before + 1, lease_until=None, last_error=error))
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


def listing(conn: Connection, status: str | None = None, limit: int | None = None
            ) -> list[dict[str, Any]]:
    """Messages for `outbox list`, newest first: id, to, subject, status, attempts, ..."""
    q = select(outbox.c.id, outbox.c.message_id, outbox.c.kind, outbox.c.recipients,
               outbox.c.subject, outbox.c.status, outbox.c.attempts, outbox.c.created_at,
               outbox.c.next_attempt_at, outbox.c.sent_at, outbox.c.last_error
               ).order_by(outbox.c.id.desc())
    if status:
        q = q.where(outbox.c.status == status)
    if limit:
        q = q.limit(limit)
    out = []
    for r in conn.execute(q):
        d = dict(r._mapping)
        d["to"] = [a for _, a in d.pop("recipients")["to"]]
        out.append(d)
    return out


def counts(conn: Connection) -> dict[str, int]:
    q = select(outbox.c.status, func.count()).group_by(outbox.c.status)
    by = {status: n for status, n in conn.execute(q)}
    return {s: by.get(s, 0) for s in (QUEUED, SENT, FAILED)}

"""Web sign-in: single-use e-mail links, sessions and the log of link requests (rate limits).

Only SHA-256 hashes of the link and session secrets are stored. A link is used by a conditional
UPDATE (`used_at IS NULL AND expires_at > now`), and a session is ended the same way, so two
requests racing for one link get one session between them, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)

from storage.models import metadata, optional, required
from storage.tokens import digest  # the one hash of a secret: tokens, links, sessions
from storage.types import UtcDateTime

signin_links = Table(
    "signin_links", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("token_hash", String(64), unique=True),
    required("email", String(254), ForeignKey("people.email"), index=True),
    required("created_at", UtcDateTime),
    required("expires_at", UtcDateTime),
    optional("used_at", UtcDateTime),
)

sessions = Table(
    "web_sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("token_hash", String(64), unique=True),
    required("email", String(254), ForeignKey("people.email"), index=True),
    required("csrf", String(64)),  # the synchronizer token of the session's forms
    required("created_at", UtcDateTime),
    required("expires_at", UtcDateTime),
    optional("ended_at", UtcDateTime),
)

# Every request for a link, known address or not: what the rate limits count.
link_requests = Table(
    "signin_requests", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("at", UtcDateTime, index=True),
    required("email", String(254), index=True),
    required("client", String(64), index=True),
)


def log_request(conn: Connection, email: str, client: str, now: datetime) -> None:
    conn.execute(insert(link_requests).values(at=now, email=email, client=client[:64]))


def recent_requests(conn: Connection, since: datetime, email: str, client: str
                    ) -> tuple[int, int]:
    """How many link requests since `since`: for this address, and from this client."""
    def count(column: Any, value: str) -> int:
        return int(conn.execute(select(func.count()).select_from(link_requests).where(
            column == value, link_requests.c.at > since)).scalar_one())
    return count(link_requests.c.email, email), count(link_requests.c.client, client[:64])


def insert_link(conn: Connection, secret: str, email: str, now: datetime,
                expires_at: datetime) -> None:
    conn.execute(insert(signin_links).values(token_hash=digest(secret), email=email,
                                             created_at=now, expires_at=expires_at))


def use_link(conn: Connection, secret: str, now: datetime) -> str | None:
    """Mark the link used and return its e-mail; None if unknown, used or expired.

    The UPDATE is conditional, so of two racing requests only one sees a row changed."""
    h = digest(secret)
    changed = conn.execute(update(signin_links).where(
        signin_links.c.token_hash == h, signin_links.c.used_at.is_(None),
        signin_links.c.expires_at > now).values(used_at=now)).rowcount
    if changed != 1:
        return None
    return conn.execute(select(signin_links.c.email)
                        .where(signin_links.c.token_hash == h)).scalar_one()


def insert_session(conn: Connection, secret: str, email: str, csrf: str, now: datetime,
                   expires_at: datetime) -> None:
    conn.execute(insert(sessions).values(token_hash=digest(secret), email=email, csrf=csrf,
                                         created_at=now, expires_at=expires_at))


def session(conn: Connection, secret: str, now: datetime) -> dict[str, Any] | None:
    """The live session of this secret (email, csrf, expires_at), or None."""
    row = conn.execute(select(sessions.c.email, sessions.c.csrf, sessions.c.expires_at).where(
        sessions.c.token_hash == digest(secret), sessions.c.ended_at.is_(None),
        sessions.c.expires_at > now)).first()
    return dict(row._mapping) if row else None


def end_session(conn: Connection, secret: str, now: datetime) -> bool:
    return conn.execute(update(sessions).where(
        sessions.c.token_hash == digest(secret), sessions.c.ended_at.is_(None))
        .values(ended_at=now)).rowcount == 1


def prune(conn: Connection, before: datetime) -> None:
    """Forget links, sessions and requests that ended or expired before `before`."""
    conn.execute(delete(signin_links).where(signin_links.c.expires_at < before))
    conn.execute(delete(sessions).where(sessions.c.expires_at < before))
    conn.execute(delete(link_requests).where(link_requests.c.at < before))

"""Sign-in by e-mail link and browser sessions: the services behind /signin and /signout.

A person asks for a link with their e-mail address; a known person gets a single-use link by
mail (through the outbox), an unknown address gets nothing, and the answer is the same for
both. The link opens a session. Links, sessions and requests live in the database (hashes only),
so that several `serve` processes share them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from notifications.addresses import BadAddress, normalize
from notifications.links import signin_link_url
from notifications.signin import queue_signin_letter
from storage import repo, sessions
from storage.models import regions
from workflow.errors import WorkflowError
from workflow.i18n import _

MOSCOW = "Europe/Moscow"
WINDOW = timedelta(hours=1)  # the rate limits count the link requests of the last hour
KEEP = timedelta(days=1)  # links, sessions and requests expired longer ago are deleted


class RateLimited(WorkflowError):
    """Too many link requests for this address or from this client (HTTP 429)."""


@dataclass(frozen=True)
class Session:
    """A live browser session: whose it is and the token its forms must carry."""

    email: str
    csrf: str
    expires_at: datetime


def request_link(services: Any, email: str, client: str, now: datetime) -> bool:
    """Send a sign-in link to `email` if it is a known person; True if a letter was queued.

    RateLimited beyond `web.links_per_address` or `web.links_per_client` requests an hour,
    known address or not (what the page answers must not tell the two apart)."""
    web = services.config.web
    try:
        address = normalize(email)
    except BadAddress:
        address = email.strip().lower()[:254]
    with services.db.write() as conn:
        per_address, per_client = sessions.recent_requests(conn, now - WINDOW, address, client)
        if per_address >= web.links_per_address or per_client >= web.links_per_client:
            raise RateLimited(_("too many sign-in link requests; try again in an hour"))
        sessions.log_request(conn, address, client, now)
        sessions.prune(conn, now - KEEP)
        person = repo.person(conn, address)
        if person is None:
            return False
        secret = secrets.token_urlsafe(32)
        expires = now + timedelta(minutes=web.link_minutes)
        sessions.insert_link(conn, secret, person["email"], now, expires)
        queue_signin_letter(conn, services.config.mail, now, email=person["email"],
                            name=person["name"],
                            url=signin_link_url(services.config.base_url, secret),
                            expires_at=expires, timezone=timezone_of(conn, person["email"]))
        return True


def timezone_of(conn: Connection, email: str) -> str:
    """A person's local time zone: their first scope's region's, else Moscow time."""
    for grant in repo.grants(conn, email):
        target = repo.scope_target(conn, grant.scope) if grant.scope else None
        if target is not None:
            tz = conn.execute(select(regions.c.timezone)
                              .where(regions.c.code == target.region)).scalar()
            return str(tz or MOSCOW)
    return MOSCOW


def redeem_link(services: Any, secret: str, now: datetime) -> tuple[str, Session] | None:
    """Use a link (once): a new session's secret and the session; None if the link is
    unknown, used or expired."""
    if not secret or len(secret) > 200:
        return None
    with services.db.write() as conn:
        email = sessions.use_link(conn, secret, now)
        if email is None:
            return None
        return _open(services, conn, email, now)


def open_session(services: Any, email: str, now: datetime) -> tuple[str, Session]:
    """A session for a person already authenticated otherwise (an API token)."""
    with services.db.write() as conn:
        return _open(services, conn, email, now)


def _open(services: Any, conn: Connection, email: str, now: datetime) -> tuple[str, Session]:
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(hours=services.config.web.session_hours)
    sessions.insert_session(conn, secret, email, csrf, now, expires)
    return secret, Session(email, csrf, expires)


def session_of(conn: Connection, secret: str | None, now: datetime) -> Session | None:
    """The live session of a cookie's secret, or None (unknown, ended or expired)."""
    if not secret or len(secret) > 200:
        return None
    row = sessions.session(conn, secret, now)
    return Session(row["email"], row["csrf"], row["expires_at"]) if row else None


def sign_out(services: Any, secret: str | None, now: datetime) -> bool:
    """End the session server-side: its cookie no longer works anywhere."""
    if not secret or len(secret) > 200:
        return False
    with services.db.write() as conn:
        return sessions.end_session(conn, secret, now)


__all__ = ["RateLimited", "Session", "open_session", "redeem_link", "request_link",
           "session_of", "sign_out", "timezone_of"]

"""Who is looking: a person's token, their grants, and what of the rollout they may see."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from states import Grant, Target, may_read, may_read_history, sees_everything
from storage import NewEvent, history, repo, tokens
from workflow.errors import InvalidInput
from workflow.i18n import N_

SYSTEM = "system"


@dataclass(frozen=True)
class Viewer:
    """A signed-in person (or the static snapshot), with the grants that scope what they see."""

    email: str
    name: str
    grants: tuple[Grant, ...]
    contacts: bool = True  # may see e-mails and phones of the people inside their scope
    csrf: str | None = None  # a browser session's form token; None: read-only (API token)

    @property
    def sees_all(self) -> bool:
        return sees_everything(list(self.grants))

    @property
    def reads_history(self) -> bool:
        return may_read_history(list(self.grants))

    def may_see(self, target: Target | None) -> bool:
        return target is not None and may_read(list(self.grants), target)

    def scopes(self) -> list[tuple[str, str]]:
        """The (role, scope code) pairs of the scoped grants, for the home page's links."""
        return [(g.role, g.scope) for g in self.grants if g.scope]


# The static snapshot is mailed around: it sees every region but nobody's contacts. Its pages
# name it in their header («Снимок на …») and never show this name; it is a catalogue id
# (`gettext(SNAPSHOT.name)`) for whatever shows it one day, not a Russian literal.
SNAPSHOT = Viewer("snapshot", N_("the snapshot"), (Grant("program_manager"),), contacts=False)


def create_token(services: Any, email: str, now: datetime,
                 days: int = tokens.TOKEN_DAYS) -> str:
    """A new token for `email` (replacing any previous one), valid `days`; stored hashed."""
    email = email.strip().lower()
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with services.db.write() as conn:
        if repo.person(conn, email) is None:
            raise InvalidInput(f"--email {email!r}: no such person (import people first)")
        replaced = tokens.delete_tokens(conn, email)
        expires = tokens.insert_token(conn, key_id, email, secret, now,
                                      now + timedelta(days=days))
        history.append(conn, [NewEvent(
            at=now, event="TokenCreated", actor=SYSTEM, trigger="token create",
            reason=f"access token {key_id} for {email}",
            data={"email": email, "key_id": key_id, "replaced": replaced,
                  "expires_at": expires.isoformat()})])
    return f"{key_id}.{secret}"


def revoke_tokens(services: Any, email: str, now: datetime) -> int:
    """Remove the person's tokens; returns how many were removed (0 is not an error)."""
    email = email.strip().lower()
    with services.db.write() as conn:
        if repo.person(conn, email) is None:
            raise InvalidInput(f"--email {email!r}: no such person")
        removed = tokens.delete_tokens(conn, email)
        if removed:
            history.append(conn, [NewEvent(
                at=now, event="TokenRevoked", actor=SYSTEM, trigger="token revoke",
                reason=f"access token(s) {', '.join(removed)} of {email}",
                data={"email": email, "key_ids": removed})])
    return len(removed)


def authenticate(conn: Connection, token: str | None, now: datetime) -> Viewer | None:
    """The person a token belongs to, or None for a missing, unknown, revoked or expired one."""
    if not token:
        return None
    email = tokens.email_for(conn, token, now)
    return viewer_for(conn, email) if email else None


def viewer_for(conn: Connection, email: str, csrf: str | None = None) -> Viewer | None:
    """The person with this e-mail and their grants (None if nobody has it any more)."""
    person = repo.person(conn, email)
    if person is None:
        return None
    return Viewer(email, person["name"], tuple(repo.grants(conn, email)), csrf=csrf)


def shows_contact(conn: Connection, viewer: Viewer, scope: str | None,
                  cache: dict[str, bool] | None = None) -> bool:
    """May the viewer see the e-mail and phone of a person assigned on `scope`?"""
    if not viewer.contacts:
        return False
    if viewer.sees_all:
        return True
    if not scope:
        return False  # a global role's holder sits outside every scoped viewer's scope
    if cache is not None and scope in cache:
        return cache[scope]
    seen = viewer.may_see(repo.scope_target(conn, scope))
    if cache is not None:
        cache[scope] = seen
    return seen


def redact_people(conn: Connection, viewer: Viewer, people: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    """People with the e-mail and phone removed where they sit outside the viewer's scope."""
    cache: dict[str, bool] = {}
    out = []
    for p in people:
        p = dict(p)
        if not shows_contact(conn, viewer, p.get("scope"), cache):
            for key in ("email", "phone"):
                if key in p:
                    p[key] = None
        out.append(p)
    return out

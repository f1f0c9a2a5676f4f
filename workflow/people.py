"""Removing a person's role (`rollout unassign`): checked like an appointment, on record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from states import (
    ROLES,
    SCOPE_KIND,
    Reason,
    Role,
    Target,
    Verdict,
    acting_role,
    may_assign,
)
from storage import NewEvent, history, repo
from storage.models import assignments
from workflow.errors import InvalidInput, PermissionDenied, UnknownCode, UsageError
from workflow.i18n import _, kind_name, reasons, role_title


def appointer(conn: Connection, role: str, scope: str, actor: str) -> tuple[Target, Verdict]:
    """The scope a role is given or taken on, and whether `actor` may: who may appoint to a
    role may also remove from it. UnknownCode when the scope names nothing."""
    kind = SCOPE_KIND.get(Role(role), "region")
    target = repo.target(conn, kind, scope)
    if target is None:
        raise UnknownCode(kind, scope)
    if repo.person(conn, actor) is None:
        return target, Verdict.deny(Reason("unknown_actor", f"unknown actor {actor!r}",
                                           f"неизвестный пользователь {actor}"))
    return target, may_assign(actor, repo.grants(conn, actor), role, target)


def unassign(services: Any, role: str, scope: str, email: str, actor: str, now: datetime,
             reason: str | None = None, channel: str = "cli") -> str:
    """Take `role` on `scope` away from `email`; whoever may appoint to it may remove it.

    The steps the appointment completed stay done: a school keeps step 4 while its admin is
    replaced. A refusal is recorded (ActionDenied) and raised; nothing else is written.
    """
    if role not in ROLES:
        raise UsageError(_("--role {role}: roles are {roles}", role=repr(role),
                           roles=", ".join(ROLES)))
    email, actor = email.strip().lower(), actor.strip().lower()
    why = (reason or "").strip() or None
    with services.db.write() as conn:
        target, verdict = appointer(conn, role, scope, actor)
        if verdict:
            held = conn.execute(select(assignments.c.id).where(
                assignments.c.email == email, assignments.c.role == role,
                assignments.c.scope == target.code)).scalar()
            title, where = role_title(role), kind_name(target.kind)
            if held is None:
                raise InvalidInput(_("{email} does not hold the role {role} ({kind} {code}): "
                                     "nothing to withdraw", email=email, role=title,
                                     kind=where, code=target.code))
            conn.execute(delete(assignments).where(assignments.c.id == held))
            history.append(conn, [NewEvent(
                at=now, event="PersonUnassigned", kind=target.kind, code=target.code,
                region_code=target.region, actor=actor, role=acting_role(verdict),
                reason=f"{role} {email}" + (f": {why}" if why else ""),
                trigger=f"unassign by {actor}",
                data={"role": role, "email": email, "reason_given": why,
                      "channel": channel})])
            return _("{email} no longer holds the role {role} ({kind} {code}); the steps done "
                     "stay done", email=email, role=title, kind=where, code=target.code)
    with services.db.write() as conn:
        history.append(conn, [NewEvent(
            at=now, event="ActionDenied", kind=target.kind, code=target.code,
            region_code=target.region, actor=actor, reason=verdict.message,
            trigger=f"unassign {role} {email} by {actor}",
            data={"reasons": [r.as_dict() for r in verdict.reasons], "reason_given": why,
                  "channel": channel})])
    raise PermissionDenied(reasons(verdict), verdict)


def replace(services: Any, role: str, scope: str, old_email: str, email: str, name: str,
            actor: str, now: datetime, reason: str | None = None, channel: str = "cli",
            **details: str | None) -> str:
    """Appoint `email` in place of `old_email`: checked first (the old one holds the role, the
    actor may appoint), then the appointment and the removal, each recorded as on its own."""
    if role not in ROLES:
        raise UsageError(_("--role {role}: roles are {roles}", role=repr(role),
                           roles=", ".join(ROLES)))
    old, who = old_email.strip().lower(), actor.strip().lower()
    with services.db.read() as conn:
        target, verdict = appointer(conn, role, scope, who)
        held = conn.execute(select(assignments.c.id).where(
            assignments.c.email == old, assignments.c.role == role,
            assignments.c.scope == target.code)).scalar()
    if verdict and held is None:
        raise InvalidInput(_("{email} does not hold the role {role} ({kind} {code}): "
                             "nobody to replace", email=old, role=role_title(role),
                             kind=kind_name(target.kind), code=target.code))
    if old == email.strip().lower():
        raise InvalidInput(_("{email}: the new person is the one already appointed", email=old))
    message = services.assign(role, scope, email, name, actor, now, channel=channel, **details)
    return message + "; " + unassign(services, role, scope, old, actor, now, reason, channel)

"""The weekly digest for program managers and auditors: progress per step, the regions most
behind, and for auditors the history's anchor (its head, recorded), kept outside the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select

from notifications import outbox
from notifications.calendar import business_days_open, local
from notifications.directory import Directory
from notifications.links import machine_url
from notifications.policy import MOSCOW
from notifications.render import templates
from notifications.russian import quote
from notifications.settings import MailSettings
from notifications.weekly import week_changes
from states import STEPS, StepPolicy, step_by_slug
from states.graph import finished_counts
from storage import Database
from storage import anchors as anchors_mod
from storage.models import assignments, machines, open_steps, people
from storage.outbox import reminder_keys

DIGEST_STEP = "digest"  # reminder_keys row per recipient and ISO week: one digest a week
DIGEST_ACTOR = "weekly digest"
ROLES = ("program_manager", "auditor")  # who gets the digest  # who records the auditors' anchor


def digest_context(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy],
                   base_url: str = "") -> dict[str, Any]:
    """What the digest says, with links to the country page and to each lagging region's."""
    d = Directory.load(conn)
    by_statuses: Counter[str] = Counter()
    region_state: dict[str, str] = {}
    q = select(machines.c.kind, machines.c.code, machines.c.state, machines.c.statuses)
    for m in conn.execute(q):
        if m.kind == "region":
            region_state[m.code] = m.state
        else:
            by_statuses[m.statuses] += 1
    late_schools: dict[str, set[str]] = {}  # region -> schools with a step past its SLA
    q2 = select(open_steps.c.code, open_steps.c.region_code, open_steps.c.step,
                open_steps.c.since).where(open_steps.c.kind == "school")
    for o in conn.execute(q2):
        tz = d.tz("school", o.code, o.region_code)
        if business_days_open(o.since, now, tz) > policies[o.step].sla_days:
            late_schools.setdefault(o.region_code, set()).add(o.code)
    late = Counter({region: len(codes) for region, codes in late_schools.items()})
    n = sum(by_statuses.values())
    finished = finished_counts(by_statuses.items())
    steps = [{"number": s.number, "title": s.title, "done": finished[s.slug]} for s in STEPS]
    lagging = [{"code": code, "name": d.regions[code].name if code in d.regions else code,
                "late": k, "state": _state_title(region_state.get(code)),
                "url": machine_url(base_url, "region", code)}
               for code, k in late.most_common(10)]
    week = week_changes(conn, now, policies)
    week["since_date"] = local(week["since"], MOSCOW).strftime("%d.%m.%Y")
    for r in week["stalled"]:
        r["last_date"] = local(r["last"], MOSCOW).strftime("%d.%m.%Y") if r["last"] else None
    return {"date": local(now, MOSCOW).strftime("%d.%m.%Y"), "steps": steps, "lagging": lagging,
            "week": week,
            "home": base_url.rstrip("/") + "/",
            "totals": {"regions": len(d.regions), "schools": n,
                       "finished": sum(k for st, k in by_statuses.items()
                                       if set(st) <= {"D", "S"})},
            "broken": sorted(d.bounced)}


def _state_title(state: str | None) -> str:
    if state is None:
        return "нет данных о регионе"
    return ("регион выполнил все шаги" if state == "done"
            else f"регион на шаге {quote(step_by_slug(state).title)}")


def queue_digest(db: Database, now: datetime, mail: MailSettings,
                 policies: Mapping[str, StepPolicy]) -> int:
    """Queue this ISO week's digest to each program manager and auditor who has not had it;
    the count. The auditors' copy carries the history's head, recorded as an anchor: a copy of
    it in their mailboxes is what proves later that the history was not cut or rewritten."""
    year, week, _ = local(now, MOSCOW).isocalendar()
    period = f"{year}-W{week:02d}"
    with db.read() as conn:  # the figures: a read over every machine, no writer lock held
        todo = _todo(conn, period)
        if not todo:
            return 0
        ctx = digest_context(conn, now, policies, mail.base_url)
    with db.write() as conn:  # then a short write; a digest queued meanwhile is not repeated
        todo = _todo(conn, period)
        if not todo:
            return 0
        anchor = (str(anchors_mod.record(conn, now, DIGEST_ACTOR))
                  if any(role == "auditor" for _, _, role in todo) else None)
        t = templates(mail.templates_dir)
        for email, name, role in todo:
            rendered = t.render("digest", {**ctx, "person": {"name": name, "email": email},
                                           "anchor": anchor if role == "auditor" else None})
            row = outbox.message_row(rendered, [(name, email)], sender=mail.sender, now=now)
            outbox.enqueue(conn, [row])
            conn.execute(insert(reminder_keys).values(
                machine_id=0, step=DIGEST_STEP, email=email, period=period, level=0,
                message_id=row["message_id"], created_at=now))
        return len(todo)


def _todo(conn: Connection, period: str) -> list[tuple[str, str, str]]:
    """(email, name, role) of the program managers and auditors without this week's digest."""
    had = set(conn.execute(select(reminder_keys.c.email).where(
        reminder_keys.c.step == DIGEST_STEP, reminder_keys.c.period == period)).scalars())
    q = (select(assignments.c.role, people.c.email, people.c.name)
         .join(people, people.c.email == assignments.c.email)
         .where(assignments.c.role.in_(ROLES),
                or_(assignments.c.scope == "", assignments.c.scope.is_(None)))
         .order_by(assignments.c.id))
    found = conn.execute(q).all()
    return [(r.email, r.name, role) for role in ROLES for r in found
            if r.role == role and r.email not in had]

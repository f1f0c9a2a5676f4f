"""Drill-down to the person: a group's late schools by step, each with what holds it and whom
to call (name, position, phone, e-mail), contacts redacted outside the viewer's scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from states import SLUGS, STEPS, StepPolicy
from storage import repo
from storage.models import assignments, people
from web import progress
from web.access import Viewer, redact_people

PAGE = 50  # late schools listed per page
CALL_FIRST = ("school_admin", "municipal_coordinator", "regional_coordinator")
TITLES = {s.slug: f"{s.number}. {s.title}" for s in STEPS}


def people_on(conn: Connection, scopes: Iterable[str]) -> list[dict[str, Any]]:
    """Everyone holding a role on one of `scopes`, with their contacts, in appointment order."""
    wanted = sorted(set(scopes))
    if not wanted:
        return []
    q = (select(assignments.c.role, assignments.c.scope, people.c.email, people.c.name,
                people.c.position, people.c.organisation, people.c.phone)
         .join(people, people.c.email == assignments.c.email)
         .where(assignments.c.scope.in_(wanted)).order_by(assignments.c.id))
    return [dict(r._mapping) for r in conn.execute(q)]


def with_contacts(conn: Connection, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """People as `machine_status` lists them, with position, organisation and phone added."""
    emails = sorted({p["email"] for p in listed})
    found = {r.email: r for r in conn.execute(
        select(people.c.email, people.c.position, people.c.organisation, people.c.phone)
        .where(people.c.email.in_(emails)))} if emails else {}
    out = []
    for p in listed:
        r = found.get(p["email"])
        out.append({**p, "position": r.position if r else None,
                    "organisation": r.organisation if r else None,
                    "phone": r.phone if r else None})
    return out


def late_schools(conn: Connection, viewer: Viewer, now: datetime,
                 policies: Mapping[str, StepPolicy], region: str, region_steps: dict[str, str],
                 municipality: str | None = None, page: int = 1) -> dict[str, Any]:
    """Every school of the group late on a school step, grouped by that step (a school late
    on two steps is listed under each), longest open first; one page of them with reasons
    and people, and the count of every step's group."""
    late = []
    for r in conn.execute(progress.open_steps_query(region, municipality)):
        if r.step in progress.SCHOOL_STEPS and progress.is_late(r.since, r.step, r.tz, now,
                                                                  policies):
            late.append({"code": r.code, "name": r.name, "municipality": r.municipality_code,
                         "step": r.step, "since": r.since, "tz": r.tz})
    late.sort(key=lambda s: (SLUGS.index(s["step"]), s["since"], s["code"]))
    counts: dict[str, int] = {}
    for s in late:
        counts[s["step"]] = counts.get(s["step"], 0) + 1
    pages = max(1, -(-len(late) // PAGE))
    page = min(max(page, 1), pages)
    shown = late[(page - 1) * PAGE: page * PAGE]
    codes = sorted({s["code"] for s in shown})
    facts = repo.school_facts(conn, region, region_steps, codes) if codes else {}
    munis = {s["municipality"] for s in shown if s["municipality"]}
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for p in redact_people(conn, viewer, people_on(conn, [*codes, *munis])):
        by_scope.setdefault(p["scope"], []).append(p)
    groups: list[dict[str, Any]] = []
    for s in shown:
        if not groups or groups[-1]["step"] != s["step"]:
            groups.append({"step": s["step"], "title": TITLES[s["step"]],
                           "total": counts[s["step"]], "schools": []})
        s["reasons"] = (progress.reasons(s["step"], facts[s["code"]], policies[s["step"]])
                        if s["code"] in facts else [])
        s["people"] = sorted(by_scope.get(s["code"], []) + by_scope.get(s["municipality"], []),
                             key=_call_order)
        s["call"] = s["people"][0] if s["people"] else None
        groups[-1]["schools"].append(s)
    return {"late_groups": groups, "late_rows": len(late), "late_page": page,
            "late_pages": pages, "late_shown": len(shown),
            "late_by_step": [{"step": slug, "title": TITLES[slug], "total": n}
                             for slug, n in counts.items()]}


def _call_order(p: dict[str, Any]) -> int:
    return CALL_FIRST.index(p["role"]) if p["role"] in CALL_FIRST else len(CALL_FIRST)

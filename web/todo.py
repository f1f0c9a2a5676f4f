""""What you must do now": the open steps a person owns, late first, and the page of one step.

The home page reads the `open_steps` table (one row per open step of each machine), so a
regional coordinator of two thousand schools gets the first page of them at once, with the
total beside. Each item carries its due date, whether it is late, what holds it (the guard's
figures, as `status` and the reminders show them) and where it is acted on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from notifications.calendar import due_date, local
from notifications.links import step_url
from states import (
    FINISHED,
    STEPS,
    Completion,
    Grant,
    StepPolicy,
    Target,
    holding,
    may_act,
    may_assign,
    may_send_letter,
    step_by_slug,
)
from storage import repo
from storage.models import municipalities, open_steps, regions, schools
from web.access import Viewer, redact_people
from web.errors import NotFound
from web.views import readable
from workflow.i18n import N_, _, kind_name, pick, role_title
from workflow.services import assigned_people, machine_status

SHOWN = 30  # items per grant on the home page; the total is always given
LETTERS = {"coordinator": N_("Letter on connecting the regional coordinator"),
           "registry": N_("Request to support to enter the schools' data")}


def owned(role: str) -> list[tuple[str, str]]:
    """(machine kind, step) pairs a role owns: the steps it is reminded of."""
    return [(s.level, s.slug) for s in STEPS if role in s.owners]


def home(conn: Connection, viewer: Viewer, now: datetime,
         policies: Mapping[str, StepPolicy]) -> dict[str, Any]:
    """Per grant: its scope and the open steps it owns there, late ones first."""
    groups = []
    for grant in viewer.grants:
        scope = repo.scope_target(conn, grant.scope) if grant.scope else None
        if grant.scope and scope is None:
            continue
        items, total = _open_items(conn, grant, scope, now, policies)
        groups.append({"role": role_title(grant.role), "scope": scope,
                       "scope_name": _name(conn, scope) if scope else _("the whole country"),
                       "scope_url": _scope_url(scope), "entries": items, "total": total,
                       "late": sum(1 for i in items if i["late"])})
    return {"groups": groups}


def _open_items(conn: Connection, grant: Grant, scope: Target | None, now: datetime,
                policies: Mapping[str, StepPolicy]) -> tuple[list[dict[str, Any]], int]:
    pairs = owned(grant.role)
    if not pairs:
        return [], 0
    tz = func.coalesce(schools.c.timezone, municipalities.c.timezone, regions.c.timezone)
    name = func.coalesce(schools.c.name, regions.c.name)
    q = (select(open_steps.c.kind, open_steps.c.code, open_steps.c.step, open_steps.c.since,
                open_steps.c.region_code, name.label("name"), tz.label("tz"))
         .join(regions, regions.c.code == open_steps.c.region_code)
         .outerjoin(schools, (open_steps.c.kind == "school")
                    & (schools.c.code == open_steps.c.code))
         .outerjoin(municipalities, municipalities.c.code == schools.c.municipality_code))
    conds = [(open_steps.c.kind == kind) & (open_steps.c.step == step) for kind, step in pairs]
    cond = conds[0]
    for c in conds[1:]:
        cond = cond | c
    q = q.where(cond)
    if scope is not None:
        if scope.kind == "region":
            q = q.where(open_steps.c.region_code == scope.code)
        elif scope.kind == "municipality":
            q = q.where(schools.c.municipality_code == scope.code)
        else:
            q = q.where(open_steps.c.kind == "school", open_steps.c.code == scope.code)
    total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    # the longest open first: with one SLA per step that puts the late ones on top
    rows = conn.execute(q.order_by(open_steps.c.since, open_steps.c.code).limit(SHOWN)).all()
    facts = _facts(conn, rows)
    items = []
    for r in rows:
        step, policy = step_by_slug(r.step), policies[r.step]
        tz_name = r.tz or "Europe/Moscow"
        due = due_date(local(r.since, tz_name).date(), policy.sla_days)
        f = facts.get((r.kind, r.code))
        items.append({
            "kind": r.kind, "code": r.code, "name": r.name, "step": r.step,
            "number": step.number, "title": step.title, "since": r.since, "due": due,
            "late": local(now, tz_name).date() > due, "timezone": tz_name,
            "holding": [pick(h.en, h.ru) for h in holding(step, f, policy)] if f else [],
            "url": step_url("", r.kind, r.code, r.step),
            "manual": step.completion is Completion.MANUAL and step.level == r.kind})
    items.sort(key=lambda i: (not i["late"], i["due"], i["code"]))
    return items, total


def _facts(conn: Connection, rows: Sequence[Any]) -> dict[tuple[str, str], Any]:
    """The guards' facts of the listed machines, a query or two per region."""
    out: dict[tuple[str, str], Any] = {}
    by_region: dict[str, list[str]] = {}
    for r in rows:
        if r.kind == "region":
            out[("region", r.code)] = repo.region_facts(conn, r.code)
        else:
            by_region.setdefault(r.region_code, []).append(r.code)
    for region, codes in by_region.items():
        machine = repo.get_machine(conn, "region", region)
        if machine is None:
            continue
        for code, f in repo.school_facts(conn, region, machine.statuses, codes).items():
            out[("school", code)] = f
    return out


def _name(conn: Connection, target: Target) -> str:
    table = {"region": regions, "municipality": municipalities, "school": schools}[target.kind]
    return str(conn.execute(select(table.c.name).where(table.c.code == target.code)).scalar()
               or target.code)


def _scope_url(target: Target | None) -> str | None:
    if target is None:
        return None
    from notifications.links import machine_url

    return machine_url("", target.kind, target.code)


def step_page(conn: Connection, viewer: Viewer, now: datetime,
              policies: Mapping[str, StepPolicy], kind: str, code: str, slug: str
              ) -> dict[str, Any]:
    """One step of one machine: its state, figures, and the forms of the actions on it."""
    target = readable(conn, viewer, kind, code)
    try:
        step = step_by_slug(slug)
    except KeyError:
        raise NotFound("step", slug) from None
    status = machine_status(conn, kind, code, policies)
    detail = next(d for d in status["step_details"] if d["slug"] == slug)
    opened = next((o for o in status["open"] if o["step"] == slug), None)
    grants = list(viewer.grants)
    acts = bool(may_act(viewer.email, grants, target, step))
    policy = policies[slug]
    due = late = None
    if detail["status"] == "current" and detail["since"]:
        since = datetime.fromisoformat(detail["since"])
        due = due_date(local(since, status["timezone"]).date(), policy.sla_days)
        late = local(now, status["timezone"]).date() > due
    ctx: dict[str, Any] = {
        "kind": kind, "code": code, "target": target, "step": step, "status": status,
        "detail": detail, "open": opened, "due": due, "late": late, "sla_days": policy.sla_days,
        "holding": [h["message_ru"] for h in opened["holding"]] if opened else [],
        "may_complete": acts and detail["status"] == "current" and bool(
            step.completion is Completion.MANUAL and step.level == kind
            or (opened and opened["evidence_holds"])),
        "may_skip": acts and kind == "region" and step.optional
        and detail["status"] not in FINISHED,
        "may_reopen": acts and detail["status"] in FINISHED,
        "action_url": lambda action: f"{step_url('', kind, code, slug)}/{action}",
        "page_url": step_url("", kind, code, slug), "machine_url": _scope_url(target),
        "kind_ru": kind_name(kind), "people_forms": [], "letters": [], "schools_open": [],
    }
    ctx["people_forms"] = _people_forms(conn, viewer, target, slug, status)
    if kind == "region" and slug in LETTERS and may_send_letter(viewer.email, grants, target):
        ctx["letters"] = [{"name": slug, "url": f"/regions/{code}/letters/{slug}",
                           "title": _(LETTERS[slug])}]
    if kind == "region" and step.level == "school":
        ctx["schools_open"] = _schools_open(conn, code, slug)
    return ctx


def _people_forms(conn: Connection, viewer: Viewer, target: Target, slug: str,
                  status: dict[str, Any]) -> list[dict[str, Any]]:
    """Appointment forms where the step is about appointing: municipal coordinators (step 3,
    per municipality), the school's admin (step 4)."""
    scopes: list[tuple[str, str, str]] = []  # (role, scope code, scope name)
    if slug == "municipalities" and target.kind == "region":
        rows = conn.execute(select(municipalities.c.code, municipalities.c.name)
                            .where(municipalities.c.region_code == target.code)
                            .order_by(municipalities.c.code)).all()
        scopes = [("municipal_coordinator", r.code, r.name) for r in rows]
    elif slug == "admins" and target.kind == "school":
        scopes = [("school_admin", target.code, status["name"])]
    elif slug == "coordinator" and target.kind == "region":
        scopes = [("regional_coordinator", target.code, status["name"])]
    forms = []
    for role, scope, name in scopes:
        scope_target = repo.scope_target(conn, scope)
        if scope_target is None:
            continue
        held = [p for p in assigned_people(conn, [scope]) if p["role"] == role]
        forms.append({
            "role": role, "role_title": role_title(role), "scope": scope, "name": name,
            "people": redact_people(conn, viewer, held),
            "may": bool(may_assign(viewer.email, list(viewer.grants), role, scope_target))})
    return forms


def _schools_open(conn: Connection, region: str, slug: str) -> list[dict[str, Any]]:
    q = (select(open_steps.c.code, schools.c.name)
         .join(schools, schools.c.code == open_steps.c.code)
         .where(open_steps.c.kind == "school", open_steps.c.step == slug,
                open_steps.c.region_code == region)
         .order_by(open_steps.c.since, open_steps.c.code).limit(SHOWN))
    return [{"code": r.code, "name": r.name, "url": step_url("", "school", r.code, slug)}
            for r in conn.execute(q)]

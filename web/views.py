"""What each page shows, as plain data for the templates, scoped to the viewer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from notifications.calendar import business_days_open
from notifications.weekly import week_changes
from states import FINISHED, ROLE_TITLES, STATES, STEPS, StepPolicy, Target, step_by_slug
from storage import repo
from storage.models import municipalities, schools
from web import cartogram, charts, drilldown, lateness, progress
from web.access import Viewer, redact_people
from web.errors import NotFound, OutOfScope
from web.regions_grid import COLUMNS, DISTRICTS, ROWS, district_of
from web.tables import INN, CountryQuery
from workflow.i18n import _, role_title
from workflow.report import national, regional
from workflow.services import machine_status

PAGE = 50  # schools listed per page; a group's full count is always shown beside
TITLES = {s.slug: f"{s.number}. {s.title}" for s in STEPS}


def state_title(state: str | None) -> str:
    if state == "done":
        return _("All steps done")
    return TITLES.get(state or "", _("no data"))


def readable(conn: Connection, viewer: Viewer, kind: str, code: str) -> Target:
    """The target, if it exists and the viewer may see it; NotFound or OutOfScope otherwise."""
    target = repo.target(conn, kind, code)
    if target is None and not viewer.sees_all:
        raise OutOfScope(f"{kind} {code}")  # a scoped person learns nothing about other codes
    if target is None:
        raise NotFound(kind, code)
    if not viewer.may_see(target):
        raise OutOfScope(f"{kind} {code}")
    return target


def report(conn: Connection, viewer: Viewer) -> dict[str, Any]:
    """`report --format json`, filtered to the regions the viewer may see (marked `scoped`)."""
    data = national(conn)
    if viewer.sees_all:
        return data
    rows = [r for r in data["regions"] if viewer.may_see(Target("region", r["code"], r["code"]))]
    totals = {"regions": len(rows), "schools": sum(r["schools"] for r in rows),
              "steps": {s: sum(r["steps"][s] for r in rows) for s in data["steps"]}}
    return {"steps": data["steps"], "regions": rows, "totals": totals, "scoped": True}


def country(conn: Connection, viewer: Viewer, now: datetime, policies: Mapping[str, StepPolicy],
            query: CountryQuery | None = None) -> dict[str, Any]:
    """Every region the viewer may see: state, step bars, lateness, broken contacts; the table
    filtered, searched and sorted by `query` (worst first by default), and the map."""
    query = query or CountryQuery()
    data = regions_late(conn, viewer, now, policies)
    found = schools_found(conn, viewer, query.q)
    rows = query.apply(data["regions"], {s["region"] for s in found})
    for r in rows:
        r["bars"] = charts.step_bars(r["steps"], r["schools"], _("{name}: steps", name=r["name"]))
    totals = data["totals"]
    totals["late"] = sum(r["late"] for r in data["regions"])
    totals["finished"] = sum(r["schools_finished"] for r in data["regions"])
    return {"report": data, "totals": totals, "rows": rows, "query": query, "found": found,
            "districts": DISTRICTS, "zones": sorted({r["timezone"] for r in data["regions"]}),
            "step_titles": TITLES | {"done": _("All steps done")}, "step_number": lateness.NUMBER,
            "map_by": query.by, "map_tiles": cartogram.tiles(data["regions"], query.by),
            "map_legend": cartogram.legend(query.by),
            "funnel": charts.funnel(totals["steps"], totals["schools"]),
            "week": week_changes(conn, now, policies, None if viewer.sees_all
                                 else {r["code"] for r in data["regions"]}),
            "scopes": [] if viewer.sees_all else scope_links(conn, viewer)}


def week_of(conn: Connection, viewer: Viewer, now: datetime,
            policies: Mapping[str, StepPolicy]) -> dict[str, Any] | None:
    """What changed this week in the regions of a person's appointments (None: no region)."""
    found = (repo.scope_target(conn, scope) for _, scope in viewer.scopes())
    regions_of = {t.region for t in found if t is not None}
    return week_changes(conn, now, policies, regions_of) if regions_of else None


def regions_late(conn: Connection, viewer: Viewer, now: datetime,
                 policies: Mapping[str, StepPolicy]) -> dict[str, Any]:
    """The viewer's report, each region with its lateness, district and share of steps done."""
    data = report(conn, viewer)
    late = lateness.by_region(conn, now, policies, {r["code"]: r["schools"]
                                                    for r in data["regions"]})
    broken = progress.broken_contacts(conn)
    for r in data["regions"]:
        r["lateness"] = late.get(r["code"]) or lateness.RegionLate(schools=r["schools"])
        r["late"] = r["lateness"].late
        r["broken_contacts"] = broken.get(r["code"], 0)
        r["state_title"] = state_title(r["state"])
        r["region_late"] = bool(r["lateness"].step_days)
        r["district"] = district_of(r["code"])
        r["progress"] = charts.pct(sum(r["steps"].values()), r["schools"] * len(STEPS))
    return data


def map_data(conn: Connection, viewer: Viewer, now: datetime,
             policies: Mapping[str, StepPolicy], by: cartogram.By) -> dict[str, Any]:
    """GET /api/map: the tiles of the regions the viewer may see, coloured `by`."""
    data = regions_late(conn, viewer, now, policies)
    return {"by": by.value, "rows": ROWS, "columns": COLUMNS,
            "districts": [{"code": k, "name": v} for k, v in DISTRICTS.items()],
            "legend": cartogram.legend(by), "tiles": cartogram.tiles(data["regions"], by)}


def schools_found(conn: Connection, viewer: Viewer, text: str) -> list[dict[str, Any]]:
    """Schools the viewer may see whose ИНН or code is `text` (a search of the country page)."""
    text = text.strip()
    if not text or len(text) > 32:
        return []
    where = schools.c.code == text
    if INN.fullmatch(text):
        where = where | (schools.c.inn == text)
    q = (select(schools.c.code, schools.c.name, schools.c.region_code, schools.c.municipality_code)
         .where(where).order_by(schools.c.code).limit(20))
    return [{"code": r.code, "name": r.name, "region": r.region_code}
            for r in conn.execute(q)
            if viewer.may_see(Target("school", r.code, r.region_code, r.municipality_code))]


def scope_links(conn: Connection, viewer: Viewer) -> list[dict[str, str]]:
    """A scoped person's own regions, municipalities and schools, for the home page."""
    out = []
    for role, code in viewer.scopes():
        target = repo.scope_target(conn, code)
        if target is not None:
            out.append({"role": role_title(role), "kind": target.kind, "code": code})
    return out


def group(conn: Connection, viewer: Viewer, now: datetime, policies: Mapping[str, StepPolicy],
          kind: str, code: str, page: int = 1, late_page: int = 1,
          every_school: bool = False) -> dict[str, Any]:
    """A region or a municipality: funnel, municipalities, the schools holding its step back
    (a page of them, or all with `every_school`, for an export), and its late schools."""
    target = readable(conn, viewer, kind, code)
    region_code = target.region
    muni = code if kind == "municipality" else None
    status = machine_status(conn, "region", region_code, policies)
    rep = regional(conn, region_code)
    open_rows = progress.open_schools(conn, now, policies, region_code, muni)
    late_per_muni: dict[str | None, int] = {}
    for s in open_rows:
        late_per_muni[s["municipality"]] = late_per_muni.get(s["municipality"], 0) + s["late"]
    if muni is None:
        summary, name = rep["region"], rep["region"]["name"]
        munis = rep["municipalities"]
    else:
        summary = next((m for m in rep["municipalities"] if m["code"] == muni),
                       {"code": muni, "schools": 0, "steps": {s.slug: 0 for s in STEPS}})
        name = conn.execute(select(municipalities.c.name)
                            .where(municipalities.c.code == muni)).scalar_one()
        munis = []
    for m in munis:
        m["late"] = late_per_muni.get(m["code"], 0)
        m["bars"] = charts.step_bars(m["steps"], m["schools"], _("{name}: steps", name=m["name"]))
    region_state = status["state"]
    region_reasons: list[str] = []
    region_late_days = 0
    if region_state != "done" and step_by_slug(region_state).level == "region":
        step, blocking = region_state, []
        region_reasons = [b["message_ru"] for b in status["blocking"]]
        since = next((o["since"] for o in status["open"] if o["step"] == region_state), None)
        region_late_days = progress.late_days(since, now, status["timezone"],
                                              policies[region_state].sla_days)
    else:
        # the steps the group waits for: the region's open aggregate steps, or for a
        # municipality (or a finished region) the earliest step its schools have open
        watched = [o["step"] for o in status.get("open", []) if muni is None]
        if not watched and open_rows:
            watched = [min((o for s in open_rows for o in s["open"]), key=STATES.index)]
        step = watched[0] if watched else "done"
        blocking = [s for s in open_rows
                    if any(s["steps"][w] not in FINISHED for w in watched)]
    if region_late_days:  # the region holds every school of every municipality
        for m in munis:
            m["late"] = m["schools"]
    pages = max(1, -(-len(blocking) // PAGE))
    page = min(max(page, 1), pages)
    shown = blocking if every_school else blocking[(page - 1) * PAGE: page * PAGE]
    facts = repo.school_facts(conn, region_code, status["steps"], [s["code"] for s in shown])
    for s in shown:
        s["state_title"] = ", ".join(state_title(o) for o in s["open"])
        s["reasons"] = ([r for o in s["open"]
                         for r in progress.reasons(o, facts[s["code"]], policies[o])]
                        if s["code"] in facts else [])
    tz = status["timezone"]
    if every_school:  # an export reads the list only: no chart, people or late list
        line, people, late = [], [], {}
    else:
        line = progress.progress_over_time(conn, region_code, summary["schools"], tz, muni)
        people = redact_people(conn, viewer, drilldown.people_on(conn, [muni]) if muni
                               else drilldown.with_contacts(conn, status["people"]))
        late = drilldown.late_schools(conn, viewer, now, policies, region_code,
                                      status["steps"], muni, late_page)
    return {**late,
        "kind": kind, "code": code, "name": name, "region": status["region"],
        "region_state": region_state, "region_state_title": state_title(region_state),
        "region_reasons": region_reasons, "region_late_days": region_late_days,
        "schools": summary["schools"],
        "steps": summary["steps"], "step": step, "step_title": state_title(step),
        "funnel": charts.funnel(summary["steps"], summary["schools"], step),
        "municipalities": munis, "blocking": shown, "blocking_total": len(blocking),
        # a region late on its own step holds every school: all count as late (README, Lateness)
        "late_total": summary["schools"] if region_late_days else sum(s["late"] for s in open_rows),
        "page": page, "pages": pages,
        "line": charts.progress_line(line), "line_points": line[-10:], "people": people,
        "role_titles": {r.value: role_title(r.value) for r in ROLE_TITLES}, "region_tz": tz,
        "may_see_region": viewer.may_see(Target("region", region_code, region_code)),
        "region_steps": status["steps"],
    }


def school(conn: Connection, viewer: Viewer, now: datetime, policies: Mapping[str, StepPolicy],
           code: str, with_history: bool = True) -> dict[str, Any]:
    """A school: its nine steps with dates, what blocks it, its people and its history."""
    target = readable(conn, viewer, "school", code)
    status = machine_status(conn, "school", code, policies)
    state = status["state"]
    days_open = None
    late = False
    for o in status["open"]:  # each open step: how long open, late by its own SLA
        o["days_open"] = business_days_open(datetime.fromisoformat(o["since"]), now,
                                            status["timezone"]) if o["since"] else None
        o["sla_days"] = policies[o["step"]].sla_days
        # a step of the region (1–3) is late too: the school waits for it (README, Lateness)
        o["late_days"] = max(0, (o["days_open"] or 0) - o["sla_days"])
        o["late"] = o["late_days"] > 0
        o["region_step"] = o["step"] in lateness.REGION_STEPS
    if status["open"]:
        days_open = status["open"][0]["days_open"]
        late = any(o["late"] for o in status["open"])
    history = None
    if with_history and viewer.reads_history:
        from workflow.audit import machine_log

        history = machine_log(conn, "school", code)
    muni_name = None
    if target.municipality:
        muni_name = conn.execute(select(municipalities.c.name).where(
            municipalities.c.code == target.municipality)).scalar()
    return {
        "status": status, "state_title": state_title(state), "days_open": days_open,
        "late": late, "sla_days": policies[state].sla_days if state != "done" else None,
        "people": redact_people(conn, viewer, drilldown.with_contacts(conn, status["people"])),
        "role_titles": {r.value: role_title(r.value) for r in ROLE_TITLES},
        "history": history, "municipality_name": muni_name,
        "may_see_region": viewer.may_see(Target("region", target.region, target.region)),
        "may_see_municipality": bool(target.municipality) and viewer.may_see(
            Target("municipality", target.municipality or "", target.region,
                   target.municipality)),
    }

"""Progress queries: per region, or per municipality and school of one region."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, literal, select

from notifications.calendar import business_days_between, local
from states import STEPS, StepPolicy
from states.graph import decode, finished_counts, status_counts
from storage import repo
from storage.models import machines, municipalities, open_steps, regions, schools
from storage.outbox import broken_contacts_by_region
from workflow.errors import UnknownCode

SLUGS = [s.slug for s in STEPS]


def late_steps(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy],
               region: str | None = None) -> dict[str, dict[str, int]]:
    """Region code -> step -> machines (the region's own for steps 1-3, its schools' for 4-9)
    whose open step is past its SLA, counted in business days where each machine is."""
    tz_school = func.coalesce(schools.c.timezone, municipalities.c.timezone, regions.c.timezone)
    school_q = (select(open_steps.c.region_code, open_steps.c.step, open_steps.c.since,
                       tz_school.label("tz"))
                .join(schools, schools.c.code == open_steps.c.code)
                .join(regions, regions.c.code == schools.c.region_code)
                .outerjoin(municipalities, municipalities.c.code == schools.c.municipality_code)
                .where(open_steps.c.kind == "school"))
    region_q = (select(open_steps.c.region_code, open_steps.c.step, open_steps.c.since,
                       regions.c.timezone.label("tz"))
                .join(regions, regions.c.code == open_steps.c.code)
                .where(open_steps.c.kind == "region"))
    if region is not None:
        school_q = school_q.where(open_steps.c.region_code == region)
        region_q = region_q.where(open_steps.c.region_code == region)
    level = {s.slug: s.level for s in STEPS}
    out: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SLUGS, 0))
    today: dict[str, date] = {}
    days: dict[tuple[date, str], int] = {}
    for kind, q in (("school", school_q), ("region", region_q)):
        for r in conn.execute(q.add_columns(literal(kind).label("kind"))):
            if level[r.step] != kind or r.step not in policies:
                continue  # a school's mirrored region step is the region's to be late with
            tz = r.tz or "Europe/Moscow"
            if tz not in today:
                today[tz] = local(now, tz).date()
            key = (local(r.since, tz).date(), tz)
            if key not in days:
                days[key] = business_days_between(key[0], today[tz])
            if days[key] > policies[r.step].sla_days:
                out[r.region_code][r.step] += 1
    return dict(out)


def national(conn: Connection, now: datetime | None = None,
             policies: Mapping[str, StepPolicy] | None = None) -> dict[str, Any]:
    """Every region (schools or not): its state and, per step, how many of its schools did it
    (and, given the moment and the SLAs, how many machines are late on each step)."""
    per_region: dict[str, list[tuple[str, int]]] = defaultdict(list)
    q = (select(machines.c.region_code, machines.c.statuses, func.count())
         .where(machines.c.kind == "school")
         .group_by(machines.c.region_code, machines.c.statuses))
    for region, statuses, n in conn.execute(q):
        per_region[region].append((statuses, n))
    region_states = dict(conn.execute(select(machines.c.code, machines.c.state)
                                      .where(machines.c.kind == "region")).all())
    n_munis: dict[str, int] = dict(conn.execute(select(municipalities.c.region_code, func.count())
                                .group_by(municipalities.c.region_code)).all())
    broken = broken_contacts_by_region(conn)
    late = late_steps(conn, now, policies) if now is not None and policies is not None else None
    rows = []
    for r in conn.execute(select(regions).order_by(regions.c.code)):
        by_statuses = per_region.get(r.code, [])
        rows.append({
            "code": r.code, "name": r.name, "timezone": r.timezone,
            "state": region_states.get(r.code), "schools": sum(n for _, n in by_statuses),
            "schools_finished": sum(n for st, n in by_statuses if set(st) <= {"D", "S"}),
            "municipalities": n_munis.get(r.code, 0),
            "steps": finished_counts(by_statuses),
            "step_statuses": status_counts(by_statuses),
            **({"late": late.get(r.code, dict.fromkeys(SLUGS, 0))} if late is not None else {}),
            "broken_contacts": broken.get(r.code, []),
        })
    totals = {"regions": len(rows), "schools": sum(r["schools"] for r in rows),
              "steps": {s: sum(r["steps"][s] for r in rows) for s in SLUGS}}
    if late is not None:
        totals["late"] = {s: sum(r["late"][s] for r in rows) for s in SLUGS}
    return {"steps": SLUGS, "regions": rows, "totals": totals}


def regional(conn: Connection, code: str) -> dict[str, Any]:
    """One region: its machine, its municipalities and its schools with their states."""
    region = conn.execute(select(regions).where(regions.c.code == code)).first()
    if region is None:
        raise UnknownCode("region", code)
    region_machine = repo.get_machine(conn, "region", code)
    muni_names = dict(conn.execute(select(municipalities.c.code, municipalities.c.name)
                                   .where(municipalities.c.region_code == code)).all())
    q = (select(schools.c.code, schools.c.name, schools.c.municipality_code, schools.c.parent_code,
                machines.c.state, machines.c.steps, machines.c.statuses)
         .join(machines, (machines.c.code == schools.c.code) & (machines.c.kind == "school"))
         .where(schools.c.region_code == code, machines.c.region_code == code)  # uses the index
         .order_by(schools.c.code))
    school_rows = []
    per_muni: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_statuses_all: dict[str, int] = defaultdict(int)
    for r in conn.execute(q):
        since = (r.steps.get(r.state) or {}).get("since") if r.state != "done" else None
        statuses = decode(r.statuses)
        school_rows.append({"code": r.code, "name": r.name, "municipality": r.municipality_code,
                            "parent": r.parent_code, "state": r.state, "since": since,
                            "open": [s for s, v in statuses.items() if v == "current"],
                            "steps": statuses})
        per_muni[r.municipality_code][r.statuses] += 1
        by_statuses_all[r.statuses] += 1
    munis = []
    for m_code in sorted(set(muni_names) | {m for m in per_muni if m}):
        counts = per_muni.get(m_code, {})
        munis.append({"code": m_code, "name": muni_names.get(m_code, ""),
                      "schools": sum(counts.values()), "steps": finished_counts(counts.items())})
    if None in per_muni:
        counts = per_muni[None]
        munis.append({"code": None, "name": "(без муниципалитета)",
                      "schools": sum(counts.values()), "steps": finished_counts(counts.items())})
    return {"steps": SLUGS,
            "region": {"code": region.code, "name": region.name, "timezone": region.timezone,
                       "broken_contacts": broken_contacts_by_region(conn).get(code, []),
                       "state": region_machine.state if region_machine else None,
                       "schools": len(school_rows),
                       "steps": finished_counts(by_statuses_all.items()),
                       "step_statuses": status_counts(by_statuses_all.items())},
            "municipalities": munis, "schools": school_rows}

"""Trends from the history: per step, how many schools had it done at the end of each day.

One grouped query over `events` answers the burn-up of the country or of a region: finished
steps (StepCompleted, StepSkipped) and reopened ones (StepReopened), counted per step and local
day. A reopen also sends the steps after it back to pending (the event's data lists them): those
that were finished are taken back too. Reopens are rare, so they are read one by one with the
previous event of their school (whose data says which steps were finished). A daily aggregate
table kept by the engine would be faster still, but it is a second copy of the history to keep
right through imports, migrations and replays; the grouped query stays under the page's budget
at national scale (benchmarks/bench_dashboard.py).

Definition migrations (StepsMigrated) are not replayed: the chart follows the steps' events.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Date, cast, func, literal_column, select

from notifications.calendar import due_date, local
from states import FINISHED, STEPS, StepPolicy
from storage.models import events, open_steps, regions, schools
from web.burnup import chart as burnup_chart

ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]*$")
OFFSET_AT = datetime(2026, 1, 1, tzinfo=UTC)  # the zones' offsets as they stand since 2014
COUNTED = ("StepCompleted", "StepSkipped", "StepReopened")
MACHINE_EVENTS = ("StepCompleted", "StepSkipped", "StepReopened", "StepsMigrated")


def _local_day(conn: Connection, tz: str) -> Any:
    """The SQL expression of an event's local date in `tz` (a fixed offset on SQLite: Russia's
    zones have kept theirs since 2014)."""
    ZoneInfo(tz)  # an unknown zone fails here, before it reaches the SQL text
    if not ZONE.match(tz):
        raise ValueError(f"time zone {tz!r}: not an IANA name")
    if conn.dialect.name == "postgresql":  # a literal: GROUP BY must see the same expression
        return cast(func.timezone(literal_column(f"'{tz}'"), events.c.at), Date)
    offset = OFFSET_AT.astimezone(ZoneInfo(tz)).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    return func.date(events.c.at, literal_column(f"'{minutes:+d} minutes'"))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily_changes(conn: Connection, tz: str, region: str | None = None
                  ) -> dict[str, dict[date, int]]:
    """step -> local day -> change in the number of schools that had the step finished."""
    day = _local_day(conn, tz).label("day")
    q = (select(events.c.step, events.c.event, day, func.count())
         .where(events.c.kind == "school", events.c.event.in_(COUNTED))
         .group_by(events.c.step, events.c.event, day))
    if region is not None:
        q = q.where(events.c.region_code == region)
    out: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for step, event, d, n in conn.execute(q):
        out[step][_day(d)] += -n if event == "StepReopened" else n
    for step, d in _sent_back(conn, tz, region):
        out[step][d] -= 1
    return out


def _sent_back(conn: Connection, tz: str, region: str | None) -> list[tuple[str, date]]:
    """(step, local day) for each finished step that a reopen sent back to pending."""
    q = (select(events.c.seq, events.c.code, events.c.at, events.c.data)
         .where(events.c.kind == "school", events.c.event == "StepReopened"))
    if region is not None:
        q = q.where(events.c.region_code == region)
    reopens = [r for r in conn.execute(q) if (r.data or {}).get("pending")]
    if not reopens:
        return []
    codes = sorted({r.code for r in reopens})
    before: dict[int, dict[str, str]] = {}  # reopen seq -> the school's statuses before it
    for i in range(0, len(codes), 500):
        last: dict[str, dict[str, str]] = {}
        for r in conn.execute(select(events.c.seq, events.c.code, events.c.data)
                              .where(events.c.kind == "school",
                                     events.c.code.in_(codes[i:i + 500]),
                                     events.c.event.in_(MACHINE_EVENTS))
                              .order_by(events.c.seq)):
            before[r.seq] = last.get(r.code, {})
            last[r.code] = (r.data or {}).get("steps") or {}
    return [(step, local(r.at, tz).date()) for r in reopens for step in r.data["pending"]
            if before.get(r.seq, {}).get(step) in FINISHED]


def burnup(conn: Connection, tz: str, today: date, n_schools: int,
           policies: Mapping[str, StepPolicy], region: str | None = None
           ) -> list[dict[str, Any]]:
    """Per step: the days and the schools done at the end of each, and the plan: from the day
    the step first opened in the group, every school done within the step's SLA.

    The first opening is the earliest of: the step's first finish, its earliest open row now,
    and the day by which each of its prerequisites had first been finished somewhere (a step
    opens when those are finished; a reopen since may have sent it back to pending)."""
    changes = daily_changes(conn, tz, region)
    q = (select(open_steps.c.step, func.min(open_steps.c.since))
         .where(open_steps.c.kind == "school").group_by(open_steps.c.step))
    if region is not None:
        q = q.where(open_steps.c.region_code == region)
    first_open = {step: local(since, tz).date() for step, since in conn.execute(q)}
    first_done = {slug: min(days) for slug, days in changes.items() if days}
    out = []
    for step in STEPS:
        per_day = changes.get(step.slug, {})
        after = policies[step.slug].after if step.slug in policies else ()
        prerequisites = ([max(first_done[p] for p in after)]
                         if after and all(p in first_done for p in after) else [])
        points, total = [], 0
        for d in sorted(per_day):
            total += per_day[d]
            points.append((d, total))
        starts = [d for d in (min(per_day, default=None), first_open.get(step.slug),
                              *prerequisites) if d]
        start = min(starts) if starts else None
        sla = policies[step.slug].sla_days if step.slug in policies else None
        due = due_date(start, sla) if start is not None and sla is not None else None
        out.append({"slug": step.slug, "number": step.number, "title": step.title,
                    "points": points, "done": total, "schools": n_schools, "start": start,
                    "due": due, "sla_days": sla, "today": today})
    return out


def school_count(conn: Connection, region: str | None = None) -> int:
    q = select(func.count()).select_from(schools)
    if region is not None:
        q = q.where(schools.c.region_code == region)
    return int(conn.execute(q).scalar_one())


def page(conn: Connection, viewer: Any, now: datetime, policies: Mapping[str, StepPolicy],
         region: str | None = None) -> dict[str, Any]:
    """The trends page of the country (program managers, auditors) or of a region."""
    from web import views
    from web.errors import OutOfScope
    from workflow.zones import zone_name

    if region is None:
        if not viewer.sees_all:
            raise OutOfScope("the country's trends")
        name, tz = None, "Europe/Moscow"
    else:
        views.readable(conn, viewer, "region", region)
        name, tz = conn.execute(select(regions.c.name, regions.c.timezone)
                                .where(regions.c.code == region)).one()
        tz = tz or "Europe/Moscow"
    n = school_count(conn, region)
    steps = burnup(conn, tz, local(now, tz).date(), n, policies, region)
    for b in steps:
        b["chart"] = burnup_chart(b, f"burnup-{b['slug']}")
    return {"region_code": region, "region_name": name, "steps": steps, "schools": n,
            "tz": tz, "zone": zone_name(tz, now)}

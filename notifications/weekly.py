"""What changed this week: steps the schools finished, schools newly late, regions that stalled.

Shared by the weekly digest and the country page. Everything is counted in SQL over the history
(`events`, finished steps) and `open_steps` (lateness), in a few grouped queries:

- steps done: StepCompleted and StepSkipped events of schools in the last seven days, per step
  (a step reopened and done again counts twice: it is work done twice);
- newly late: schools with an open school step that was within its SLA a week ago and is past
  it now (`since` between the two cutoffs of `open_cutoff`), counted in the region's time zone;
- stalled: regions started but not finished where no step (of the region or of any of its
  schools) was finished in the last STALL_DAYS business days of the region's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, func, select, union_all

from notifications.calendar import open_cutoff
from notifications.policy import MOSCOW
from states import STEPS, StepPolicy
from storage.models import events, machines, open_steps, regions

WEEK = timedelta(days=7)
STALL_DAYS = 5  # business days without a finished step: the region has stalled
FINISH_EVENTS = ("StepCompleted", "StepSkipped")
SCHOOL_STEPS = tuple(s.slug for s in STEPS if s.level == "school")


def week_changes(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy],
                 only: Collection[str] | None = None) -> dict[str, Any]:
    """The week up to `now`, for every region or for the region codes in `only`."""
    zones: dict[str, str] = {}
    names: dict[str, str] = {}
    for code, name, tz in conn.execute(select(regions.c.code, regions.c.name, regions.c.timezone)):
        if only is None or code in only:
            zones[code], names[code] = tz or MOSCOW, name
    week_ago = now - WEEK
    stall_from = {code: open_cutoff(now, tz, STALL_DAYS - 1) for code, tz in zones.items()}
    window = min([week_ago, *stall_from.values()])
    done: dict[str, int] = defaultdict(int)  # step -> schools' finishes this week
    done_by_region: dict[str, int] = defaultdict(int)
    last: dict[str, datetime] = {}  # region -> latest finish (region or school) in the window
    q = (select(events.c.region_code, events.c.kind, events.c.step, func.count(),
                func.max(events.c.at), func.sum(_after(week_ago)))
         .where(events.c.event.in_(FINISH_EVENTS), events.c.kind.in_(("region", "school")),
                events.c.at > window, events.c.at <= now)
         .group_by(events.c.region_code, events.c.kind, events.c.step))
    for region, kind, step, _n, latest, in_week in conn.execute(q):
        if region not in zones:
            continue
        if latest is not None and (region not in last or latest > last[region]):
            last[region] = latest
        if kind == "school" and in_week:
            done[step] += int(in_week)
            done_by_region[region] += int(in_week)
    late = newly_late(conn, now, policies, zones)
    started = dict(conn.execute(select(machines.c.code, machines.c.statuses)
                                .where(machines.c.kind == "region")).all())
    stalled: list[dict[str, Any]] = []
    for code in sorted(zones):
        statuses = started.get(code, "")
        begun = any(c in "DS" for c in statuses)
        finished = bool(statuses) and all(c in "DS" for c in statuses)
        if begun and not finished and (code not in last or last[code] < stall_from[code]):
            stalled.append({"code": code, "name": names[code]})
    if stalled:
        ever = dict(conn.execute(
            select(events.c.region_code, func.max(events.c.at))
            .where(events.c.region_code.in_([r["code"] for r in stalled]),
                   events.c.event.in_(FINISH_EVENTS), events.c.at <= now)
            .group_by(events.c.region_code)).all())
        for r in stalled:
            r["last"] = ever.get(r["code"])
    return {
        "since": week_ago, "until": now, "stall_days": STALL_DAYS,
        "steps": [{"number": s.number, "slug": s.slug, "title": s.title, "done": done[s.slug]}
                  for s in STEPS],
        "done_total": sum(done.values()),
        "regions": [{"code": c, "name": names[c], "done": done_by_region[c],
                     "newly_late": late.get(c, 0)} for c in sorted(zones)
                    if done_by_region[c] or late.get(c)],
        "newly_late_total": sum(late.values()),
        "stalled": stalled,
    }


def _after(moment: datetime) -> Any:
    return case((events.c.at > moment, 1), else_=0)


def newly_late(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy],
               zones: Mapping[str, str]) -> dict[str, int]:
    """Region -> schools late now on a school step that was not late a week ago."""
    by_zone: dict[str, list[str]] = defaultdict(list)
    for code, tz in zones.items():
        by_zone[tz].append(code)
    by_sla: dict[int, list[str]] = defaultdict(list)
    for slug in SCHOOL_STEPS:
        if slug in policies:
            by_sla[policies[slug].sla_days].append(slug)
    parts = [select(open_steps.c.region_code, open_steps.c.code)
             .where(open_steps.c.kind == "school", open_steps.c.step.in_(steps),
                    open_steps.c.region_code.in_(codes),
                    open_steps.c.since >= open_cutoff(now - WEEK, tz, sla),
                    open_steps.c.since < open_cutoff(now, tz, sla))
             for tz, codes in sorted(by_zone.items()) for sla, steps in sorted(by_sla.items())]
    counts: dict[str, int] = {}
    for i in range(0, len(parts), 200):  # SQLite: at most 500 SELECTs in a compound statement
        u = union_all(*parts[i:i + 200]).subquery()
        for region, n in conn.execute(select(u.c.region_code, func.count(u.c.code.distinct()))
                                      .group_by(u.c.region_code)):
            counts[region] = counts.get(region, 0) + n
    return counts

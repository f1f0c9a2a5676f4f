"""Queries behind the pages that the reports do not answer: late schools, blocking schools,
progress over time, broken contacts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, case, func, select

from notifications.calendar import business_days_between, local
from states import STATES, STEPS, Facts, StepPolicy, evaluate, step_by_slug
from storage.models import chain_head, events, machines, municipalities, regions, schools

SCHOOL_STEPS = frozenset(s.slug for s in STEPS if s.level == "school")
PROGRESS_EVENTS = ("StepCompleted", "StepSkipped", "StepReopened")

# The `since` of a machine's current step, read from its JSON in SQL (portable: a CASE per step).
CURRENT_SINCE = case(*[(machines.c.state == s.slug, machines.c.steps[(s.slug, "since")].as_string())
                       for s in STEPS], else_=None)


def broken_contacts(conn: Connection) -> dict[str, int]:
    """Hook: region code -> people whose mail bounced. Empty until the outbox table exists.

    The notifications work owns the outbox; once it records permanent failures per address,
    this function counts them per region and the country page shows them.
    """
    return {}


@lru_cache(maxsize=4096)
def late_cutoff(today: date, tz: str, sla_days: int) -> datetime:
    """A step opened before this UTC moment has been open more than `sla_days` business days."""
    day = today
    while business_days_between(day, today) <= sla_days:
        day -= timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(tz)).astimezone(UTC)


def is_late(since: str | None, state: str, tz: str, now: datetime,
            policies: Mapping[str, StepPolicy]) -> bool:
    if not since or state not in policies:
        return False
    cutoff = late_cutoff(local(now, tz).date(), tz, policies[state].sla_days)
    return datetime.fromisoformat(since) < cutoff


def _open_schools(region: str | None = None, municipality: str | None = None) -> Any:
    tz = func.coalesce(schools.c.timezone, municipalities.c.timezone, regions.c.timezone)
    q = (select(machines.c.code, machines.c.region_code, machines.c.state,
                CURRENT_SINCE.label("since"), tz.label("tz"), schools.c.name,
                schools.c.municipality_code)
         .join(schools, schools.c.code == machines.c.code)
         .join(regions, regions.c.code == schools.c.region_code)
         .outerjoin(municipalities, municipalities.c.code == schools.c.municipality_code)
         .where(machines.c.kind == "school", machines.c.state != "done"))
    if region is not None:
        q = q.where(machines.c.region_code == region)
    if municipality is not None:
        q = q.where(schools.c.municipality_code == municipality)
    return q


def _zones(conn: Connection, region: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Region code -> time zone, and school code -> its own (or its municipality's) zone."""
    q = (select(schools.c.code, func.coalesce(schools.c.timezone, municipalities.c.timezone))
         .outerjoin(municipalities, municipalities.c.code == schools.c.municipality_code)
         .where((schools.c.timezone.is_not(None)) | (municipalities.c.timezone.is_not(None))))
    if region is not None:
        q = q.where(schools.c.region_code == region)
    return (dict(conn.execute(select(regions.c.code, regions.c.timezone)).all()),
            dict(conn.execute(q).all()))


# (database, last event number, hour) -> late schools per region. Lateness moves only when a
# machine changes (every change appends to the history) or at a local midnight (whole hours in
# Russia), so the answer is exact for that key and the country page skips a full scan.
_LATE_CACHE: dict[tuple[str, int, datetime, tuple[int, ...]], dict[str, int]] = {}


def late_by_region(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy]
                   ) -> dict[str, int]:
    """Region code -> schools whose current (school-level) step is past its SLA."""
    head = conn.execute(select(chain_head.c.seq)).scalar() or 0
    key = (str(conn.engine.url), head, now.replace(minute=0, second=0, microsecond=0),
           tuple(policies[s].sla_days for s in sorted(SCHOOL_STEPS)))
    if key in _LATE_CACHE:
        return dict(_LATE_CACHE[key])
    region_tz, school_tz = _zones(conn)
    q = (select(machines.c.code, machines.c.region_code, machines.c.state,
                CURRENT_SINCE.label("since"))
         .where(machines.c.kind == "school", machines.c.state.in_(sorted(SCHOOL_STEPS))))
    out: dict[str, int] = defaultdict(int)
    for r in conn.execute(q):
        tz = school_tz.get(r.code) or region_tz.get(r.region_code, "Europe/Moscow")
        if is_late(r.since, r.state, tz, now, policies):
            out[r.region_code] += 1
    if len(_LATE_CACHE) > 32:
        _LATE_CACHE.clear()
    _LATE_CACHE[key] = dict(out)
    return dict(out)


def open_schools(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy],
                 region: str, municipality: str | None = None) -> list[dict[str, Any]]:
    """The group's schools that are not done, longest open first, each marked late or not."""
    rows = []
    for r in conn.execute(_open_schools(region, municipality)):
        rows.append({"code": r.code, "name": r.name, "municipality": r.municipality_code,
                     "state": r.state, "since": r.since,
                     "late": r.state in SCHOOL_STEPS and is_late(r.since, r.state, r.tz, now,
                                                                   policies)})
    rows.sort(key=lambda s: (STATES.index(s["state"]), s["since"] or "", s["code"]))
    return rows


def reasons(step_slug: str, facts: Facts, policy: StepPolicy) -> list[str]:
    """What holds a machine at `step_slug`, in Russian, from the step's guard."""
    step = step_by_slug(step_slug)
    verdict = evaluate(step, facts, policy)
    if not verdict.ok:
        return [r.ru for r in verdict.reasons]
    return [f"ждёт отметки о выполнении ({step.owner_text})"]


def progress_over_time(conn: Connection, region: str, n_schools: int, tz: str,
                       municipality: str | None = None) -> list[tuple[date, float]]:
    """(local date, % of the schools' step-completions done) at the end of each active day.

    Replays the history: a completed or skipped step adds one, a reopening takes back the
    steps between its two states. The base is today's number of schools times nine.
    """
    if n_schools == 0:
        return []
    q = (select(events.c.at, events.c.event, events.c.from_state, events.c.to_state)
         .where(events.c.region_code == region, events.c.kind == "school",
                events.c.event.in_(PROGRESS_EVENTS)).order_by(events.c.seq))
    if municipality is not None:
        q = q.where(events.c.code.in_(select(schools.c.code)
                                      .where(schools.c.municipality_code == municipality)))
    per_day: dict[date, int] = defaultdict(int)
    for r in conn.execute(q):
        delta = STATES.index(r.to_state) - STATES.index(r.from_state)
        per_day[local(r.at, tz).date()] += delta
    total, points, base = 0, [], n_schools * len(STEPS)
    for day in sorted(per_day):
        total += per_day[day]
        points.append((day, round(100 * total / base, 1)))
    return points

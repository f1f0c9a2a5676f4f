"""Queries behind the pages that the reports do not answer: late schools, blocking schools,
progress over time, broken contacts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, union_all

from notifications.calendar import local, open_cutoff
from notifications.policy import MOSCOW
from states import STATES, STEPS, Facts, StepPolicy, holding, step_by_slug
from storage.models import events, machines, municipalities, regions, schools
from storage.outbox import broken_contacts_by_region

SCHOOL_STEPS = frozenset(s.slug for s in STEPS if s.level == "school")
PROGRESS_EVENTS = ("StepCompleted", "StepSkipped", "StepReopened")
NEVER = datetime.min.replace(tzinfo=UTC)
_UNION_PARTS = 200  # SQLite allows 500 SELECTs in one compound statement


def broken_contacts(conn: Connection) -> dict[str, int]:
    """Region code -> people holding a role there whose mail bounced."""
    return {code: len(emails) for code, emails in broken_contacts_by_region(conn).items()}


def is_late(since: str | datetime | None, state: str, tz: str, now: datetime,
            policies: Mapping[str, StepPolicy]) -> bool:
    """Open longer than the state's SLA (business days in `tz`); `since` as stored or ISO text."""
    if not since or state not in policies:
        return False
    at = datetime.fromisoformat(since) if isinstance(since, str) else since
    return at < open_cutoff(now, tz, policies[state].sla_days)


def _open_schools(region: str | None = None, municipality: str | None = None) -> Any:
    tz = func.coalesce(schools.c.timezone, municipalities.c.timezone, regions.c.timezone)
    q = (select(machines.c.code, machines.c.region_code, machines.c.state,
                machines.c.state_since.label("since"), tz.label("tz"), schools.c.name,
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


def late_by_region(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy]
                   ) -> dict[str, int]:
    """Region code -> schools whose current (school-level) step is past its SLA.

    Counted in SQL on the (kind, region_code, state, state_since) index: for each region
    time zone and SLA a cutoff moment (`open_cutoff`), then `state_since < cutoff` for the
    regions in that zone. Schools whose own (or municipality's) zone differs from their
    region's are few: they are re-counted with their own cutoff afterwards.
    """
    by_zone: dict[str, list[str]] = defaultdict(list)
    for code, tz in conn.execute(select(regions.c.code, regions.c.timezone)):
        by_zone[tz or MOSCOW].append(code)
    by_sla: dict[int, list[str]] = defaultdict(list)
    for slug in sorted(SCHOOL_STEPS & set(policies)):
        by_sla[policies[slug].sla_days].append(slug)
    parts = [select(machines.c.region_code, func.count())
             .where(machines.c.kind == "school", machines.c.region_code.in_(codes),
                    machines.c.state.in_(states),
                    machines.c.state_since < open_cutoff(now, tz, sla))
             .group_by(machines.c.region_code)
             for tz, codes in sorted(by_zone.items()) for sla, states in sorted(by_sla.items())]
    out: dict[str, int] = defaultdict(int)
    for i in range(0, len(parts), _UNION_PARTS):
        for region, n in conn.execute(union_all(*parts[i:i + _UNION_PARTS])):
            out[region] += n
    # schools in a zone of their own (few, often none): counted above with their region's
    # cutoff; correct them one by one
    own: dict[str, str] = dict(conn.execute(union_all(
        select(schools.c.code, schools.c.timezone).where(schools.c.timezone.is_not(None)),
        select(schools.c.code, municipalities.c.timezone).select_from(municipalities)
        .join(schools, schools.c.municipality_code == municipalities.c.code)
        .where(municipalities.c.timezone.is_not(None), schools.c.timezone.is_(None)))).all())
    region_tz = {code: tz for tz, codes in by_zone.items() for code in codes}
    codes = sorted(own)
    for i in range(0, len(codes), 500):
        q = select(machines.c.code, machines.c.region_code, machines.c.state,
                   machines.c.state_since).where(machines.c.kind == "school",
                                                 machines.c.code.in_(codes[i:i + 500]),
                                                 machines.c.state.in_(sorted(SCHOOL_STEPS)))
        for r in conn.execute(q):
            home = region_tz.get(r.region_code)
            if home is not None and own[r.code] != home:
                out[r.region_code] += (is_late(r.state_since, r.state, own[r.code], now, policies)
                                       - is_late(r.state_since, r.state, home, now, policies))
    return {code: n for code, n in out.items() if n}


def open_schools(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy],
                 region: str, municipality: str | None = None) -> list[dict[str, Any]]:
    """The group's schools that are not done, longest open first, each marked late or not."""
    rows = []
    for r in conn.execute(_open_schools(region, municipality)):
        rows.append({"code": r.code, "name": r.name, "municipality": r.municipality_code,
                     "state": r.state, "since": r.since,
                     "late": r.state in SCHOOL_STEPS and is_late(r.since, r.state, r.tz, now,
                                                                   policies)})
    rows.sort(key=lambda s: (STATES.index(s["state"]), s["since"] is not None,
                             s["since"] or NEVER, s["code"]))
    return rows


def reasons(step_slug: str, facts: Facts, policy: StepPolicy) -> list[str]:
    """What holds a machine at `step_slug`, in Russian, from the step's guard."""
    return [r.ru for r in holding(step_by_slug(step_slug), facts, policy)]


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

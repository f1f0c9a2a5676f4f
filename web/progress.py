"""Queries behind the pages that the reports do not answer: late schools, blocking schools,
progress over time, broken contacts."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, union_all

from notifications.calendar import business_days_open, local, open_cutoff
from notifications.policy import MOSCOW
from states import FINISHED, SLUGS, STATES, STEPS, Facts, StepPolicy, holding, step_by_slug
from states.graph import decode
from storage.models import events, machines, municipalities, open_steps, regions, schools
from storage.outbox import broken_contacts_by_region
from workflow.i18n import pick

SCHOOL_STEPS = frozenset(s.slug for s in STEPS if s.level == "school")
PROGRESS_EVENTS = ("StepCompleted", "StepSkipped", "StepReopened", "StepsMigrated")
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


def late_days(since: datetime | str | None, now: datetime, tz: str, sla_days: int) -> int:
    """Business days a step opened at `since` is past its SLA at `now` (0 when within it);
    more than 0 exactly when `is_late`."""
    if not since:
        return 0
    at = datetime.fromisoformat(since) if isinstance(since, str) else since
    return max(0, business_days_open(at, now, tz) - sla_days)


def _open_steps_of_schools(region: str | None = None, municipality: str | None = None) -> Any:
    tz = func.coalesce(schools.c.timezone, municipalities.c.timezone, regions.c.timezone)
    q = (select(open_steps.c.code, open_steps.c.region_code, open_steps.c.step,
                open_steps.c.since, tz.label("tz"), schools.c.name, schools.c.municipality_code,
                machines.c.state, machines.c.statuses)
         .join(schools, schools.c.code == open_steps.c.code)
         .join(machines, (machines.c.kind == "school") & (machines.c.code == open_steps.c.code))
         .join(regions, regions.c.code == schools.c.region_code)
         .outerjoin(municipalities, municipalities.c.code == schools.c.municipality_code)
         .where(open_steps.c.kind == "school"))
    if region is not None:
        q = q.where(open_steps.c.region_code == region)
    if municipality is not None:
        q = q.where(schools.c.municipality_code == municipality)
    return q


open_steps_query = _open_steps_of_schools  # the drill-down reads the same rows


def late_by_region(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy]
                   ) -> dict[str, int]:
    """Region code -> schools with an open school step past its SLA.

    Counted in SQL on the `open_steps` (kind, step, region_code, since) index: for each region
    time zone and SLA a cutoff moment (`open_cutoff`), then `since < cutoff` for the regions in
    that zone. Schools whose own (or municipality's) zone differs from their region's are few:
    they are re-counted with their own cutoff afterwards.
    """
    by_zone: dict[str, list[str]] = defaultdict(list)
    for code, tz in conn.execute(select(regions.c.code, regions.c.timezone)):
        by_zone[tz or MOSCOW].append(code)
    by_sla: dict[int, list[str]] = defaultdict(list)
    for slug in sorted(SCHOOL_STEPS & set(policies)):
        by_sla[policies[slug].sla_days].append(slug)
    # counted in SQL, a school late on several steps once (fetching every late row into
    # Python cost twice as much at national scale); a zone's parts stay in one statement, so
    # that no school is counted in two
    batches: list[list[Any]] = [[]]
    for tz, codes in sorted(by_zone.items()):
        zone = [select(open_steps.c.region_code, open_steps.c.code)
                .where(open_steps.c.kind == "school", open_steps.c.step.in_(states),
                       open_steps.c.region_code.in_(codes),
                       open_steps.c.since < open_cutoff(now, tz, sla))
                for sla, states in sorted(by_sla.items())]
        if len(batches[-1]) + len(zone) > _UNION_PARTS:
            batches.append([])
        batches[-1].extend(zone)
    counts: dict[str, int] = defaultdict(int)
    for parts in batches:
        if not parts:
            continue
        u = union_all(*parts).subquery()
        for region, n in conn.execute(select(u.c.region_code, func.count(u.c.code.distinct()))
                                      .group_by(u.c.region_code)):
            counts[region] += n
    # schools in a zone of their own (few, often none): counted above with their region's
    # cutoff; look at them again one by one
    own: dict[str, str] = dict(conn.execute(union_all(
        select(schools.c.code, schools.c.timezone).where(schools.c.timezone.is_not(None)),
        select(schools.c.code, municipalities.c.timezone).select_from(municipalities)
        .join(schools, schools.c.municipality_code == municipalities.c.code)
        .where(municipalities.c.timezone.is_not(None), schools.c.timezone.is_(None)))).all())
    region_tz = {code: tz for tz, codes in by_zone.items() for code in codes}
    codes = sorted(own)
    for i in range(0, len(codes), 500):
        q = select(open_steps.c.code, open_steps.c.region_code, open_steps.c.step,
                   open_steps.c.since).where(open_steps.c.kind == "school",
                                             open_steps.c.code.in_(codes[i:i + 500]),
                                             open_steps.c.step.in_(sorted(SCHOOL_STEPS)))
        counted: dict[tuple[str, str], bool] = {}  # late by the region's cutoff (as above)
        mine: dict[tuple[str, str], bool] = {}  # late by the school's own cutoff
        for r in conn.execute(q):
            if region_tz.get(r.region_code) == own[r.code]:
                continue
            key = (r.region_code, r.code)
            counted[key] = counted.get(key, False) or is_late(
                r.since, r.step, region_tz.get(r.region_code, MOSCOW), now, policies)
            mine[key] = mine.get(key, False) or is_late(r.since, r.step, own[r.code], now,
                                                        policies)
        for (region, _code), is_late_here in mine.items():
            counts[region] += int(is_late_here) - int(counted[(region, _code)])
    return {code: n for code, n in counts.items() if n}


def open_schools(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy],
                 region: str, municipality: str | None = None) -> list[dict[str, Any]]:
    """The group's schools with open steps, earliest step first, then longest open; each with
    its open steps and marked late when one of its own steps is past its SLA."""
    by_code: dict[str, dict[str, Any]] = {}
    for r in conn.execute(_open_steps_of_schools(region, municipality)):
        row = by_code.get(r.code)
        if row is None:
            row = by_code[r.code] = {
                "code": r.code, "name": r.name, "municipality": r.municipality_code,
                "state": r.state, "since": None, "open": [], "steps": decode(r.statuses),
                "late": False, "late_days": 0}
        row["open"].append(r.step)
        if row["since"] is None or r.since < row["since"]:
            row["since"] = r.since
        if r.step in SCHOOL_STEPS and is_late(r.since, r.step, r.tz, now, policies):
            row["late"] = True
            row["late_days"] = max(row["late_days"], late_days(
                r.since, now, r.tz or MOSCOW, policies[r.step].sla_days))
    rows = list(by_code.values())
    for row in rows:
        row["open"].sort(key=SLUGS.index)
    rows.sort(key=lambda s: (SLUGS.index(s["state"]) if s["state"] in SLUGS else len(SLUGS),
                             s["since"] or NEVER, s["code"]))
    return rows


def reasons(step_slug: str, facts: Facts, policy: StepPolicy) -> list[str]:
    """What holds a machine at `step_slug`, in Russian, from the step's guard."""
    return [pick(r.en, r.ru) for r in holding(step_by_slug(step_slug), facts, policy)]


@dataclass
class _Replay:
    """A progress line's history replayed up to one event: the steps each local day gained,
    and each school's finished steps after it."""

    schools: int  # the base's number of schools when the replay began
    seq: int = 0  # the last event replayed (0: none yet)
    hash: str = ""  # its hash: the same database still holds it
    per_day: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    finished: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


# The replays of the progress lines shown, per database, region, municipality and zone: a page
# replays only the events appended since it was last shown (a big region's whole history took
# ~160 ms a page). The history is append-only and hash-chained, so a replay stays right while
# its last event is still there under the same hash.
_REPLAYS: dict[tuple[str, str, str | None, str], _Replay] = {}
_REPLAYS_LOCK = threading.Lock()


def progress_over_time(conn: Connection, region: str, n_schools: int, tz: str,
                       municipality: str | None = None) -> list[tuple[date, float]]:
    """(local date, % of the schools' step-completions done) at the end of each active day.

    Replays the history: each event carries the school's statuses after it, so the change in
    its number of finished steps is what the day gained or lost (a reopen takes back the steps
    that depend on it). Events of the first release carry only states, on the strict line.
    The base is today's number of schools times nine.
    """
    if n_schools == 0:
        return []
    key = (conn.engine.url.render_as_string(hide_password=False), region, municipality, tz)
    with _REPLAYS_LOCK:
        replay = _REPLAYS.get(key)
        if replay is None or replay.schools != n_schools:  # new, or schools added or moved
            replay = _REPLAYS[key] = _Replay(n_schools)
    with replay.lock:
        if replay.seq and conn.execute(select(events.c.hash).where(
                events.c.seq == replay.seq)).scalar() != replay.hash:
            replay.seq, replay.hash, replay.per_day, replay.finished = (
                0, "", defaultdict(int), {})  # another database at the same address
        _replay(conn, replay, region, tz, municipality)
        per_day = sorted(replay.per_day.items())
    total, points, base = 0, [], n_schools * len(STEPS)
    for day, gained in per_day:
        total += gained
        points.append((day, round(100 * total / base, 1)))
    return points


def _replay(conn: Connection, replay: _Replay, region: str, tz: str,
            municipality: str | None) -> None:
    """Replay the region's (or municipality's) school events after `replay.seq`."""
    q = (select(events.c.seq, events.c.hash, events.c.at, events.c.code, events.c.from_state,
                events.c.to_state, events.c.data)
         .where(events.c.seq > replay.seq, events.c.region_code == region,
                events.c.kind == "school", events.c.event.in_(PROGRESS_EVENTS))
         .order_by(events.c.seq))
    if municipality is not None:
        q = q.where(events.c.code.in_(select(schools.c.code)
                                      .where(schools.c.municipality_code == municipality)))
    finished, per_day = replay.finished, replay.per_day
    for r in conn.execute(q):
        steps = (r.data or {}).get("steps")
        if steps:
            now_done = sum(v in FINISHED for v in steps.values())
            before = finished.get(r.code, STATES.index(r.from_state))
        else:  # the first release: the strict line, its state's index is its steps done
            now_done, before = STATES.index(r.to_state), STATES.index(r.from_state)
        finished[r.code] = now_done
        per_day[local(r.at, tz).date()] += now_done - before
        replay.seq, replay.hash = r.seq, r.hash

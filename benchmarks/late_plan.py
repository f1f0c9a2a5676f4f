"""The late count over `open_steps`: its query plan, and the bare count by hand beside it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from notifications.calendar import open_cutoff
from states import StepPolicy
from storage.models import open_steps
from web.progress import SCHOOL_STEPS

MOSCOW = "Europe/Moscow"


def late_query(step: str, cutoff: datetime, regions: list[str]) -> Any:
    """One part of `web.progress.late_by_region`'s union: one step (SLA), one zone."""
    return select(open_steps.c.region_code, open_steps.c.code).where(
        open_steps.c.kind == "school", open_steps.c.step.in_([step]),
        open_steps.c.region_code.in_(regions), open_steps.c.since < cutoff)


def plan(conn: Connection, q: Any) -> list[str]:
    """EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (PostgreSQL) of `q`, one line a step."""
    c = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = c.construct_params()
    args: Any = tuple(params[k] for k in c.positiontup or ()) if c.positional else params
    if conn.dialect.name == "sqlite":
        args = tuple(a.isoformat(" ") if isinstance(a, datetime) else a for a in args)
        return [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(c), args)]
    return [r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(c), args)]


def bare_late(now: datetime, policies: Mapping[str, StepPolicy], dialect: str
              ) -> tuple[str, tuple[Any, ...]]:
    """Late schools per region by hand: one indexed part a SLA (steps sharing it), each school
    once; every region in Moscow's zone (no zones, no correction). (SQL, parameters)."""
    mark = "?" if dialect == "sqlite" else "%s"
    by_sla: dict[int, list[str]] = {}
    for s in sorted(SCHOOL_STEPS):
        by_sla.setdefault(policies[s].sla_days, []).append(s)
    parts, params = [], []
    for sla, steps in sorted(by_sla.items()):
        parts.append("SELECT region_code, code FROM open_steps WHERE kind = 'school' AND step "
                     f"IN ({', '.join(mark for _ in steps)}) AND since < {mark}")
        params += [*steps, stored(open_cutoff(now, MOSCOW, sla), dialect)]
    return ("SELECT region_code, count(DISTINCT code) FROM (" + " UNION ALL ".join(parts)
            + ") AS late GROUP BY region_code", tuple(params))


def first_cutoff(now: datetime, policies: Mapping[str, StepPolicy]) -> datetime:
    return open_cutoff(now, MOSCOW, policies["classes"].sla_days)


def stored(cutoff: datetime, dialect: str) -> Any:
    """A cutoff as the column stores it (SQLAlchemy's naive UTC text on SQLite)."""
    if dialect == "sqlite":
        return cutoff.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return cutoff

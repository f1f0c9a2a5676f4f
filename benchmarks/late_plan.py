"""The late count over `open_steps`: its query plan, and the bare per-step count beside it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from dashboard.progress import SCHOOL_STEPS
from notifications.calendar import open_cutoff
from states import StepPolicy
from storage.models import open_steps

MOSCOW = "Europe/Moscow"


def late_query(step: str, cutoff: datetime, regions: list[str]) -> Any:
    """One part of `dashboard.progress.late_by_region`'s union: one step (SLA), one zone."""
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


def bare_cutoffs(now: datetime, policies: Mapping[str, StepPolicy]) -> list[tuple[str, datetime]]:
    return [(s, open_cutoff(now, MOSCOW, policies[s].sla_days)) for s in sorted(SCHOOL_STEPS)]


def bare_sql(dialect: str) -> str:
    """Late schools per step and region, one indexed query a step (no zones, no union)."""
    mark = "?" if dialect == "sqlite" else "%s"
    return ("SELECT region_code, count(*) FROM open_steps WHERE kind = 'school' AND "
            f"step = {mark} AND since < {mark} GROUP BY region_code")


def stored(cutoff: datetime, dialect: str) -> Any:
    """A cutoff as the column stores it (SQLAlchemy's naive UTC text on SQLite)."""
    if dialect == "sqlite":
        return cutoff.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return cutoff

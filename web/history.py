"""The history search for auditors and program managers: by machine, event and actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from storage import repo
from storage.models import events, regions, schools
from web.access import Viewer
from web.errors import NotFound, OutOfScope
from workflow.audit import public

LIMIT = 500  # rows shown at most; the full count is shown beside


@dataclass(frozen=True)
class Query:
    """What the auditor asked for; every field optional."""

    kind: str = "school"  # "region" | "school"
    code: str = ""
    event: str = ""
    actor: str = ""

    @property
    def empty(self) -> bool:
        return not (self.code or self.event or self.actor)


def event_names(conn: Connection) -> list[str]:
    return list(conn.execute(select(events.c.event).distinct().order_by(events.c.event)).scalars())


def search(conn: Connection, viewer: Viewer, query: Query) -> dict[str, Any]:
    """Events matching the query, newest first (at most LIMIT), with the total count."""
    if not viewer.reads_history:
        raise OutOfScope("the history (auditors and program managers only)")
    if query.kind not in ("region", "school"):
        raise NotFound("kind", query.kind)
    names = event_names(conn)
    if query.empty:
        return {"query": query, "events": [], "total": 0, "event_names": names, "limit": LIMIT}
    conds = []
    if query.code:
        if repo.target(conn, query.kind, query.code) is None:
            raise NotFound(query.kind, query.code)
        conds += [events.c.kind == query.kind, events.c.code == query.code]
    if query.event:
        conds.append(events.c.event == query.event)
    if query.actor:
        conds.append(events.c.actor == query.actor.strip().lower())
    total = conn.execute(select(func.count()).select_from(events).where(*conds)).scalar_one()
    rows = conn.execute(select(events).where(*conds).order_by(events.c.seq.desc()).limit(LIMIT))
    found = [public(dict(r._mapping)) for r in rows]
    zones = _zones(conn, found)
    for e in found:
        e["tz"] = zones.get((e["kind"], e["code"])) or zones.get(("region", e["region_code"]))
    return {"query": query, "events": found, "total": total,
            "event_names": names, "limit": LIMIT}


def _zones(conn: Connection, found: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """The zone each event is shown in: its school's own, else its region's (Moscow for the
    events of no region)."""
    region_codes = {e["region_code"] for e in found if e["region_code"]}
    school_codes = {e["code"] for e in found if e["kind"] == "school" and e["code"]}
    out: dict[tuple[str, str], str] = {}
    if region_codes:
        for code, tz in conn.execute(select(regions.c.code, regions.c.timezone)
                                     .where(regions.c.code.in_(sorted(region_codes)))):
            out[("region", code)] = tz or "Europe/Moscow"
    if school_codes:
        for code, tz in conn.execute(select(schools.c.code, schools.c.timezone)
                                     .where(schools.c.code.in_(sorted(school_codes)),
                                            schools.c.timezone.is_not(None))):
            out[("school", code)] = tz
    return out

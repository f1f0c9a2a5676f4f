"""The history search for auditors and program managers: by machine, event and actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from storage import repo
from storage.models import events
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
    return {"query": query, "events": [public(dict(r._mapping)) for r in rows], "total": total,
            "event_names": names, "limit": LIMIT}

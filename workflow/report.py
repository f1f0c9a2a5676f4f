"""Progress queries: per region, or per municipality and school of one region."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from states import STEPS
from storage import repo
from storage.models import machines, municipalities, regions, schools
from storage.outbox import broken_contacts_by_region
from workflow.errors import UnknownCode

SLUGS = [s.slug for s in STEPS]


def national(conn: Connection) -> dict[str, Any]:
    """Every region (schools or not): its state and, per step, how many of its schools did it."""
    per_region: dict[str, dict[str, int]] = defaultdict(dict)
    q = (select(machines.c.region_code, machines.c.state, func.count())
         .where(machines.c.kind == "school")
         .group_by(machines.c.region_code, machines.c.state))
    for region, state, n in conn.execute(q):
        per_region[region][state] = n
    region_states = dict(conn.execute(select(machines.c.code, machines.c.state)
                                      .where(machines.c.kind == "region")).all())
    n_munis: dict[str, int] = dict(conn.execute(select(municipalities.c.region_code, func.count())
                                .group_by(municipalities.c.region_code)).all())
    broken = broken_contacts_by_region(conn)
    rows = []
    for r in conn.execute(select(regions).order_by(regions.c.code)):
        by_state = per_region.get(r.code, {})
        rows.append({
            "code": r.code, "name": r.name, "timezone": r.timezone,
            "state": region_states.get(r.code), "schools": sum(by_state.values()),
            "schools_finished": by_state.get("done", 0),
            "municipalities": n_munis.get(r.code, 0),
            "steps": repo.done_counts(by_state),
            "broken_contacts": broken.get(r.code, []),
        })
    totals = {"regions": len(rows), "schools": sum(r["schools"] for r in rows),
              "steps": {s: sum(r["steps"][s] for r in rows) for s in SLUGS}}
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
                machines.c.state, machines.c.steps)
         .join(machines, (machines.c.code == schools.c.code) & (machines.c.kind == "school"))
         .where(schools.c.region_code == code, machines.c.region_code == code)  # uses the index
         .order_by(schools.c.code))
    school_rows = []
    per_muni: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in conn.execute(q):
        since = (r.steps.get(r.state) or {}).get("since") if r.state != "done" else None
        school_rows.append({"code": r.code, "name": r.name, "municipality": r.municipality_code,
                            "parent": r.parent_code, "state": r.state, "since": since})
        per_muni[r.municipality_code][r.state] += 1
    munis = []
    for m_code in sorted(set(muni_names) | {m for m in per_muni if m}):
        by_state = per_muni.get(m_code, {})
        munis.append({"code": m_code, "name": muni_names.get(m_code, ""),
                      "schools": sum(by_state.values()), "steps": repo.done_counts(dict(by_state))})
    if None in per_muni:
        by_state = per_muni[None]
        munis.append({"code": None, "name": "(без муниципалитета)",
                      "schools": sum(by_state.values()), "steps": repo.done_counts(dict(by_state))})
    by_state_all: dict[str, int] = defaultdict(int)
    for s in school_rows:
        by_state_all[s["state"]] += 1
    return {"steps": SLUGS,
            "region": {"code": region.code, "name": region.name, "timezone": region.timezone,
                       "broken_contacts": broken_contacts_by_region(conn).get(code, []),
                       "state": region_machine.state if region_machine else None,
                       "schools": len(school_rows),
                       "steps": repo.done_counts(dict(by_state_all))},
            "municipalities": munis, "schools": school_rows}

"""A national rollout for the country page's tests and benchmark: the 89 real subjects (codes,
names and zones of benchmarks/national.py), schools spread by their weight, regions at every
stage of the rollout.

Built with Core inserts at fixed moments (no events, no wall clock). A region before step 4
holds its schools at its own step (their machines mirror it); a region past step 3 has its
schools spread over the step graph, each opened between 0 and 59 days before NOW, so that
some are late and some are not. Three regions stand out on purpose:
- STUCK (Дагестан, the most schools) never connected: step 1 open for 70 days;
- SLOW (Ненецкий АО) on step 2 for 30 days, late too but with few schools;
- FRESH (Москва) on step 3 for two days: within its SLA, its schools are not late.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from benchmarks.national import REGIONS, make_inn
from states import SLUGS, default_graph
from states.graph import settle_open
from storage import repo
from storage.models import assignments, municipalities, people, regions, schools
from workflow.services import Services

NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # a Tuesday
STUCK, SLOW, FRESH = "05", "83", "77"
HELD_AT = {STUCK: ("coordinator", 70), SLOW: ("registry", 30), FRESH: ("municipalities", 2)}
PM = "pm@example.org"
GRAPH = default_graph()


def statuses_at(step: str, since: datetime) -> dict[str, Any]:
    """Every step before `step` (a region step) done, `step` open since `since`."""
    index = SLUGS.index(step)
    raw = {s: "done" if i < index else "pending" for i, s in enumerate(SLUGS)}
    return _with_since(settle_open(GRAPH, raw), since)


def spread(rnd: random.Random, since: datetime, done_share: float = 0.7) -> dict[str, Any]:
    """Steps 1–3 done, then each step whose prerequisites are done with `done_share`."""
    raw = {s: "pending" for s in SLUGS}
    for i, slug in enumerate(SLUGS):
        if all(raw[d] == "done" for d in GRAPH[slug]) and (i < 3 or rnd.random() < done_share):
            raw[slug] = "done"
    return _with_since(settle_open(GRAPH, raw), since)


def _with_since(raw: dict[str, str], since: datetime) -> dict[str, Any]:
    return {s: {"status": v, "since": None if v == "pending" else since.isoformat()}
            for s, v in raw.items()}


def _machine(kind: str, code: str, region: str, steps: dict[str, Any]) -> dict[str, Any]:
    state = next((s for s in SLUGS if steps[s]["status"] not in ("done", "skipped")), "done")
    since = steps[state]["since"] if state != "done" else None
    return {"kind": kind, "code": code, "region_code": region, "state": state, "steps": steps,
            "version": 1, "updated_at": NOW,
            "state_since": datetime.fromisoformat(since) if since else NOW}


def build(services: Services, scale: float = 0.04, seed: int = 7) -> dict[str, int]:
    """The rollout at NOW; returns region code -> number of schools."""
    rnd = random.Random(seed)
    region_rows, muni_rows, school_rows, machine_rows, counts = [], [], [], [], {}
    for code, name, tz, weight in REGIONS:
        n = max(3, round(weight * scale))
        counts[code] = n
        region_rows.append({"code": code, "name": name, "timezone": tz})
        munis = [f"{code}-{j:03d}" for j in range(max(2, n // 17))]
        muni_rows += [{"code": m, "region_code": code, "name": f"Муниципальный округ {m}",
                       "timezone": None} for m in munis]
        held = HELD_AT.get(code)
        if held is None and rnd.random() < 0.08:  # a few more regions still on steps 2–3
            held = (rnd.choice(("registry", "municipalities")), rnd.randrange(1, 25))
        if held:
            region_steps = statuses_at(held[0], NOW - timedelta(days=held[1]))
        else:
            region_steps = spread(rnd, NOW - timedelta(days=90), done_share=0.0)
        machine_rows.append(_machine("region", code, code, region_steps))
        for i in range(n):
            school = f"{code}{i:05d}"
            school_rows.append({
                "code": school, "region_code": code, "municipality_code": munis[i % len(munis)],
                "name": f"Школа № {i + 1} ({name})", "inn": make_inn(f"{code}{i:07d}"),
                "teachers_expected": 40, "classes_expected": 11, "students_expected": 500,
                "parents_expected": 500})
            since = NOW - timedelta(days=rnd.randrange(0, 60), hours=rnd.randrange(24))
            steps = region_steps if held else spread(rnd, since)
            machine_rows.append(_machine("school", school, code, steps))
    with services.db.write() as conn:
        conn.execute(insert(regions), region_rows)
        conn.execute(insert(municipalities), muni_rows)
        for i in range(0, len(school_rows), 5000):
            conn.execute(insert(schools), school_rows[i:i + 5000])
        for i in range(0, len(machine_rows), 5000):
            repo.insert_machines(conn, machine_rows[i:i + 5000])
        conn.execute(insert(people), [{"email": PM, "name": "Петрова Полина", "position": None,
                                       "phone": None}])
        conn.execute(insert(assignments), [{"email": PM, "role": "program_manager",
                                            "scope": "", "since": NOW}])
    return counts

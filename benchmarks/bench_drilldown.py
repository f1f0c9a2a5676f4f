"""Benchmark: the region page (late schools by step, whom to call), the trends and the week's
changes, on a national dataset with a history of national size,
beside the bare SQL.

89 regions, 2,600 municipalities, 45,000 schools with machines spread over the step graph (each
school a random set of finished steps that the prerequisites allow, built with Core inserts and
`repo.insert_machines` into a temporary SQLite file; each finished step of a school has its
StepCompleted event on a day of the last 60, so the trends read a history of national size;
the events' hashes are not chained: no page reads them). Requests go through uvicorn over HTTP;
the figures are medians of repeated runs. Run: python benchmarks/bench_drilldown.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import late_plan  # noqa: E402
from benchmarks.bench_dashboard import median_ms  # noqa: E402
from notifications.weekly import week_changes  # noqa: E402
from states import SLUGS, default_graph, default_policies, first_open  # noqa: E402
from states.graph import settle_open  # noqa: E402
from storage import repo  # noqa: E402
from storage.models import (  # noqa: E402
    assignments,
    chain_head,
    events,
    municipalities,
    people,
    regions,
    schools,
)
from tests.dashkit import running  # noqa: E402
from web import (
    create_app,  # noqa: E402
    drilldown,  # noqa: E402
)
from web.access import SNAPSHOT, create_token  # noqa: E402
from web.progress import late_by_region  # noqa: E402
from workflow.config import build  # noqa: E402
from workflow.services import Services  # noqa: E402

NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
BARE_BURNUP = ("SELECT step, event, date(at, '+180 minutes') AS day, count(*) FROM events "
               "WHERE kind = 'school' AND event IN ('StepCompleted', 'StepSkipped', "
               "'StepReopened') GROUP BY step, event, day")
BARE_BURNUP_REGION = BARE_BURNUP.replace("WHERE", "WHERE region_code = '01' AND")
BARE_WEEK = ("SELECT region_code, kind, step, count(*), max(at) FROM events WHERE kind IN "
             "('region', 'school') AND event IN "
             "('StepCompleted', 'StepSkipped') AND at > '2026-08-25' GROUP BY region_code, "
             "kind, step")
BARE_REGION_OPEN = ("SELECT o.code, o.step, o.since, s.name, s.municipality_code, m.statuses "
                    "FROM open_steps o JOIN schools s ON s.code = o.code JOIN machines m ON "
                    "m.kind = 'school' AND m.code = o.code WHERE o.kind = 'school' AND "
                    "o.region_code = '01'")
BARE_REPORT = ("SELECT region_code, statuses, count(*) FROM machines WHERE kind = 'school' "
               "GROUP BY region_code, statuses")
GRAPH = default_graph()


def random_steps(rnd: random.Random, since: datetime, done_share: float = 0.7,
                 first: int = 3) -> dict:
    """Steps 1..`first` done, then each step whose prerequisites are finished done with
    probability `done_share`; the rest current or pending as the graph says."""
    statuses = {s: "pending" for s in SLUGS}
    for i, slug in enumerate(SLUGS):
        ready = all(statuses[d] == "done" for d in GRAPH[slug])
        if ready and (i < first or rnd.random() < done_share):
            statuses[slug] = "done"
    statuses = settle_open(GRAPH, statuses)
    return {s: {"status": v, "since": None if v == "pending" else since.isoformat()}
            for s, v in statuses.items()}


def national(services: Services, n_regions: int = 89, n_munis: int = 2600,
             n_schools: int = 45_000, seed: int = 7) -> None:
    rnd = random.Random(seed)
    reg = [f"{i:02d}" for i in range(1, n_regions + 1)]
    munis = [(f"{reg[i % n_regions]}-{i:04d}", reg[i % n_regions]) for i in range(n_munis)]
    school_rows, machine_rows, event_rows = [], [], []
    for i in range(n_schools):
        muni, region = munis[rnd.randrange(n_munis)]
        school_rows.append({"code": f"S{i:06d}", "region_code": region, "municipality_code": muni,
                            "name": f"Школа № {i}", "teachers_expected": 40,
                            "classes_expected": 11, "students_expected": 500,
                            "parents_expected": 500})
        since = NOW - timedelta(days=rnd.randrange(0, 60), hours=rnd.randrange(24))
        steps = random_steps(rnd, since)
        state = first_open({k: v["status"] for k, v in steps.items()})
        machine_rows.append({"kind": "school", "code": f"S{i:06d}", "region_code": region,
                             "state": state, "steps": steps, "version": 1,
                             "updated_at": NOW, "state_since": since})
        done_at = since - timedelta(days=rnd.randrange(0, 60))
        after = {s: "pending" for s in SLUGS}
        for slug in SLUGS:
            if steps[slug]["status"] == "done":
                before = first_open(after)
                after[slug] = "done"
                event_rows.append({"at": done_at, "kind": "school", "code": f"S{i:06d}",
                                   "region_code": region, "event": "StepCompleted",
                                   "step": slug, "from_state": before,
                                   "to_state": first_open(after), "actor": "system",
                                   "data": {"steps": dict(after)}})
                done_at += timedelta(hours=rnd.randrange(1, 72))
    with services.db.write() as conn:
        conn.execute(insert(regions), [{"code": c, "name": f"Регион {c}",
                                        "timezone": "Europe/Moscow"} for c in reg])
        conn.execute(insert(municipalities), [{"code": m, "region_code": r, "name": f"МО {m}",
                                               "timezone": None} for m, r in munis])
        conn.execute(insert(schools), school_rows)
        region_steps = random_steps(rnd, NOW, done_share=0.0)
        repo.insert_machines(conn, [{"kind": "region", "code": c, "region_code": c,
                                     "state": "admins", "steps": region_steps, "version": 1,
                                     "updated_at": NOW, "state_since": NOW} for c in reg])
        repo.insert_machines(conn, machine_rows)
        event_rows.sort(key=lambda e: e["at"])
        conn.execute(insert(events), [{**e, "seq": n, "prev_hash": "-", "hash": "-"}
                                      for n, e in enumerate(event_rows, 1)])
        conn.execute(update(chain_head).values(seq=len(event_rows), hash="-"))
        conn.execute(insert(people), [{"email": "pm@example.org", "name": "ПМ", "position": None,
                                       "phone": None}])
        conn.execute(insert(assignments), [{"email": "pm@example.org", "role": "program_manager",
                                            "scope": "", "since": NOW}])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path, help="write the table (markdown) to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build({"database": {"url": f"sqlite:///{Path(tmp) / 'bench.db'}"}}, Path(tmp))
        services = Services(cfg)
        services.db.migrate()
        t0 = time.perf_counter()
        national(services)
        print(f"national dataset built in {time.perf_counter() - t0:.1f} s")
        token = create_token(services, "pm@example.org", NOW)

        def bare_sql(sql: str) -> Callable[[], object]:
            def call() -> None:
                with services.db.read() as conn:
                    conn.exec_driver_sql(sql).all()
            return call

        def bare() -> None:
            with services.db.read() as conn:
                conn.exec_driver_sql(BARE_REPORT).all()

        policies = default_policies()
        bare_late_sql, bare_late_params = late_plan.bare_late(NOW, policies, "sqlite")

        def bare_late() -> None:
            """The late count by hand: the same index, no zones, no correction."""
            with services.db.read() as conn:
                conn.exec_driver_sql(bare_late_sql, bare_late_params).all()

        with services.db.read() as conn:
            query_plan = late_plan.plan(conn, late_plan.late_query(
                "classes", late_plan.first_cutoff(NOW, policies), ["01", "02"]))
            n_late = sum(late_by_region(conn, NOW, policies).values())

        with running(create_app(services, lambda: NOW)) as base, httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            def get(path: str) -> Callable[[], object]:
                def call() -> None:
                    assert c.get(path).status_code == 200
                return call

            def late_only() -> None:
                with services.db.read() as conn:
                    late_by_region(conn, NOW, policies)

            report_ms = median_ms(get("/api/report"), args.runs)
            bare_ms = median_ms(bare, args.runs)
            late_ms = median_ms(late_only, args.runs)
            bare_late_ms = median_ms(bare_late, args.runs)
            country_ms = median_ms(get("/"), args.runs)
            region_ms = median_ms(get("/regions/01"), args.runs)
            muni_ms = median_ms(get("/municipalities/01-0000"), args.runs)
            trends_ms = median_ms(get("/trends"), args.runs)
            region_trends_ms = median_ms(get("/regions/01/trends"), args.runs)
            bare_burnup_ms = median_ms(bare_sql(BARE_BURNUP), args.runs)
            bare_region_burnup_ms = median_ms(bare_sql(BARE_BURNUP_REGION), args.runs)
            bare_week_ms = median_ms(bare_sql(BARE_WEEK), args.runs)
            bare_open_ms = median_ms(bare_sql(BARE_REGION_OPEN), args.runs)
            with services.db.read() as conn:
                n_events = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
                n_late_01 = drilldown.late_schools(conn, SNAPSHOT, NOW, policies, "01",
                                                   {s: "done" for s in SLUGS})["late_rows"]

            def week_only() -> None:
                with services.db.read() as conn:
                    week_changes(conn, NOW, policies)

            week_ms = median_ms(week_only, args.runs)
    rows = [
        ("GET /api/report", report_ms, "bare SQL: GROUP BY region, statuses", bare_ms),
        (f"late schools per region (late_by_region; {n_late:,} late)", late_ms,
         "bare SQL: the same union by hand, no zones", bare_late_ms),
        ("GET / (country page; no cache, counts every time)", country_ms,
         "bare SQL: report + late", bare_ms + bare_late_ms),
        (f"GET /regions/01 (region page; {n_late_01} late school-steps, 50 listed)",
         region_ms, "bare SQL: the region's open steps, schools and machines joined",
         bare_open_ms),
        ("GET /municipalities/01-0000 (one of 2,600; the snapshot writes each)", muni_ms, "",
         None),
        (f"what changed this week (week_changes; {n_events:,} events)", week_ms,
         "bare SQL: the week's finished steps grouped", bare_week_ms),
        ("GET /trends (country burn-up, 9 charts)", trends_ms,
         "bare SQL: finished steps grouped by step and day", bare_burnup_ms),
        ("GET /regions/01/trends (region burn-up)", region_trends_ms,
         "bare SQL: the same for one region", bare_region_burnup_ms),
    ]
    lines = ["| what | ours (median ms) | bare reference | bare (ms) | ratio |",
             "|---|---:|---|---:|---:|"]
    for name, ms, ref, ref_ms in rows:
        lines.append(f"| {name} | {ms:.1f} | {ref} | "
                     + (f"{ref_ms:.1f} | {ms / ref_ms:.1f}× |" if ref_ms else " |  |"))
    load = os.getloadavg()
    lines += ["", f"Load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.", "",
              "The late count's query over `open_steps` (one part of late_by_region's union, "
              "one step and zone), its plan:", "", "```"] + query_plan + ["```"]
    print("\n".join(lines))
    if args.out:
        args.out.write_text(
            "# bench_drilldown: national dataset (89 regions, 2,600 municipalities, 45,000 "
            f"schools), SQLite, medians of {args.runs} runs after a warm-up; requests through "
            "uvicorn over HTTP. Aim: < 300 ms per request.\n\n" + "\n".join(lines) + "\n",
            encoding="utf-8")


if __name__ == "__main__":
    main()

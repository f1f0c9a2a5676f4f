"""Benchmark: the country page (sorted, filtered, searched), the map, the exports and
/api/report on the national dataset, beside the bare SQL.

tests/nationkit.py at scale 1: the 89 subjects with their real codes and time zones, ~2,600
municipalities, 45,470 schools with machines spread over the step graph, a few regions still on
their own steps 1–3 (Дагестан, with the most schools, never connected); built with Core inserts
and `repo.insert_machines` into a temporary SQLite file. Requests go through uvicorn over HTTP;
the figures are medians of repeated runs. Run: python benchmarks/bench_dashboard.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import late_plan  # noqa: E402
from benchmarks.national import make_inn  # noqa: E402
from states import default_policies  # noqa: E402
from tests import nationkit  # noqa: E402
from tests.dashkit import running  # noqa: E402
from web import create_app, lateness  # noqa: E402
from web.access import create_token  # noqa: E402
from web.progress import SCHOOL_STEPS, late_by_region  # noqa: E402
from workflow.config import build  # noqa: E402
from workflow.services import Services  # noqa: E402

NOW = nationkit.NOW
BARE_REPORT = ("SELECT region_code, statuses, count(*) FROM machines WHERE kind = 'school' "
               "GROUP BY region_code, statuses")
BARE_OLDEST = ("SELECT region_code, step, min(since) FROM open_steps WHERE kind = 'school' AND "
               f"step IN ({', '.join(repr(s) for s in sorted(SCHOOL_STEPS))}) "
               "GROUP BY step, region_code")
BARE_OWN = "SELECT code, step, since FROM open_steps WHERE kind = 'region'"


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: caches, the first connection
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


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
        counts = nationkit.build(services, scale=1.0)
        print(f"national dataset ({sum(counts.values()):,} schools) built in "
              f"{time.perf_counter() - t0:.1f} s")
        token = create_token(services, nationkit.PM, NOW)

        def bare() -> None:
            with services.db.read() as conn:
                conn.exec_driver_sql(BARE_REPORT).all()

        policies = default_policies()
        bare_late_sql, bare_late_params = late_plan.bare_late(NOW, policies, "sqlite")

        def bare_late() -> None:
            """The late count by hand: the same index, no zones, no correction."""
            with services.db.read() as conn:
                conn.exec_driver_sql(bare_late_sql, bare_late_params).all()

        def bare_lateness() -> None:
            """What lateness.by_region adds: the regions' own steps, the oldest open steps."""
            with services.db.read() as conn:
                conn.exec_driver_sql(BARE_OWN).all()
                conn.exec_driver_sql(BARE_OLDEST).all()

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

            def lateness_only() -> None:
                with services.db.read() as conn:
                    lateness.by_region(conn, NOW, policies, counts)

            report_ms = median_ms(get("/api/report"), args.runs)
            lateness_ms = median_ms(lateness_only, args.runs)
            bare_lateness_ms = median_ms(bare_lateness, args.runs)
            filtered_ms = median_ms(get("/?district=%D0%A6%D0%A4%D0%9E&late=1&sort=name&dir=asc"),
                                    args.runs)
            search_ms = median_ms(get(f"/?q={make_inn('050000100')}"), args.runs)
            map_ms = median_ms(get("/api/map"), args.runs)
            xlsx_ms = median_ms(get("/export/regions.xlsx"), args.runs)
            csv_ms = median_ms(get("/export/regions.csv?late=1"), args.runs)
            bare_ms = median_ms(bare, args.runs)
            late_ms = median_ms(late_only, args.runs)
            bare_late_ms = median_ms(bare_late, args.runs)
            country_ms = median_ms(get("/"), args.runs)
            region_ms = median_ms(get("/regions/01"), args.runs)
    page_bare = bare_ms + bare_late_ms + bare_lateness_ms
    rows = [
        ("GET /api/report", report_ms, "bare SQL: GROUP BY region, statuses", bare_ms),
        (f"late schools per region (late_by_region; {n_late:,} late)", late_ms,
         "bare SQL: the same union by hand, no zones", bare_late_ms),
        ("lateness per region (lateness.by_region: late_by_region + own steps + oldest)",
         lateness_ms, "bare SQL: union + own steps + MIN(since) per region, step",
         bare_late_ms + bare_lateness_ms),
        ("GET / (country page, worst first, map; no cache, counts every time)", country_ms,
         "bare SQL: report + late + own steps + oldest", page_bare),
        ("GET /?district=ЦФО&late=1&sort=name (filtered, sorted)", filtered_ms,
         "the same bare SQL", page_bare),
        ("GET /?q=<ИНН> (search by a school's ИНН)", search_ms, "the same bare SQL", page_bare),
        ("GET /api/map (89 tiles)", map_ms, "the same bare SQL", page_bare),
        ("GET /export/regions.xlsx (89 rows)", xlsx_ms, "the same bare SQL", page_bare),
        ("GET /export/regions.csv?late=1", csv_ms, "the same bare SQL", page_bare),
        ("GET /regions/01 (region page)", region_ms, "", None),
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
            "# bench_dashboard: national dataset (tests/nationkit.py at scale 1: 89 regions in "
            "their real time zones, ~2,600 municipalities, 45,470 schools), SQLite, medians of "
            f"{args.runs} runs after a warm-up; requests through "
            "uvicorn over HTTP. Aim: < 300 ms per request.\n\n" + "\n".join(lines) + "\n",
            encoding="utf-8")


if __name__ == "__main__":
    main()

"""The engine on the national dataset, against bare `sqlite3` doing the same row writes.

    python benchmarks/bench_engine.py [--scale 1.0] [--db sqlite|postgres] [--calls 300]

Runs, on a fresh database: the import of the national dataset (benchmarks/national.py), step
2's reconciliations, steps 1-3 for every region (the schools follow the step graph), a metrics
import whose cascade completes the evidence steps, one `advance` (the adoption step) per school
for a few hundred schools, `report`, the late count over `open_steps` (with its query plan),
`rollout status --school X` as a whole CLI call, `steps migrate` of the whole country to a
strict line, `audit verify`. Each is set against a bare reference (benchmarks/bare_sqlite.py):
the same rows (machines, statuses, open_steps, the hash chain) written with the `sqlite3`
module, computed in plain Python with no validation, no permissions, no `transitions`. Prints a
Markdown table (wall and CPU seconds) and writes it to --out. The clock is fixed (NOW).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import late_plan, national  # noqa: E402
from benchmarks.bare_sqlite import NOW, NOW_DB, Bare  # noqa: E402
from states import SLUGS, default_graph, default_policies, graph_of  # noqa: E402
from states.graph import definition_body, fingerprint  # noqa: E402
from storage import history  # noqa: E402
from web.progress import late_by_region  # noqa: E402
from workflow import config as config_mod  # noqa: E402
from workflow import definitions  # noqa: E402
from workflow import report as report_mod  # noqa: E402
from workflow.importing import import_file  # noqa: E402
from workflow.reconcile.service import reconcile_as_registered  # noqa: E402
from workflow.services import Services  # noqa: E402

LATER = NOW + timedelta(days=60)  # the late counts: open steps are late by then
PG_URL = os.environ.get("ROLLOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms" if s >= 0.1 else f"{s * 1000:.2f} ms" if s >= 0.001 \
        else f"{s * 1e6:.0f} µs"


class Took(float):
    """Seconds on the wall clock, with the CPU seconds of this process beside them (`.cpu`):
    on a shared machine the wall clock measures the load too; sqlite3 runs in-process, so
    both sides' CPU seconds include SQLite's own work."""

    cpu: float


def took(wall: float, cpu: float) -> Took:
    t = Took(wall)
    t.cpu = cpu
    return t


def timed(fn: Callable[[], Any]) -> tuple[Any, Took]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, took(time.perf_counter() - t0, time.process_time() - c0)


def total(xs: list[Any]) -> Took:
    return took(sum(xs), sum(getattr(x, "cpu", 0.0) for x in xs))


def med(xs: Any) -> Took:
    """The median wall time and the median CPU time of `xs` (each a Took)."""
    xs = list(xs)
    return took(statistics.median(xs), statistics.median(getattr(x, "cpu", 0.0) for x in xs))


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


# -- the bare reference (benchmarks/bare_sqlite.py), the import part -------------------------
def bare_import(bare: Bare, kind: str, rows: list[dict[str, str]]) -> None:
    """The rows (parsed beforehand, not timed) inserted with their machines and events."""
    db = bare.db
    imported = {"event": "Imported", "actor": "operator", "reason": f"{kind} imported",
                "trigger": f"import {kind}", "data": {"kind": kind, "rows": len(rows)}}

    def write() -> None:
        if kind == "regions":
            db.executemany("INSERT INTO regions (code, name, timezone) VALUES (?,?,?)",
                           [(r["code"], r["name"], r["timezone"] or "Europe/Moscow")
                            for r in rows])
            bare.insert_machines("region", [(r["code"], r["code"]) for r in rows])
        elif kind == "municipalities":
            db.executemany("INSERT INTO municipalities (code, region_code, name, timezone) "
                           "VALUES (?,?,?,?)", [(r["code"], r["region"], r["name"],
                                                 r["timezone"] or None) for r in rows])
        elif kind == "schools":
            ordered = sorted(rows, key=lambda r: bool(r["parent"]))
            db.executemany(
                "INSERT INTO schools (code, region_code, municipality_code, name, inn, kpp, "
                "parent_code, teachers_expected, classes_expected, students_expected, "
                "parents_expected, timezone) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(r["code"], r["region"], r["municipality"] or None, r["name"],
                  r["inn"] or None, r["kpp"] or None, r["parent"] or None,
                  int(r["teachers_expected"]), int(r["classes_expected"]),
                  int(r["students_expected"]), int(r["parents_expected"]), None)
                 for r in ordered])
            bare.insert_machines("school", [(r["code"], r["region"]) for r in ordered])
        elif kind == "people":
            seen: dict[str, tuple[str, str]] = {}
            for r in rows:
                seen.setdefault(r["email"], (r["email"], r["name"]))
            db.executemany("INSERT INTO people (email, name) VALUES (?,?)", list(seen.values()))
            db.executemany("INSERT INTO assignments (email, role, scope, since) "
                           "VALUES (?,?,?,?)", [(r["email"], r["role"], r["scope"], NOW_DB)
                                                for r in rows])
            bare.events += [{"event": "PersonAssigned", "kind": None, "code": r["scope"] or None,
                             "region_code": r["scope"][:2] or None, "actor": "operator",
                             "reason": f"{r['role']} {r['email']}", "trigger": "import people",
                             "data": {"role": r["role"], "email": r["email"]}} for r in rows]
        bare.events.append(imported)

    bare.tx(write)


# -- the run ------------------------------------------------------------------------------------
def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def open_services(db: str, work: Path) -> tuple[Services, str, Callable[[], None]]:
    if db == "sqlite":
        url = f"sqlite:///{work / 'rollout.db'}"
        cleanup: Callable[[], None] = lambda: None  # noqa: E731
    else:
        from sqlalchemy import create_engine, text

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    services = Services(config_mod.build({"database": {"url": url}}, work))
    services.db.migrate()
    return services, url, cleanup


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--calls", type=int, default=300, help="single advances to time")
    ap.add_argument("--cli-runs", type=int, default=7, help="CLI status calls to time")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp dir)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results.md"))
    args = ap.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rollout-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    for p in work.glob("*.db*"):
        p.unlink()
    try:
        return run(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    say = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    # generated in a child process, so that the peak memory measured below is the product's
    _, t_gen = timed(lambda: subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from benchmarks "
         "import national; national.write_dataset(sys.argv[2], seed=1, scale=float(sys.argv[3]))",
         str(ROOT), str(work / "data"), str(args.scale)], check=True))
    paths = {k: work / "data" / f"{k}.csv" for k in national.KINDS}
    paths["manifest"] = work / "data" / "manifest.json"
    manifest = json.loads(paths["manifest"].read_text(encoding="utf-8"))
    say(f"dataset: {manifest} ({t_gen:.1f} s)")
    services, url, cleanup = open_services(args.db, work)
    ours: dict[str, Any] = {}
    notes: dict[str, str] = {}

    # 1. the import
    for kind in national.REGISTRY_KINDS:
        loaded, t = timed(lambda k=kind: national.load_dataset(services, paths, NOW, [k]))
        res = loaded[kind][0]
        ours[f"import {kind}"] = t
        notes[f"import {kind}"] = f"{res.rows:,} rows"
        say(f"import {kind}: {t:.2f} s")
    ours["import total"] = total([ours[f"import {k}"] for k in national.REGISTRY_KINDS])
    with services.db.read() as conn:
        ev_after_import = history.count(conn)

    # 2. steps 1-3 for every region (step 2's reconciliations first, timed on their own: the
    # bare reference has none)
    _, t = timed(lambda: [reconcile_as_registered(services, rc, NOW)
                          for rc in manifest["regions_codes"]])
    ours["reconciliations (step 2's guard), every region"] = t
    n, t = timed(lambda: national.walk_regions(services, NOW, reconcile=False))
    ours["steps 1-3, every region"] = t
    notes["steps 1-3, every region"] = f"{n:,} transitions in {3 * manifest['regions']} advances"
    say(f"steps 1-3: {t:.2f} s, {n} transitions")

    # 3. the metrics import, cascading
    res, t = timed(lambda: import_file(services, "metrics", paths["metrics"], now=NOW))
    ours["metrics import + cascade"] = t
    notes["metrics import + cascade"] = f"{res.rows:,} rows, {res.transitions:,} transitions"
    say(f"metrics: {t:.2f} s, {res.transitions} transitions")

    # 4. one advance per school (the adoption step), a few hundred calls
    from sqlalchemy import select

    from storage.models import machines
    with services.db.read() as conn:
        ready = list(conn.execute(select(machines.c.code).where(
            machines.c.kind == "school", machines.c.state == "adoption")
            .order_by(machines.c.code)).scalars())
    picked = ready[:: max(1, len(ready) // args.calls)][: args.calls]
    per_call = []
    for code in picked:
        _, t = timed(lambda c=code: services.advance("school", c, "adoption",
                                                     national.admin_email(c), NOW))
        per_call.append(t)
    ours["advance one school (median)"] = med(per_call)
    ours["advance one school (p95)"] = p95(per_call)
    notes["advance one school (median)"] = f"{len(per_call)} calls through Services.advance"

    # 5. report
    def report() -> Any:
        with services.db.read() as conn:
            return report_mod.national(conn)
    times = [timed(report)[1] for _ in range(5)]
    ours["report (national)"] = med(times)

    # 5b. late schools per region, counted on the open_steps index, 60 days on
    policies = default_policies()

    def late() -> dict[str, int]:
        with services.db.read() as conn:
            return late_by_region(conn, LATER, policies)
    found, t = timed(late)
    ours["late schools per region (late_by_region)"] = med(
        [t] + [timed(late)[1] for _ in range(4)])
    with services.db.read() as conn:
        query_plan = late_plan.plan(conn, late_plan.late_query(
            "classes", late_plan.first_cutoff(LATER, policies), ["05", "77"]))
    notes["late schools per region (late_by_region)"] = (
        f"{sum(found.values()):,} late schools at +60 days")

    # 6. status as a whole CLI call
    cfg = work / "config.yaml"
    cfg.write_text(json.dumps({"database": {"url": url}}), encoding="utf-8")
    exe = str(Path(sys.executable).with_name("rollout"))
    school = picked[len(picked) // 2] if picked else ready[0]
    cli_times = []
    for _ in range(args.cli_runs):
        t0 = time.perf_counter()
        done = subprocess.run([exe, "--config", str(cfg), "status", "--school", school],
                              capture_output=True, cwd=work)
        cli_times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            say(done.stderr.decode()[-2000:])
            raise SystemExit("status failed")
    ours["`rollout status --school` (CLI)"] = statistics.median(cli_times)
    py_times = [timed(lambda: subprocess.run([sys.executable, "-c", "pass"]))[1]
                for _ in range(5)]
    _, t_status = timed(lambda: services.status("school", school))
    notes["`rollout status --school` (CLI)"] = (
        f"median of {len(cli_times)}; in-process status {ms(t_status)}")

    # 6b. the whole country moved to a strict line (each step after the one before it)
    strict = {slug: replace(p, after=(SLUGS[i - 1],) if i else ())
              for i, (slug, p) in enumerate(policies.items())}
    mig, t = timed(lambda: definitions.migrate(services.db, strict, NOW))
    ours["steps migrate: the country to a strict line"] = t
    notes["steps migrate: the country to a strict line"] = (
        f"{sum(mig.moved.values()):,} machines moved, {mig.completed:,} transitions after")
    say(f"migrate: {t:.2f} s, {dict(mig.moved)}, {mig.completed}")

    # 7. audit verify
    def verify() -> int:
        with services.db.read() as conn:
            return history.verify(conn)
    n_events, t = timed(verify)
    ours["audit verify"] = t
    notes["audit verify"] = f"{n_events:,} events"
    say(f"verify: {t:.2f} s, {n_events} events")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    services.db.dispose()
    cleanup()

    # the bare reference, afterwards (so the peak memory above is ours alone)
    bare_db = Bare(work / "bare.db", default_graph())
    bare: dict[str, Any] = {}
    rows = {k: read_rows(paths[k]) for k in national.KINDS}
    for kind in national.REGISTRY_KINDS:
        _, bare[f"import {kind}"] = timed(lambda k=kind: bare_import(bare_db, k, rows[k]))
    bare["import total"] = total([bare[f"import {k}"] for k in national.REGISTRY_KINDS])
    codes = [r["code"] for r in rows["regions"]]

    def walk() -> int:
        return sum(bare_db.region_step(rc, step, national.coordinator_email(rc)) for rc in codes
                   for step in ("coordinator", "registry", "municipalities"))
    n_bare, bare["steps 1-3, every region"] = timed(walk)
    n_metrics_bare, bare["metrics import + cascade"] = timed(lambda: bare_db.metrics(
        rows["metrics"], codes))
    bare_calls = []
    for code in picked:
        bare_calls.append(timed(lambda c=code: bare_db.advance_one(c, national.admin_email(c)))[1])
    bare["advance one school (median)"] = med(bare_calls) if bare_calls else 0
    bare["advance one school (p95)"] = p95(bare_calls) if bare_calls else 0
    bare["report (national)"] = med(timed(bare_db.report)[1] for _ in range(5))
    sql, params = late_plan.bare_late(LATER, policies, "sqlite")
    bare["late schools per region (late_by_region)"] = med(
        timed(lambda: bare_db.db.execute(sql, params).fetchall())[1] for _ in range(5))
    bare["`rollout status --school` (CLI)"] = statistics.median(py_times)
    (moved_bare, n_mig_bare), bare["steps migrate: the country to a strict line"] = timed(
        lambda: bare_db.migrate(graph_of(strict), codes, definition_body(strict),
                                fingerprint(strict)))
    n_bare_events, bare["audit verify"] = timed(bare_db.verify)
    notes["steps 1-3, every region"] += f" (bare: {n_bare:,})"
    notes["metrics import + cascade"] += f" (bare: {n_metrics_bare:,})"
    notes["steps migrate: the country to a strict line"] += (
        f" (bare: {moved_bare:,}, {n_mig_bare:,})")
    notes["audit verify"] += f" (bare: {n_bare_events:,})"
    notes["`rollout status --school` (CLI)"] += "; bare = `python -c pass`"
    notes["late schools per region (late_by_region)"] += "; bare: the union by hand, no zones"

    aims = {"import total": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "import regions": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "import municipalities": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "import schools": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "import people": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "steps 1-3, every region": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "metrics import + cascade": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "advance one school (median)": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "report (national)": ("< 300 ms", lambda o, b: o < 0.3),
            "late schools per region (late_by_region)": ("< 300 ms", lambda o, b: o < 0.3),
            "`rollout status --school` (CLI)": ("< 0.5 s", lambda o, b: o < 0.5)}
    lines = [
        f"# bench_engine: scale {args.scale}, {args.db}",
        "",
        f"{manifest['regions']} regions, {manifest['municipalities']:,} municipalities, "
        f"{manifest['schools']:,} schools ({manifest['branches']:,} branches), "
        f"{manifest['people']:,} people rows; {ev_after_import:,} events after the import, "
        f"{n_events:,} at the end. Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, {os.cpu_count()} cores. Bare = the same rows with the "
        "`sqlite3` module (WAL, synchronous=NORMAL, same schema, same hash chain).",
        "",
        "| operation | ours | bare sqlite3 | ratio | ours CPU | bare CPU | CPU ratio | aim | "
        "| notes |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for op, o in ours.items():
        b = bare.get(op)
        ratio = f"{o / b:.1f}×" if b else ""
        oc, bc = getattr(o, "cpu", None), getattr(b, "cpu", None)
        cpu_ratio = f"{oc / bc:.1f}×" if oc and bc and bc > 1e-5 else ""
        aim, ok = aims.get(op, ("", None))
        # ratios are judged on CPU seconds where both have them (the box is shared)
        by_cpu = bool(oc and bc and "bare" in aim)
        verdict = "" if ok is None else ("ok" if (ok(oc, bc) if by_cpu else ok(o, b))
                                         else "**over**")
        lines.append(f"| {op} | {ms(o)} | {ms(b) if b else ''} | {ratio} | "
                     f"{ms(oc) if oc else ''} | {ms(bc) if bc else ''} | {cpu_ratio} | {aim} | "
                     f"{verdict} | {notes.get(op, '')} |")
    lines.append(f"| peak memory (ru_maxrss) | {peak_mb:,.0f} MB | | | | | | < 300 MB | "
                 f"{'ok' if peak_mb < 300 else '**over**'} | the whole run before the bare part |")
    load = os.getloadavg()
    lines += ["", f"Load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.", "",
              "The late count's query over `open_steps` (one part of late_by_region's union, "
              "one step and zone), its plan:", "", "```"] + query_plan + ["```"]
    table = "\n".join(lines) + "\n"
    print(table)
    Path(args.out).write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

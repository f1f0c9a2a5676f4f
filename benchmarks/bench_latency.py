"""A coordinator's `advance` while a big job writes: its latency during the job beside idle.

    python benchmarks/bench_latency.py [--scale 1.0] [--db sqlite|postgres]

On a fresh database with the national dataset (benchmarks/national.py): the registry and the
people imported, steps 1-3 done in every region but the largest, the metrics imported (so the
schools stand on the adoption step). Then another OS process calls `Services.advance` (a
school's adoption step, a different school each call) in a loop, first on the idle database,
then during each job run here: a national reminder pass, a national metrics import (every
school's counts changed) and steps 1-3 of the largest region (its cascade to its schools).
Reports the advance latency p50/p99 during each job beside the idle one (aim: p99 under 1 s)
and writes the table to --out. PostgreSQL: $ROLLOUT_TEST_PG_URL (a fresh schema in it).
The clock is fixed; the box is shared, so run it more than once and read the medians.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import national  # noqa: E402
from benchmarks.bare_sqlite import NOW  # noqa: E402
from benchmarks.bench_engine import open_services  # noqa: E402

REMIND_AT = NOW + timedelta(days=30)  # a Thursday, 10:00 in Moscow: many steps late
IDLE_CALLS = 60


def advancer(url: str, work: str, codes: list[str], stop: Any, ready: Any, out: Any) -> None:
    """In its own process: advance each school's adoption step until told to stop."""
    from workflow import config as config_mod
    from workflow.services import Services

    services = Services(config_mod.build({"database": {"url": url}}, Path(work)))
    services.advance("school", codes[0], "adoption", national.admin_email(codes[0]), NOW)
    ready.set()  # warmed up: modules loaded, statements compiled
    took = []
    for code in codes[1:]:
        if stop.is_set():
            break
        t0 = time.perf_counter()
        services.advance("school", code, "adoption", national.admin_email(code), NOW)
        took.append(time.perf_counter() - t0)
    out.put(took)
    services.db.dispose()


def during(url: str, work: Path, codes: list[str], job: Callable[[], Any] | None
           ) -> tuple[list[float], float]:
    """The advancer's latencies while `job` runs (None: IDLE_CALLS calls on the idle
    database), and the job's wall seconds."""
    ctx = mp.get_context("spawn")
    stop, ready, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=advancer, args=(url, str(work), codes, stop, ready, out))
    proc.start()
    ready.wait(600)
    t0 = time.perf_counter()
    if job is not None:
        job()
        stop.set()
    took: list[float] = out.get()
    wall = time.perf_counter() - t0
    proc.join()
    return took, wall


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms" if s >= 0.01 else f"{s * 1000:.1f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results-latency.md"))
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="rollout-latency-"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    from sqlalchemy import select

    from storage.models import machines
    from workflow import mail as mail_mod
    from workflow.importing import import_file
    from workflow.reconcile.service import reconcile_as_registered

    say = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                    "from benchmarks import national; national.write_dataset(sys.argv[2], "
                    "seed=1, scale=float(sys.argv[3]))", str(ROOT), str(work / "data"),
                    str(args.scale)], check=True)
    paths = {k: work / "data" / f"{k}.csv" for k in national.KINDS}
    manifest = json.loads((work / "data" / "manifest.json").read_text(encoding="utf-8"))
    with paths["schools"].open(encoding="utf-8", newline="") as f:
        per_region = Counter(r["region"] for r in csv.DictReader(f))
    largest, largest_n = per_region.most_common(1)[0]
    services, url, cleanup = open_services(args.db, work)
    try:
        t0 = time.perf_counter()
        national.load_dataset(services, paths, NOW)
        others = [rc for rc in manifest["regions_codes"] if rc != largest]
        for rc in others:
            reconcile_as_registered(services, rc, NOW)
        national.walk_regions(services, NOW, others, reconcile=False)
        import_file(services, "metrics", paths["metrics"], now=NOW)
        say(f"set up in {time.perf_counter() - t0:.0f} s; largest region {largest} "
            f"({largest_n:,} schools)")
        with services.db.read() as conn:
            ready = list(conn.execute(select(machines.c.code).where(
                machines.c.kind == "school", machines.c.state == "adoption")
                .order_by(machines.c.id)).scalars())
        # a changed metrics file: every school's teachers one more
        changed = work / "metrics-changed.csv"
        with paths["metrics"].open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            r["teachers"] = str(int(r["teachers"] or 0) + 1)
        with changed.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

        def pass_() -> None:
            s = mail_mod.remind(services, REMIND_AT)
            say(f"reminder pass: {s.reminders + s.escalations:,} messages")

        def import_() -> None:
            r = import_file(services, "metrics", changed, now=NOW)
            say(f"import: {r.updated:,} updated")

        def steps_1_3() -> None:
            n = national.walk_regions(services, NOW, [largest])
            say(f"steps 1-3 of {largest}: {n:,} transitions")

        jobs: list[tuple[str, Callable[[], Any] | None]] = [
            ("idle", None), ("national reminder pass", pass_),
            ("national metrics import (every school changed)", import_),
            (f"steps 1-3 of the largest region ({largest}, {largest_n:,} schools)", steps_1_3)]
        share = len(ready) // len(jobs)
        results = []
        for i, (name, job) in enumerate(jobs):
            codes = ready[i * share:(i + 1) * share]
            if job is None:
                codes = codes[:IDLE_CALLS + 1]
            took, wall = during(url, work, codes, job)
            results.append((name, took, wall))
            say(f"{name}: {len(took)} advances in {wall:.1f} s, p50 {ms(pct(took, 50))}, "
                f"p99 {ms(pct(took, 99))}")
    finally:
        services.db.dispose()
        cleanup()
    idle = results[0][1]
    load = os.getloadavg()
    lines = [f"# bench_latency: scale {args.scale}, {args.db}", "",
             f"{manifest['schools']:,} schools in {manifest['regions']} regions. Another OS "
             "process advances a school's adoption step in a loop (a different school each "
             "call) while the job runs in this one. Idle: "
             f"{len(idle)} calls, p50 {ms(pct(idle, 50))}, p99 {ms(pct(idle, 99))}.", "",
             "| job | job wall | advances during it | p50 | p99 | max | idle p50 | idle p99 | "
             "aim: p99 < 1 s |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, took, wall in results[1:]:
        ok = "**over**" if not took or pct(took, 99) >= 1.0 else \
            "ok" if max(took) < 1.0 else "ok (but the max is over 1 s)"
        lines.append(f"| {name} | {wall:.1f} s | {len(took)} | {ms(pct(took, 50))} | "
                     f"{ms(pct(took, 99))} | {ms(max(took)) if took else ''} | "
                     f"{ms(pct(idle, 50))} | {ms(pct(idle, 99))} | {ok} |")
    lines += ["", f"Load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              f"({os.cpu_count()} cores, shared)."]
    table = "\n".join(lines) + "\n"
    print(table)
    Path(args.out).write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The two "≤ 3× bare" aims of issue 11 on their own, quick enough for the national scale:
the registry import (schools above all) and one `advance`, each beside bench_engine's bare
`sqlite3` reference doing the same writes.

    python benchmarks/bench_advance.py [--scale 1.0] [--calls 300] [--regions 3]

On a fresh SQLite file: regions, municipalities and schools imported (timed); then steps 1-3
and the metrics for a few regions only (not timed: enough schools on the adoption step), and
`--calls` single advances of a school's adoption step (median), in blocks of 25 that
alternate with the bare side's advances of the same schools on its own file. Reports wall and
CPU seconds; the box is shared, so read the CPU ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import national  # noqa: E402
from benchmarks.bare_sqlite import NOW, Bare  # noqa: E402
from benchmarks.bench_engine import bare_import, med, ms, open_services, read_rows, timed  # noqa: E402,E501
from states import default_graph  # noqa: E402

KINDS = ("regions", "municipalities", "schools")
BLOCK = 25  # advances timed on one side before the other side takes its turn


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--regions", type=int, default=3, help="regions walked for the advances")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="rollout-advance-"))
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> int:
    from sqlalchemy import select

    from storage.models import machines
    from workflow.importing import import_file

    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                    "from benchmarks import national; national.write_dataset(sys.argv[2], "
                    "seed=1, scale=float(sys.argv[3]))", str(ROOT), str(work / "data"),
                    str(args.scale)], check=True)
    paths = {k: work / "data" / f"{k}.csv" for k in national.KINDS}
    manifest = json.loads((work / "data" / "manifest.json").read_text(encoding="utf-8"))
    rows = {k: read_rows(paths[k]) for k in national.KINDS}
    walked = manifest["regions_codes"][:args.regions]
    ours: dict[str, Any] = {}
    services, _, cleanup = open_services("sqlite", work)
    for kind in KINDS:
        _, ours[f"import {kind}"] = timed(lambda k=kind: import_file(services, k, paths[k],
                                                                      now=NOW))
    national.load_dataset(services, paths, NOW, ["people"])
    national.walk_regions(services, NOW, walked)
    metrics = work / "metrics-walked.csv"
    keep = [r for r in rows["metrics"] if any(r["school"].startswith(rc) for rc in walked)]
    with metrics.open("w", encoding="utf-8", newline="") as f:
        import csv

        w = csv.DictWriter(f, fieldnames=list(rows["metrics"][0]))
        w.writeheader()
        w.writerows(keep)
    import_file(services, "metrics", metrics, now=NOW)
    with services.db.read() as conn:
        ready = list(conn.execute(select(machines.c.code).where(
            machines.c.kind == "school", machines.c.state == "adoption")
            .order_by(machines.c.code)).scalars())
    picked = ready[:: max(1, len(ready) // args.calls)][: args.calls]
    import resource

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ours only, so far

    bare_db = Bare(work / "bare.db", default_graph())
    bare: dict[str, Any] = {}
    for kind in KINDS:
        _, bare[f"import {kind}"] = timed(lambda k=kind: bare_import(bare_db, k, rows[k]))
    bare_import(bare_db, "people", rows["people"])
    for rc in walked:
        for step in ("coordinator", "registry", "municipalities"):
            bare_db.region_step(rc, step, national.coordinator_email(rc))
    bare_db.metrics([r for r in keep], walked)
    # The advances alternate in blocks, ours then the bare ones for the same schools: on a
    # shared box the load changes from second to second and both sides of the ratio should see
    # the same; blocks (not single calls) so that neither runs with the other's caches.
    calls, bare_calls = [], []
    for start in range(0, len(picked), BLOCK):
        block = picked[start:start + BLOCK]
        calls += [timed(lambda c=code: services.advance(
            "school", c, "adoption", national.admin_email(c), NOW))[1] for code in block]
        bare_calls += [timed(lambda c=code: bare_db.advance_one(
            c, national.admin_email(c)))[1] for code in block]
    ours["advance one school (median)"] = med(calls)
    bare["advance one school (median)"] = med(bare_calls)
    services.db.dispose()
    cleanup()

    import os

    lines = [f"# bench_advance: scale {args.scale}, sqlite", "",
             f"{manifest['schools']:,} schools; {len(picked)} advances on {len(ready):,} "
             f"schools at the adoption step ({', '.join(walked)}).", "",
             "| operation | ours | bare | ours CPU | bare CPU | CPU ratio | aim |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for op, o in ours.items():
        b = bare[op]
        ratio = o.cpu / b.cpu if b.cpu > 1e-6 else float("nan")
        lines.append(f"| {op} | {ms(o)} | {ms(b)} | {ms(o.cpu)} | {ms(b.cpu)} | "
                     f"{ratio:.1f}× | ≤ 3× {'ok' if ratio <= 3 else '**over**'} |")
    load = os.getloadavg()
    lines += ["", f"Peak memory (ru_maxrss) of the import and the setup: "
              f"{peak_mb:,.0f} MB (aim < 300 MB).",
              "", f"Load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
              f"median advance wall {statistics.median(calls) * 1000:.2f} ms."]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

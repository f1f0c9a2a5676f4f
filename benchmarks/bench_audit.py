"""`audit verify` on the national dataset: the chain alone, and the chain with the replayed state.

    python benchmarks/bench_audit.py [--scale 1.0] [--keep DIR]

Builds the database as bench_engine does (registry, people, steps 1-3 for every region, the
metrics import and its cascade), then runs each verification in a child process of its own, so
that its peak memory (ru_maxrss) is the verification's and nothing else's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


def build(work: Path, scale: float) -> str:
    from benchmarks import national
    from workflow import config as config_mod
    from workflow.importing import import_file
    from workflow.services import Services

    url = f"sqlite:///{work / 'national.db'}"
    if (work / "national.db").exists():
        return url
    paths = national.write_dataset(work / "data", seed=1, scale=scale)
    services = Services(config_mod.build({"database": {"url": url}}, work))
    services.db.migrate()
    national.load_dataset(services, paths, NOW)
    national.walk_regions(services, NOW)
    import_file(services, "metrics", paths["metrics"], now=NOW)
    services.db.dispose()
    return url


def child(url: str, mode: str) -> None:
    """One verification; prints a JSON line with its figures."""
    from storage import Database, history
    from workflow import audit

    db = Database(url)
    t0, c0 = time.perf_counter(), time.process_time()
    with db.snapshot() as conn:
        if mode == "chain":
            n, checked = history.verify(conn), None
        else:
            n, checked, _ = audit.verify(conn)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    # CPU seconds beside the wall clock: on a shared machine the wall clock measures the load
    print(json.dumps({"mode": mode, "events": n, "seconds": round(took, 2),
                      "cpu_seconds": round(cpu, 2),
                      "peak_mb": peak_mb(), "checked": checked and vars(checked)}))


def peak_mb() -> int:
    """This process's peak resident memory (VmHWM; ru_maxrss would count the parent's, whose
    pages a forked child starts from)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return -1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--keep", help="Work directory kept (and reused) between runs.")
    ap.add_argument("--child", nargs=2, metavar=("URL", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    work = Path(args.keep or tempfile.mkdtemp(prefix="rollout-audit-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    url = build(work, args.scale)
    print(f"database: {url} ({time.perf_counter() - t0:.0f} s to build)", file=sys.stderr)
    base = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                           "import workflow.audit; from benchmarks.bench_audit import peak_mb; "
                           "print(peak_mb())", str(ROOT)], check=True,
                          capture_output=True, text=True).stdout.strip()
    print(f"python with the modules loaded, doing nothing: {base} MB")
    for mode in ("chain", "full", "chain", "full"):
        out = subprocess.run([sys.executable, __file__, "--child", url, mode], check=True,
                             capture_output=True, text=True).stdout
        print(out.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

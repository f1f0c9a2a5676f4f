"""The engine on the national dataset, against bare `sqlite3` doing the same row writes.

    python benchmarks/bench_engine.py [--scale 1.0] [--db sqlite|postgres] [--calls 300]

Runs, on a fresh database: the import of the national dataset (benchmarks/national.py), steps
1-3 for every region (the schools follow), a metrics import whose cascade completes steps 5-8,
one `advance` (the adoption step) per school for a few hundred schools, `report`, `rollout
status --school X` as a whole CLI call, `audit verify`. Each is set against a bare reference:
the same rows written with the `sqlite3` module (WAL, synchronous=NORMAL, BEGIN IMMEDIATE, the
same schema from the migrations, the same hash chain over the events), computed in plain Python
with no validation, no permissions, no `transitions`. Prints a Markdown table and writes it to
benchmarks/results.md. The clock is fixed (NOW); times are time.perf_counter.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import national  # noqa: E402
from states import STATES, STEPS  # noqa: E402
from storage import Database, history  # noqa: E402
from workflow import config as config_mod  # noqa: E402
from workflow import report as report_mod  # noqa: E402
from workflow.importing import import_file  # noqa: E402
from workflow.services import Services  # noqa: E402

NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
NOW_DB = NOW.replace(tzinfo=None).isoformat(" ", "microseconds")  # SQLAlchemy's SQLite format
NOW_ISO = NOW.isoformat()
GENESIS = "0" * 64
SLUGS = [s.slug for s in STEPS]
HASHED = history.HASHED
PG_URL = os.environ.get("ROLLOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms" if s >= 0.1 else f"{s * 1000:.2f} ms" if s >= 0.001 \
        else f"{s * 1e6:.0f} µs"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]


# -- the bare reference --------------------------------------------------------------------------
class Bare:
    """The same writes through the bare sqlite3 module: the floor our figures are set against."""

    def __init__(self, path: Path) -> None:
        Database(f"sqlite:///{path}").migrate()  # the same tables and indexes
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")

    def chain(self, evs: list[dict[str, Any]]) -> None:
        """Append events to the hash chain (inside the caller's transaction)."""
        cur = self.db
        seq, prev = cur.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        rows = []
        for ev in evs:
            seq += 1
            payload = {k: ev.get(k) for k in HASHED}
            payload["seq"], payload["at"] = seq, NOW_ISO
            h = hashlib.sha256(prev.encode() + json.dumps(
                payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                default=str).encode()).hexdigest()
            data = ev.get("data")
            rows.append((seq, NOW_DB, ev.get("kind"), ev.get("code"), ev.get("region_code"),
                         ev["event"], ev.get("step"), ev.get("from_state"), ev.get("to_state"),
                         ev["actor"], ev.get("role"), ev.get("reason"), ev.get("trigger"),
                         None if data is None else json.dumps(data), prev, h))
            prev = h
        cur.executemany("INSERT INTO events (seq, at, kind, code, region_code, event, step, "
                        "from_state, to_state, actor, role, reason, trigger, data, prev_hash, "
                        "hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        cur.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))

    def tx(self, fn: Callable[[], Any]) -> Any:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            out = fn()
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return out

    # the import: rows parsed beforehand (not timed), then inserted
    def import_kind(self, kind: str, rows: list[dict[str, str]]) -> None:
        fresh = json.dumps({s.slug: {"status": "current" if s.number == 1 else "pending",
                                     "since": NOW_ISO if s.number == 1 else None} for s in STEPS})
        db = self.db
        imported = {"event": "Imported", "actor": "operator", "reason": f"{kind} imported",
                    "trigger": f"import {kind}", "data": {"kind": kind, "rows": len(rows)}}

        def machines(kind_: str, pairs: list[tuple[str, str]]) -> None:
            db.executemany("INSERT INTO machines (kind, code, region_code, state, steps, version, "
                           "updated_at) VALUES (?,?,?,?,?,1,?)",
                           [(kind_, c, r, STATES[0], fresh, NOW_DB) for c, r in pairs])

        def write() -> None:
            if kind == "regions":
                db.executemany("INSERT INTO regions (code, name, timezone) VALUES (?,?,?)",
                               [(r["code"], r["name"], r["timezone"] or "Europe/Moscow")
                                for r in rows])
                machines("region", [(r["code"], r["code"]) for r in rows])
                self.chain([imported])
            elif kind == "municipalities":
                db.executemany("INSERT INTO municipalities (code, region_code, name, timezone) "
                               "VALUES (?,?,?,?)", [(r["code"], r["region"], r["name"],
                                                     r["timezone"] or None) for r in rows])
                self.chain([imported])
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
                machines("school", [(r["code"], r["region"]) for r in ordered])
                self.chain([imported])
            elif kind == "people":
                seen: dict[str, tuple[str, str]] = {}
                for r in rows:
                    seen.setdefault(r["email"], (r["email"], r["name"]))
                db.executemany("INSERT INTO people (email, name) VALUES (?,?)",
                               list(seen.values()))
                db.executemany("INSERT INTO assignments (email, role, scope, since) "
                               "VALUES (?,?,?,?)",
                               [(r["email"], r["role"], r["scope"], NOW_DB) for r in rows])
                evs = [{"event": "PersonAssigned", "kind": None, "code": r["scope"] or None,
                        "region_code": r["scope"][:2] or None, "actor": "operator",
                        "reason": f"{r['role']} {r['email']}", "trigger": "import people",
                        "data": {"role": r["role"], "email": r["email"]}} for r in rows]
                self.chain(evs + [imported])

        self.tx(write)

    def _transition(self, steps: dict[str, Any], src: str, dst: str) -> None:
        steps[src] = {"status": "done", "since": NOW_ISO}
        if dst != "done":
            steps[dst] = {"status": "current", "since": NOW_ISO}

    def _event(self, kind: str, code: str, region: str, src: str, dst: str, actor: str,
               data: Any = None) -> dict[str, Any]:
        return {"event": "StepCompleted", "kind": kind, "code": code, "region_code": region,
                "step": src, "from_state": src, "to_state": dst, "actor": actor,
                "trigger": f"complete by {actor}", "data": data}

    def _save(self, changed: list[tuple[int, str, dict[str, Any], int]]) -> None:
        cur = self.db.executemany(
            "UPDATE machines SET state = ?, steps = ?, version = ?, updated_at = ? "
            "WHERE id = ? AND version = ?",
            [(state, json.dumps(steps), v + 1, NOW_DB, id_, v) for id_, state, steps, v in changed])
        assert cur.rowcount == len(changed)

    def region_step(self, region: str, step: str) -> int:
        """One region step in one transaction; its schools mirror it (and, once step 3 is done,
        complete `admins`, whose evidence holds: every school has its admin)."""
        def write() -> int:
            db = self.db
            id_, steps, v = db.execute("SELECT id, steps, version FROM machines WHERE kind = "
                                       "'region' AND code = ?", (region,)).fetchone()
            steps = json.loads(steps)
            nxt = STATES[STATES.index(step) + 1]
            self._transition(steps, step, nxt)
            changed, evs = [(id_, nxt, steps, v)], [self._event("region", region, region, step,
                                                                nxt, "rc")]
            admins = {r[0] for r in db.execute(
                "SELECT a.scope FROM assignments a JOIN schools s ON s.code = a.scope WHERE "
                "a.role = 'school_admin' AND s.region_code = ?", (region,))}
            for sid, code, ssteps, sv in db.execute(
                    "SELECT id, code, steps, version FROM machines WHERE kind = 'school' AND "
                    "region_code = ? ORDER BY id", (region,)).fetchall():
                ssteps = json.loads(ssteps)
                self._transition(ssteps, step, nxt)
                evs.append(self._event("school", code, region, step, nxt, "system"))
                state = nxt
                if nxt == "admins" and code in admins:
                    self._transition(ssteps, "admins", "teachers")
                    evs.append(self._event("school", code, region, "admins", "teachers", "system"))
                    state = "teachers"
                changed.append((sid, state, ssteps, sv))
            # the region's aggregate follows its schools
            if nxt == "admins" and len(changed) > 1 and all(
                    c[1] == "teachers" for c in changed[1:]):
                self._transition(steps, "admins", "teachers")
                changed[0] = (id_, "teachers", steps, v)
                evs.append(self._event("region", region, region, "admins", "teachers", "system"))
            self._save(changed)
            self.chain(evs)
            return len(evs)

        return int(self.tx(write))

    def metrics(self, rows: list[dict[str, str]]) -> int:
        """Insert the counts, complete the evidence steps that hold, then the aggregates."""
        metric_steps = ("teachers", "classes", "parents", "students")

        def write() -> int:
            db = self.db
            db.executemany("INSERT INTO metrics (school_code, teachers, classes, parents, "
                           "students, updated_at) VALUES (?,?,?,?,?,?)",
                           [(r["school"], int(r["teachers"]), int(r["classes"]),
                             int(r["parents"]), int(r["students"]), NOW_DB) for r in rows])
            changed, evs = [], []
            for (sid, code, region, state, ssteps, sv, *figures) in db.execute(
                    "SELECT m.id, m.code, m.region_code, m.state, m.steps, m.version, "
                    "t.teachers, s.teachers_expected, t.classes, s.classes_expected, t.parents, "
                    "s.parents_expected, t.students, s.students_expected FROM machines m "
                    "JOIN schools s ON s.code = m.code LEFT JOIN metrics t ON "
                    "t.school_code = m.code WHERE m.kind = 'school' ORDER BY m.id").fetchall():
                have = dict(zip(metric_steps, figures[0::2], strict=True))
                need = dict(zip(metric_steps, figures[1::2], strict=True))
                ssteps, moved = json.loads(ssteps), False
                while state in metric_steps and (have[state] or 0) >= need[state]:
                    nxt = STATES[STATES.index(state) + 1]
                    self._transition(ssteps, state, nxt)
                    evs.append(self._event("school", code, region, state, nxt, "system", {
                        "evidence": [{"code": "evidence_met", "figures": {
                            "loaded": have[state], "expected": need[state]}}]}))
                    state, moved = nxt, True
                if moved:
                    changed.append((sid, state, ssteps, sv))
            self._save(changed)
            # aggregates: a region completes a school step when all its schools did
            agg = []
            for rid, region, rstate, rsteps, rv in db.execute(
                    "SELECT id, code, state, steps, version FROM machines WHERE kind = 'region'"
                    ).fetchall():
                counts = dict(db.execute("SELECT state, count(*) FROM machines WHERE kind = "
                                         "'school' AND region_code = ? GROUP BY state",
                                         (region,)).fetchall())
                total, rsteps, moved = sum(counts.values()), json.loads(rsteps), False
                while rstate in metric_steps:
                    past = sum(n for s, n in counts.items()
                               if STATES.index(s) > STATES.index(rstate))
                    if past < total:
                        break
                    nxt = STATES[STATES.index(rstate) + 1]
                    self._transition(rsteps, rstate, nxt)
                    evs.append(self._event("region", region, region, rstate, nxt, "system"))
                    rstate, moved = nxt, True
                if moved:
                    agg.append((rid, rstate, rsteps, rv))
            self._save(agg)
            self.chain(evs + [{"event": "Imported", "actor": "operator", "reason": "metrics",
                               "trigger": "import metrics"}])
            return len(evs)

        return int(self.tx(write))

    def advance_one(self, code: str) -> None:
        """select + versioned update + chained history insert, one transaction."""
        def write() -> None:
            db = self.db
            id_, steps, v, region = db.execute(
                "SELECT id, steps, version, region_code FROM machines WHERE kind = 'school' "
                "AND code = ?", (code,)).fetchone()
            steps = json.loads(steps)
            self._transition(steps, "adoption", "done")
            self._save([(id_, "done", steps, v)])
            self.chain([self._event("school", code, region, "adoption", "done",
                                    national.admin_email(code))])

        self.tx(write)

    def report(self) -> Any:
        return self.db.execute("SELECT region_code, state, count(*) FROM machines WHERE kind = "
                               "'school' GROUP BY region_code, state").fetchall()

    def verify(self) -> int:
        """Recompute the chain from the stored rows (as `audit verify` does)."""
        prev, n = GENESIS, 0
        cols = ", ".join(("seq", "at", "kind", "code", "region_code", "event", "step",
                          "from_state", "to_state", "actor", "role", "reason", "trigger", "data",
                          "prev_hash", "hash"))
        for row in self.db.execute(f"SELECT {cols} FROM events ORDER BY seq"):
            payload = dict(zip(HASHED, row[:14], strict=True))
            payload["at"] = NOW_ISO
            payload["data"] = None if row[13] is None else json.loads(row[13])
            assert row[14] == prev
            h = hashlib.sha256(prev.encode() + json.dumps(
                payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                default=str).encode()).hexdigest()
            assert h == row[15], row[0]
            prev, n = h, n + 1
        return n


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
        res, t = national.load_dataset(services, paths, NOW, [kind])[kind]
        ours[f"import {kind}"] = t
        notes[f"import {kind}"] = f"{res.rows:,} rows"
        say(f"import {kind}: {t:.2f} s")
    ours["import total"] = sum(ours[f"import {k}"] for k in national.REGISTRY_KINDS)
    with services.db.read() as conn:
        ev_after_import = history.count(conn)

    # 2. steps 1-3 for every region
    n, t = timed(lambda: national.walk_regions(services, NOW))
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
    ours["advance one school (median)"] = statistics.median(per_call)
    ours["advance one school (p95)"] = p95(per_call)
    notes["advance one school (median)"] = f"{len(per_call)} calls through Services.advance"

    # 5. report
    def report() -> Any:
        with services.db.read() as conn:
            return report_mod.national(conn)
    times = [timed(report)[1] for _ in range(5)]
    ours["report (national)"] = statistics.median(times)

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
    bare_db = Bare(work / "bare.db")
    bare: dict[str, Any] = {}
    rows = {k: read_rows(paths[k]) for k in national.KINDS}
    for kind in national.REGISTRY_KINDS:
        _, bare[f"import {kind}"] = timed(lambda k=kind: bare_db.import_kind(k, rows[k]))
    bare["import total"] = sum(bare[f"import {k}"] for k in national.REGISTRY_KINDS)
    codes = [r["code"] for r in rows["regions"]]

    def walk() -> int:
        return sum(bare_db.region_step(rc, step) for rc in codes
                   for step in ("coordinator", "registry", "municipalities"))
    n_bare, bare["steps 1-3, every region"] = timed(walk)
    n_metrics_bare, bare["metrics import + cascade"] = timed(lambda: bare_db.metrics(
        rows["metrics"]))
    bare_calls = []
    for code in picked:
        bare_calls.append(timed(lambda c=code: bare_db.advance_one(c))[1])
    bare["advance one school (median)"] = statistics.median(bare_calls) if bare_calls else 0
    bare["advance one school (p95)"] = p95(bare_calls) if bare_calls else 0
    bare["report (national)"] = statistics.median(timed(bare_db.report)[1] for _ in range(5))
    bare["`rollout status --school` (CLI)"] = statistics.median(py_times)
    n_bare_events, bare["audit verify"] = timed(bare_db.verify)
    notes["steps 1-3, every region"] += f" (bare: {n_bare:,})"
    notes["metrics import + cascade"] += f" (bare: {n_metrics_bare:,})"
    notes["audit verify"] += f" (bare: {n_bare_events:,})"
    notes["`rollout status --school` (CLI)"] += "; bare = `python -c pass`"

    aims = {"import total": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "import regions": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "import municipalities": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "import schools": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "import people": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "steps 1-3, every region": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "metrics import + cascade": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "advance one school (median)": ("≤ 3× bare", lambda o, b: o <= 3 * b),
            "report (national)": ("< 1 s", lambda o, b: o < 1.0),
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
        "| operation | ours | bare sqlite3 | ratio | aim | | notes |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for op, o in ours.items():
        b = bare.get(op)
        ratio = f"{o / b:.1f}×" if b else ""
        aim, ok = aims.get(op, ("", None))
        verdict = "" if ok is None else ("ok" if ok(o, b) else "**over**")
        lines.append(f"| {op} | {ms(o)} | {ms(b) if b else ''} | {ratio} | {aim} | {verdict} | "
                     f"{notes.get(op, '')} |")
    lines.append(f"| peak memory (ru_maxrss) | {peak_mb:,.0f} MB | | | < 300 MB | "
                 f"{'ok' if peak_mb < 300 else '**over**'} | the whole run before the bare part |")
    table = "\n".join(lines) + "\n"
    print(table)
    Path(args.out).write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: 50 concurrent signed-in clients on the national dataset on PostgreSQL, a mix of
page views and actions, p50/p95/p99 of pages and of actions beside the bare queries (psycopg,
the same concurrency) on the same database.

The server is `web.create_app` under uvicorn in its own process (one process, as `rollout serve`
runs); the clients are asyncio tasks with httpx in this process, each signed in with its own
session (opened through workflow.signin, as the e-mail link does) and carrying its CSRF token.
Each client makes a bounded number of requests, one after another:
- school admins (of schools whose step 9 is open): their home page, their school, the step's
  page; actions: complete step 9 `adoption`, reopen it (with a reason), alternately;
- regional coordinators: their home page, their region, one of its schools; actions: appoint a
  school admin to one of their schools and withdraw the appointment, alternately;
- program managers: the country page and a region's page (pages only).

Run: python benchmarks/bench_web_load.py [--clients 50] [--requests 40] [--think S] [--out FILE]
(the dataset is built first if missing, by benchmarks/national_pg.py, ~12 minutes; it lives in
its own database, so that the benchmark's writer lock never holds up the test suite).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.national import admin_email, coordinator_email  # noqa: E402
from benchmarks.national_pg import build_dataset, is_built, schema_url  # noqa: E402

URL = schema_url()  # benchmarks/national_pg.py: database rollout_bench, schema national
BARE = URL.replace("postgresql+psycopg://", "postgresql://")
PORT = 18080


def services() -> Any:
    import tempfile

    from workflow.config import build
    from workflow.services import Services

    return Services(build({"database": {"url": URL}}, Path(tempfile.gettempdir())))


def serve() -> None:
    """The server process: the app over the benchmark database, the real clock."""
    import uvicorn

    from web import create_app

    uvicorn.run(create_app(services(), lambda: datetime.now(UTC)), host="127.0.0.1",
                port=PORT, log_level="warning", lifespan="off", timeout_keep_alive=60)


@dataclass
class Client:
    role: str
    email: str
    pages: list[str]
    actions: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    cookie: str = ""
    csrf: str = ""


def plan(n_clients: int, rnd: random.Random) -> list[Client]:
    """Who the clients are: 60 % school admins, 30 % regional coordinators, 10 % managers."""
    with psycopg.connect(BARE) as conn:
        adoption_open = [r[0] for r in conn.execute(
            "SELECT code FROM machines WHERE kind = 'school' AND statuses = 'DDDDDDDDC' "
            "ORDER BY code").fetchall()]
        regions = [r[0] for r in conn.execute("SELECT code FROM regions ORDER BY code")]
        school_of = {r[0]: r[1] for r in conn.execute(
            "SELECT DISTINCT ON (region_code) region_code, code FROM schools "
            "WHERE parent_code IS NULL ORDER BY region_code, code")}
        pm = conn.execute("SELECT email FROM assignments WHERE role = 'program_manager' "
                          "ORDER BY email LIMIT 1").fetchone()[0]
    admins_n, rcs_n = round(n_clients * 0.6), round(n_clients * 0.3)
    out = []
    for code in rnd.sample(adoption_open, admins_n):
        step = f"/schools/{code}/steps/adoption"
        out.append(Client("school_admin", admin_email(code), ["/", f"/schools/{code}", step],
                          [(f"{step}/complete", {}),
                           (f"{step}/reopen", {"reason": "нагрузочный тест"})]))
    for region in rnd.sample(regions, rcs_n):
        school = school_of[region]
        extra = f"bench.{region}@example.org"
        common = {"role": "school_admin", "scope": school, "email": extra,
                  "back": f"/schools/{school}"}
        out.append(Client("regional_coordinator", coordinator_email(region),
                          ["/", f"/regions/{region}", f"/schools/{school}"],
                          [("/people/assign", {**common, "name": "Нагрузкин Тест Тестович"}),
                           ("/people/unassign", {**common, "reason": "нагрузочный тест"})]))
    for _ in range(n_clients - admins_n - rcs_n):
        out.append(Client("program_manager", str(pm), ["/", f"/regions/{rnd.choice(regions)}"]))
    return out


def sign_in(clients: list[Client]) -> None:
    from workflow.signin import open_session

    s = services()
    now = datetime.now(UTC)
    for c in clients:
        secret, session = open_session(s, c.email, now)
        c.cookie, c.csrf = f"rollout_session={secret}", session.csrf
    s.db.dispose()


async def run_client(c: Client, base: str, n: int, rnd: random.Random,
                     out: dict[str, list[float]], errors: list[str], think: float) -> None:
    # Idle connections are dropped before the server's keep-alive ends (a POST on a connection
    # the server is closing would fail without being a failure of the app)
    async with httpx.AsyncClient(base_url=base, timeout=120, headers={"Cookie": c.cookie},
                                 limits=httpx.Limits(keepalive_expiry=30)) as http:
        turn = 0
        for i in range(n):
            if think:  # a person reads the page before the next click
                await asyncio.sleep(rnd.expovariate(1 / think))
            act = bool(c.actions) and rnd.random() < 0.25
            t0 = time.perf_counter()
            if act:
                path, form = c.actions[turn % len(c.actions)]
                turn += 1
                r = await http.post(path, data={"csrf": c.csrf, **form})
                ok = r.status_code in (303, 409)  # 409: a guard (e.g. a step not open)
                kind = "action"
            else:
                path = c.pages[i % len(c.pages)]
                r = await http.get(path)
                ok = r.status_code == 200
                kind = "page"
            ms = (time.perf_counter() - t0) * 1000
            out[kind].append(ms)
            out[f"{kind} {route_of(path)}"].append(ms)
            if not ok:
                errors.append(f"{c.role} {path}: {r.status_code}")


def route_of(path: str) -> str:
    parts = path.strip("/").split("/")
    names = {"schools": "/schools/CODE", "regions": "/regions/CODE"}
    if not parts[0]:
        return "/"
    if parts[0] == "people":
        return path
    base = names.get(parts[0], "/" + parts[0])
    return base + ("/" + "/".join(parts[2:]) if len(parts) > 2 else "")


async def load(clients: list[Client], base: str, n: int, seed: int, think: float = 0.0
               ) -> tuple[dict[str, list[float]], list[str], float]:
    out: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    t0 = time.perf_counter()
    await asyncio.gather(*(run_client(c, base, n, random.Random(seed + i), out, errors, think)
                           for i, c in enumerate(clients)))
    return out, errors, time.perf_counter() - t0


# -- the bare reference: the pages' own SQL and one transition, through psycopg
BARE_PAGES = {
    "country": ("SELECT region_code, statuses, count(*) FROM machines WHERE kind = 'school' "
                "GROUP BY region_code, statuses", ()),
    "region": ("SELECT code, state, statuses, state_since FROM machines WHERE kind = 'school' "
               "AND region_code = %s ORDER BY code", ("region",)),
    "school": ("SELECT m.steps, m.statuses, s.name, s.teachers_expected FROM machines m JOIN "
               "schools s ON s.code = m.code WHERE m.kind = 'school' AND m.code = %s",
               ("school",)),
}


def bare_transition(conn: psycopg.Connection, code: str) -> None:
    """What one step action must write at least: the writer lock, the machine row read and
    written under its version, one history event chained to the head."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7001)")
        mid, version = conn.execute("SELECT id, version FROM machines WHERE kind = 'school' "
                                    "AND code = %s FOR UPDATE", (code,)).fetchone()
        conn.execute("UPDATE machines SET version = version + 1, updated_at = now() "
                     "WHERE id = %s AND version = %s", (mid, version))
        seq, prev = conn.execute("SELECT seq, hash FROM bare_head WHERE id = 1 FOR UPDATE"
                                 ).fetchone()
        conn.execute("INSERT INTO bare_events (seq, at, code, event, prev_hash, hash) "
                     "VALUES (%s, now(), %s, 'StepCompleted', %s, md5(%s))",
                     (seq + 1, code, prev, prev + code))
        conn.execute("UPDATE bare_head SET seq = %s, hash = md5(%s) WHERE id = 1",
                     (seq + 1, prev + code))


def bare(clients: list[Client], n: int, seed: int, think: float = 0.0
         ) -> dict[str, list[float]]:
    """The same number of clients as threads, each its own connection, the same mix and the
    same think time."""
    with psycopg.connect(BARE, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bare_events (seq INTEGER PRIMARY KEY, "
                     "at TIMESTAMPTZ, code TEXT, event TEXT, prev_hash TEXT, hash TEXT)")
        conn.execute("CREATE TABLE IF NOT EXISTS bare_head (id INTEGER PRIMARY KEY, "
                      "seq INTEGER, hash TEXT)")
        conn.execute("INSERT INTO bare_head VALUES (1, 0, '') ON CONFLICT DO NOTHING")
    out: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()

    def worker(i: int, c: Client) -> None:
        rnd = random.Random(seed + i)
        school = next((p.split("/")[2] for p in c.pages if p.startswith("/schools/")), None)
        region = next((p.split("/")[2] for p in c.pages if p.startswith("/regions/")), "01")
        with psycopg.connect(BARE, autocommit=True) as conn:
            for k in range(n):
                if think:
                    time.sleep(rnd.expovariate(1 / think))
                t0 = time.perf_counter()
                if c.actions and rnd.random() < 0.25 and school:
                    bare_transition(conn, school)
                    kind = "action"
                else:
                    name = ("country", "region", "school")[k % 3]
                    if name == "school" and not school:
                        name = "region"
                    sql, params = BARE_PAGES[name]
                    values = {"region": region, "school": school}
                    conn.execute(sql, tuple(values[p] for p in params)).fetchall()
                    kind = "page"
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    out[kind].append(ms)
    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] \
        if len(values) > 1 else values[0]


def table(ours: dict[str, list[float]], floor: dict[str, list[float]]) -> list[str]:
    lines = ["| requests | n | p50 ms | p95 ms | p99 ms | bare p50 ms | bare p95 ms | aim (p95) |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    aims = {"page": 300.0, "action": 500.0}
    for kind in ("page", "action"):
        v, b = ours.get(kind, []), floor.get(kind, [])
        if not v:
            continue
        p95 = pct(v, 95)
        mark = "✔" if p95 < aims[kind] else "✘"
        lines.append(f"| **{kind}s (all)** | {len(v)} | {pct(v, 50):.0f} | {p95:.0f} | "
                     f"{pct(v, 99):.0f} | {pct(b, 50):.1f} | {pct(b, 95):.1f} | "
                     f"< {aims[kind]:.0f} {mark} |")
        for name in sorted(k for k in ours if k.startswith(kind + " ")):
            w = ours[name]
            lines.append(f"| {name} | {len(w)} | {pct(w, 50):.0f} | {pct(w, 95):.0f} | "
                         f"{pct(w, 99):.0f} | | | |")
    return lines


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc): the server's own work, which the
    other jobs on a shared box do not inflate the way they inflate the wall clock."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_up(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("the server did not start")
        try:
            httpx.get(f"{base}/signin", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=40, help="per client")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean seconds a client waits between requests (0: none, saturation)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.serve:
        serve()
        return
    if not is_built("national"):
        build_dataset("national")
    s = services()
    s.db.migrate()  # the dataset may predate the newest migrations
    s.db.dispose()
    rnd = random.Random(args.seed)
    clients = plan(args.clients, rnd)
    sign_in(clients)
    base = f"http://127.0.0.1:{PORT}"
    proc = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=ROOT)
    try:
        wait_up(base, proc)
        # warm-up: one page per client kind, outside the figures
        asyncio.run(load(clients[:3], base, 2, args.seed))
        cpu0 = cpu_seconds(proc.pid)
        ours, errors, wall = asyncio.run(load(clients, base, args.requests, args.seed,
                                              args.think))
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(30)
    floor = bare(clients, args.requests, args.seed, args.think)
    total = sum(len(v) for k, v in ours.items() if k in ("page", "action"))
    load_avg = os.getloadavg()
    lines = table(ours, floor) + [
        "",
        f"{args.clients} clients × {args.requests} requests (think time {args.think:g} s) = "
        f"{total} in {wall:.1f} s "
        f"({total / wall:.0f} requests/s); the server's CPU: {cpu:.1f} s, "
        f"{cpu / total * 1000:.0f} ms a request; unexpected answers: {len(errors)}"
        + (f" (first: {errors[:3]})" if errors else "") + ".",
        f"Load average at the end: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}.",
    ]
    print("\n".join(lines))
    if args.out:
        args.out.write_text(
            "# bench_web_load: national dataset on PostgreSQL (89 regions, 2,600 "
            "municipalities, 45,000 schools), one uvicorn process, clients on 127.0.0.1, "
            f"think time {args.think:g} s\n\n"
            + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

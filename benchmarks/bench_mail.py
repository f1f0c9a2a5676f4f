"""Mail benchmark: the reminder pass at two scales, then delivery to a local aiosmtpd.

    .venv/bin/python benchmarks/bench_mail.py [--scales 0.111,1] [--runs 3] [--deliver 10000]
                                              [--sink-ms 0,20] [--out benchmarks/results-mail.md]

For each scale (1 = the national dataset: 45,000 schools, every one late on some step, an admin
each) a SQLite file is built once; each run copies it and runs one reminder pass at a fixed
moment in a fresh process (its wall and CPU seconds and its peak memory, VmHWM). The bare
reference stores the same outbox rows and reminder keys with the bare `sqlite3` module in one
transaction: the floor of what the pass writes, with none of its working out.

Delivery (national scale): the first N queued letters go to an aiosmtpd in another process
(a sink answering 250, at once or after `--sink-ms`: a real server writes each message to its
queue, often with an fsync, before it answers; on loopback with no delay the sink's own Python
is the bottleneck and shares the two cores with the relay, so more connections cannot help)
through the relay with `mail.smtp.connections` 4 (each letter rendered from its context,
built, sent and marked `sent` in its own commit), beside a bare aiosmtplib loop over one
connection and over four (the same letters built and serialised the same way in the loop,
`smtp_payload` as the relay does since 0.3.2, from bodies rendered beforehand: the state the
previous release stored; no database).
Medians of `--runs` runs; the box is shared, so the load average is printed with the table.

Because the sink shares the two cores, each delivery also reports CPU per letter: the relay's
own process CPU (time.process_time, the sink being another process), the bare loop's, and the
sink's (from /proc): 1000 / (relay ms per letter) is what one relay process can drive on one
core whatever the server costs. `--pg URL` (a PostgreSQL server; a scratch schema is created
and dropped) also delivers the same letters with two relay processes sharing one outbox
(claims with SKIP LOCKED), 4 connections each: their wall and their CPU per letter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import create_engine, insert, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.national import generate  # noqa: E402
from notifications.deferred import Renderer  # noqa: E402
from notifications.message import prepare  # noqa: E402
from notifications.relay import deliver  # noqa: E402
from notifications.sender import smtp_payload  # noqa: E402
from notifications.settings import MailSettings, SmtpSettings  # noqa: E402
from states import STEPS, default_graph, settle_open  # noqa: E402
from storage import Database, repo  # noqa: E402
from storage.models import (  # noqa: E402
    assignments,
    metrics,
    municipalities,
    people,
    regions,
    schools,
)
from storage.outbox import QUEUED, outbox  # noqa: E402
from tests.mailkit import free_port  # noqa: E402

SINCE = datetime(2026, 2, 2, 6, 0, tzinfo=UTC)
AT = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)  # Wed 12:00 Moscow, 21:00 Kamchatka (outside)
SCHOOL_STEPS = [s.slug for s in STEPS if s.level == "school"]
ROOT = Path(__file__).resolve().parents[1]
PASS = """
import json, sys, time
from datetime import datetime
from notifications.reminders import run_pass
from notifications.settings import MailSettings, ReminderSettings
from states import default_policies
from storage import Database
db = Database(sys.argv[1])
t, c = time.perf_counter(), time.process_time()
s = run_pass(db, datetime.fromisoformat(sys.argv[2]), MailSettings(), ReminderSettings(),
             default_policies())
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent's RSS
hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM"))
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "rss_mb": hwm / 1024,
                  "messages": s.reminders + s.escalations, "items": s.items,
                  "held": s.outside_window}))
"""
SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
DELAY = float(sys.argv[2]) / 1000
class Sink:
    async def handle_DATA(self, server, session, envelope):
        if DELAY:  # a real server answers 250 once the message is safe in its queue
            await asyncio.sleep(DELAY)
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""
RELAY = """
import json, sys, time
from datetime import datetime
from notifications.relay import deliver
from notifications.settings import MailSettings, SmtpSettings
from storage import Database
db = Database(sys.argv[1])
settings = MailSettings(transport="smtp", smtp=SmtpSettings(host="127.0.0.1",
                        port=int(sys.argv[2]), connections=4))
sys.stdin.readline()  # both relays start together
t, c = time.perf_counter(), time.process_time()
report = deliver(db, settings, datetime.fromisoformat(sys.argv[3]))
print(json.dumps({"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
                  "sent": report.sent}))
"""


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of another process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steps_at(state: str) -> dict:
    """Every step before `state` done; `state` and whatever else the graph opens current."""
    index = [s.slug for s in STEPS].index(state)
    statuses = settle_open(default_graph(), {s.slug: "done" if i < index else "pending"
                                             for i, s in enumerate(STEPS)})
    return {slug: {"status": v, "since": None if v == "pending" else SINCE.isoformat()}
            for slug, v in statuses.items()}


def load(db: Database, scale: float) -> int:
    data = generate(seed=1, scale=scale)
    with db.write() as c:
        c.execute(insert(regions), [{"code": r["code"], "name": r["name"],
                                     "timezone": r["timezone"]} for r in data["regions"]])
        c.execute(insert(municipalities), [
            {"code": m["code"], "region_code": m["region"], "name": m["name"],
             "timezone": m["timezone"] or None} for m in data["municipalities"]])
        c.execute(insert(schools), [
            {"code": s["code"], "region_code": s["region"], "municipality_code": s["municipality"],
             "name": s["name"], "inn": s["inn"], "kpp": s["kpp"], "parent_code": None,
             "teachers_expected": s["teachers_expected"], "classes_expected":
             s["classes_expected"], "students_expected": s["students_expected"],
             "parents_expected": s["parents_expected"], "timezone": None}
            for s in data["schools"]])
        c.execute(insert(metrics), [{"school_code": m["school"], "teachers": 0, "classes": 0,
                                     "parents": 0, "students": 0, "updated_at": SINCE}
                                    for m in data["metrics"]])
        c.execute(insert(people), [{"email": p["email"], "name": p["name"]}
                                   for p in {p["email"]: p for p in data["people"]}.values()])
        c.execute(insert(assignments), [{"email": p["email"], "role": p["role"],
                                         "scope": p["scope"] or "", "since": SINCE}
                                        for p in data["people"]])
        repo.insert_machines(c, [
            {"kind": "region", "code": r["code"], "region_code": r["code"], "state": "admins",
             "steps": steps_at("admins"), "version": 1, "updated_at": SINCE,
             "state_since": SINCE}
            for r in data["regions"]])
        repo.insert_machines(c, [
            {"kind": "school", "code": s["code"], "region_code": s["region"],
             "state": SCHOOL_STEPS[i % len(SCHOOL_STEPS)],
             "steps": steps_at(SCHOOL_STEPS[i % len(SCHOOL_STEPS)]), "version": 1,
             "updated_at": SINCE, "state_since": SINCE} for i, s in enumerate(data["schools"])])
    return len(data["schools"])


def one_pass(path: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", PASS, f"sqlite:///{path}", AT.isoformat()],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the pass failed: {out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def bare_store(pristine: Path, done: Path, work: Path) -> float:
    """The same outbox rows and keys written by bare sqlite3 in one transaction (seconds)."""
    src = sqlite3.connect(done)
    out_rows = src.execute("SELECT * FROM outbox ORDER BY id").fetchall()
    out_cols = [d[0] for d in src.execute("SELECT * FROM outbox LIMIT 0").description]
    key_rows = src.execute("SELECT * FROM reminder_keys ORDER BY id").fetchall()
    key_cols = [d[0] for d in src.execute("SELECT * FROM reminder_keys LIMIT 0").description]
    src.close()
    shutil.copy(pristine, work)
    conn = sqlite3.connect(work, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    t = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(f"INSERT INTO outbox ({','.join(out_cols)}) VALUES "
                     f"({','.join('?' * len(out_cols))})", out_rows)
    conn.executemany(f"INSERT INTO reminder_keys ({','.join(key_cols)}) VALUES "
                     f"({','.join('?' * len(key_cols))})", key_rows)
    conn.execute("COMMIT")
    took = time.perf_counter() - t
    conn.close()
    return took


async def bare_loop(port: int, rows: list[dict[str, Any]], connections: int) -> None:
    todo = iter(rows)

    async def one() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        for row in todo:
            ready = prepare(row)  # the same message, envelope and bytes as the relay's
            await smtp.sendmail(ready.envelope_from, ready.rcpts,
                                smtp_payload(ready.message, ready.envelope_from, ready.rcpts))
        await smtp.quit()

    await asyncio.gather(*(one() for _ in range(connections)))


def delivery(path: Path, n: int, runs: int, sink_ms: float) -> dict[str, Any]:
    db = Database(f"sqlite:///{path}")
    mail = MailSettings(transport="smtp")
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(outbox).order_by(outbox.c.id).limit(n))]
    render = Renderer(mail)
    rendered = [render(r) for r in rows]  # the bare loops start from the bodies, as stored
    last = rows[-1]["id"]
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(sink_ms)],
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
    figures: dict[str, list[float]] = {k: [] for k in (
        "bare1", "bare4", "relay4", "bare1_cpu", "relay4_cpu", "sink_cpu")}
    try:
        for _ in range(runs):
            for name, k in (("bare1", 1), ("bare4", 4)):
                t, c = time.perf_counter(), time.process_time()
                asyncio.run(bare_loop(port, rendered, k))
                figures[name].append(time.perf_counter() - t)
                if k == 1:
                    figures["bare1_cpu"].append(time.process_time() - c)
            with db.write() as conn:  # the same letters queued again, rendered at delivery
                conn.execute(update(outbox).where(outbox.c.id <= last).values(
                    status=QUEUED, attempts=0, lease_until=None, lease_owner=None,
                    sent_at=None, subject=""))
            settings = MailSettings(transport="smtp", smtp=SmtpSettings(
                host="127.0.0.1", port=port, connections=4))
            t, c, sink_c = time.perf_counter(), time.process_time(), proc_cpu(sink.pid)
            report = deliver(db, settings, AT, limit=len(rows))
            figures["relay4"].append(time.perf_counter() - t)
            figures["relay4_cpu"].append(time.process_time() - c)
            figures["sink_cpu"].append(proc_cpu(sink.pid) - sink_c)
            assert report.sent == len(rows), report.summary()
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(30)
        db.dispose()
    return {"n": len(rows), "sink_ms": sink_ms,
            **{k: statistics.median(v) for k, v in figures.items()}}


def two_relays_pg(path: Path, n: int, server: str) -> dict[str, Any]:
    """The first n letters copied into a scratch PostgreSQL schema, delivered to the sink by
    two relay processes at once (4 connections each): wall, and each relay's CPU."""
    schema = f"bench_mail_{os.getpid()}"
    admin = create_engine(server)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    src = Database(f"sqlite:///{path}")
    with src.write() as conn:  # queued again, as the pass left them
        conn.execute(update(outbox).values(status=QUEUED, attempts=0, lease_until=None,
                                           lease_owner=None, sent_at=None, subject=""))
    with src.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(outbox).order_by(outbox.c.id).limit(n))]
    src.dispose()
    db = Database(url)
    db.migrate()
    with db.write() as conn:
        conn.execute(insert(outbox), rows)
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), "0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        relays = [subprocess.Popen([sys.executable, "-c", RELAY, url, str(port),
                                    AT.isoformat()], cwd=ROOT, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True) for _ in range(2)]
        time.sleep(2)  # both imported and connected before they start
        t, sink_c = time.perf_counter(), proc_cpu(sink.pid)
        for p in relays:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=3600)[0] for p in relays]
        wall, sink_cpu = time.perf_counter() - t, proc_cpu(sink.pid) - sink_c
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(30)
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    done = [json.loads(o.strip().splitlines()[-1]) for o in outs]
    assert sum(d["sent"] for d in done) == len(rows), done
    return {"n": len(rows), "wall": wall, "relays": done, "sink_cpu": sink_cpu}


def measure(scale: float, runs: int, tmp: Path) -> dict[str, Any]:
    pristine = tmp / f"pristine-{scale}.db"
    db = Database(f"sqlite:///{pristine}")
    db.migrate()
    n_schools = load(db, scale)
    db.dispose()
    with sqlite3.connect(pristine) as conn:  # everything in the main file, to copy it whole
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    work = tmp / f"run-{scale}.db"
    passes = []
    for _ in range(runs):
        shutil.copy(pristine, work)
        passes.append(one_pass(work))
    bare = statistics.median(bare_store(pristine, work, tmp / "bare.db") for _ in range(runs))
    return {"scale": scale, "schools": n_schools, "bare": bare, "work": work,
            **{k: statistics.median(p[k] for p in passes) for k in passes[0]},
            "walls": [round(p["wall"], 2) for p in passes]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="0.111,1", help="dataset scales (1 = 45,000 schools)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--deliver", type=int, default=10_000, help="letters to deliver (0: none)")
    ap.add_argument("--deliver-runs", type=int, default=1, help="runs of each delivery")
    ap.add_argument("--sink-ms", default="0,20",
                    help="the sink's answer delay per message, ms, one delivery each (a real "
                         "server writes the message to its queue before it answers 250)")
    ap.add_argument("--pg", metavar="URL", help="also deliver with two relay processes on "
                    "PostgreSQL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    ap.add_argument("--out", type=Path, help="write the table (markdown) to this file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(float(s), args.runs, Path(tmp)) for s in args.scales.split(",")]
        sent = [delivery(results[-1]["work"], args.deliver, args.deliver_runs, float(ms))
                for ms in args.sink_ms.split(",")] if args.deliver else []
        pg = two_relays_pg(results[-1]["work"], args.deliver, args.pg) \
            if args.pg and args.deliver else None
    lines = ["# bench_mail: reminder pass and delivery, SQLite (WAL, synchronous=NORMAL), "
             "2-core shared box", "",
             f"Passes: medians of {args.runs} runs, each in a fresh process on a fresh copy of "
             f"the database. Deliveries: {args.deliver_runs} run(s) each.", "",
             "| what | ours | bare reference | bare | ratio | aim |",
             "|---|---:|---|---:|---:|---|"]
    for r in results:
        lines += [
            f"| reminder pass, {r['schools']:,} schools: {r['messages']:,} letters, "
            f"{r['items']:,} lines ({r['held']:,} held for the window) | {r['wall']:.2f} s "
            f"wall, {r['cpu']:.2f} s CPU | bare sqlite3 storing the same rows and keys "
            f"| {r['bare']:.2f} s | {r['wall'] / r['bare']:.1f}× | < 5 s |",
            f"| peak memory of that pass (its process's VmHWM) | {r['rss_mb']:.0f} MiB | | | "
            "| < 300 MB |"]
    for d in sent:
        n = d["n"]
        sink = (f"a sink answering after {d['sink_ms']:g} ms" if d["sink_ms"]
                else "a sink answering at once")
        lines += [
            f"| deliver {n:,} letters to {sink}, relay with 4 connections (render, build, "
            f"send, mark) | {d['relay4']:.2f} s ({n / d['relay4']:.0f}/s) | bare aiosmtplib "
            f"loop, 1 connection | {d['bare1']:.2f} s ({n / d['bare1']:.0f}/s) "
            f"| {d['bare1'] / d['relay4']:.2f}× faster | ≥ 2.5× |",
            f"| the bare loop with 4 connections, same sink | | | {d['bare4']:.2f} s "
            f"({n / d['bare4']:.0f}/s) | {d['bare1'] / d['bare4']:.2f}× faster | |",
            f"| CPU per letter of that relay's own process (the sink's: "
            f"{d['sink_cpu'] / n * 1000:.2f} ms) → letters/s one relay process drives on one "
            f"core | {d['relay4_cpu'] / n * 1000:.2f} ms → {n / d['relay4_cpu']:.0f}/s "
            f"| bare aiosmtplib loop, 1 connection, its CPU per letter "
            f"| {d['bare1_cpu'] / n * 1000:.2f} ms | {d['relay4_cpu'] / d['bare1_cpu']:.2f}× "
            f"| ≤ 4 ms (≥ 250/s) |"]
    if pg is not None:
        relays = pg["relays"]
        cpu = sum(r["cpu"] for r in relays) / pg["n"] * 1000
        lines += [
            f"| deliver {pg['n']:,} letters with two relay processes on PostgreSQL (SKIP "
            f"LOCKED), 4 connections each, sink answering at once | {pg['wall']:.2f} s "
            f"({pg['n'] / pg['wall']:.0f}/s); relay CPU {cpu:.2f} ms a letter (sent "
            f"{' + '.join(str(r['sent']) for r in relays)}), sink "
            f"{pg['sink_cpu'] / pg['n'] * 1000:.2f} ms | | | | ≥ 250/s |"]
    lines += ["", "Pass walls per run: " + "; ".join(
        f"{r['schools']:,} schools {r['walls']}" for r in results),
        "Load average at the end: {:.2f} {:.2f} {:.2f}.".format(*os.getloadavg())]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

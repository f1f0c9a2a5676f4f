"""A bounded soak on PostgreSQL with separate OS processes: four writers (advances, reopened
cascades, metrics imports, appointments), two `rollout run` services and two relays, against a
real SMTP server. Afterwards: every command a writer was told succeeded is in the history (no
lost update), the history is one chain that verifies and replays to the tables, and every
message sent reached the server exactly once (no crash here, so no duplicate at all).

ROLLOUT_SOAK_S sets the budget (default 30 s of writing; the issue's full run is 600) and
ROLLOUT_SOAK_SCALE the dataset (default 0.01 of the national one; 1.0 for the full run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks import national
from benchmarks.bare_sqlite import NOW
from storage.models import events
from storage.outbox import outbox
from tests.conftest import make_services
from tests.e2e.cli import spawn
from tests.mailkit import smtp_server
from tests.soak_worker import MAIL
from workflow.importing import import_file
from workflow.reconcile.service import reconcile_as_registered

pytestmark = pytest.mark.postgres
BUDGET_S = float(os.environ.get("ROLLOUT_SOAK_S", "30"))
SCALE = float(os.environ.get("ROLLOUT_SOAK_SCALE", "0.01"))
AT = NOW + timedelta(days=21)  # three weeks on: reminders are due (a Tuesday, 10:00 Moscow)
WRITERS, RELAYS, SERVICES = 4, 2, 2


def _setup(url: str, work: Path) -> list[str]:
    """The dataset imported; steps 1-3 done in all but one region; metrics in."""
    paths = national.write_dataset(work / "data", seed=7, scale=SCALE)
    s = make_services(url, work)
    national.load_dataset(s, paths, NOW)
    regions = json.loads(paths["manifest"].read_text(encoding="utf-8"))["regions_codes"]
    walked = regions[:-1]
    for rc in walked:
        reconcile_as_registered(s, rc, NOW)
    national.walk_regions(s, NOW, walked, reconcile=False)
    import_file(s, "metrics", paths["metrics"], now=NOW)
    s.db.dispose()
    return walked


def test_soak_many_processes_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    _setup(pg_url, tmp_path)
    env = {"ROLLOUT_DATABASE_URL": pg_url, "ROLLOUT_CASCADE_CHUNK": "40",
           "ROLLOUT_IMPORT_PART": "50", "PYTHONPATH": str(Path(__file__).parents[2])}
    with smtp_server() as (handler, port):
        cfg = tmp_path / "config.yaml"
        cfg.write_text(f"mail: {{transport: smtp, smtp: {{host: 127.0.0.1, port: {port}, "
                       "timeout_s: 10}}\n", encoding="utf-8")
        (tmp_path / MAIL).write_text(cfg.read_text(encoding="utf-8"), encoding="utf-8")
        deadline = time.time() + BUDGET_S
        services = [spawn(["--config", str(cfg), "run", "--at", AT.isoformat()], tmp_path, env)
                    for _ in range(SERVICES)]
        workers = []
        for i in range(WRITERS + RELAYS):
            role = "writer" if i < WRITERS else "relay"
            out = tmp_path / f"{role}-{i}.jsonl"
            workers.append((out, subprocess.Popen(
                [sys.executable, "-m", "tests.soak_worker", role, pg_url, str(tmp_path),
                 str(1000 + i), str(deadline + (0 if role == "writer" else 20)),
                 AT.isoformat(), str(out)],
                cwd=tmp_path, env={**os.environ, **env}, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)))
        for _out, proc in workers:
            _, err = proc.communicate(timeout=BUDGET_S * 4 + 600)
            assert proc.returncode == 0, err[-3000:]
        s = make_services(pg_url, tmp_path)
        try:
            # the services' relay sends what the relays left: wait while it makes progress
            # (a condition polled; a national backlog takes minutes on a loaded box)
            left, last, still = None, time.monotonic(), 0.0
            while still < 60:
                with s.db.read() as conn:
                    queued = conn.execute(select(func.count()).select_from(outbox).where(
                        outbox.c.status == "queued")).scalar_one()
                if not queued:
                    break
                if queued != left:
                    left, last = queued, time.monotonic()
                still = time.monotonic() - last
                time.sleep(0.2)
            for proc in services:
                proc.send_signal(signal.SIGTERM)
            for proc in services:
                _, err = proc.communicate(timeout=120)
                assert proc.returncode == 0, err[-3000:]
            # What a busy server deferred waits for its next attempt (minutes of backoff on
            # the services' clock): two days on, `outbox send` delivers it, once.
            later = (AT + timedelta(days=2)).isoformat()
            waiting = None  # how many the services left for `outbox send` two days on
            for _ in range(20):
                with s.db.read() as conn:
                    queued = conn.execute(select(func.count()).select_from(outbox).where(
                        outbox.c.status == "queued")).scalar_one()
                waiting = queued if waiting is None else waiting
                if not queued:
                    break
                sent = subprocess.run(
                    [sys.executable, "-m", "workflow.cli", "--config", str(cfg), "outbox",
                     "send", "--at", later], cwd=tmp_path, env={**os.environ, **env},
                    capture_output=True, text=True, timeout=600)
                assert sent.returncode == 0, sent.stderr[-3000:]
            with s.db.read() as conn:
                statuses = Counter(dict(conn.execute(select(outbox.c.status, func.count())
                                                     .group_by(outbox.c.status)).all()))
                sent_ids = set(conn.execute(select(outbox.c.message_id).where(
                    outbox.c.status == "sent")).scalars())
                # what holds the messages still queued, if any (attempts, lease, last error)
                stuck = Counter((r.attempts, r.lease_owner is not None, str(r.next_attempt_at),
                                 (r.last_error or "")[:80]) for r in conn.execute(
                    select(outbox.c.attempts, outbox.c.lease_owner, outbox.c.next_attempt_at,
                           outbox.c.last_error).where(outbox.c.status == "queued")))
                logged = Counter((r.event, r.kind, r.code, r.step, r.actor) for r in conn.execute(
                    select(events.c.event, events.c.kind, events.c.code, events.c.step,
                           events.c.actor)))
                imported = Counter(r for r in conn.execute(select(events.c.data["file"]
                                   .as_string()).where(events.c.event == "Imported"))
                                   .scalars())
        finally:
            s.db.dispose()
    received = Counter(handler.message_ids())
    # every message once: none twice, none marked sent that the server did not get
    assert received and max(received.values()) == 1, received.most_common(3)
    assert set(received) == sent_ids
    # no lost update: every success a writer was told of is in the history
    acked: Counter[tuple[str, str | None, str | None, str | None, str | None]] = Counter()
    tallies = []
    for out, _ in workers:
        for line in out.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if "tally" in rec:
                tallies.append(rec["tally"])
            elif rec["event"] == "Imported":
                assert imported[rec["file"]] >= (1 if rec["changed"] else 0), rec
            elif rec["event"] == "PersonAssigned":
                acked[("PersonAssigned", "school", rec["code"], None, None)] += 1
            else:
                acked[(rec["event"], rec["kind"], rec["code"], rec["step"], rec["actor"])] += 1
    for key, n in acked.items():
        if key[0] == "PersonAssigned":
            found = sum(v for k, v in logged.items() if k[:3] == key[:3])
        else:
            found = logged[key]
        assert found >= n, (key, n, found)
    assert sum(t.get("ok", 0) for t in tallies) > WRITERS  # the writers did work
    # one chain that verifies and replays to the tables, by a separate `rollout` process
    done = subprocess.run([sys.executable, "-m", "workflow.cli", "--config", str(cfg), "audit",
                           "verify"], cwd=tmp_path, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    # nothing stuck: the services, then `outbox send` two days on, delivered the rest
    assert statuses["queued"] == 0, (statuses, stuck.most_common(5))
    print(f"soak {BUDGET_S:.0f} s at scale {SCALE}: writers {tallies[:WRITERS]}, relays "
          f"{tallies[WRITERS:]}, outbox {dict(statuses)}, received {sum(received.values())}, "
          f"left by the services for `outbox send` two days on: {waiting}")

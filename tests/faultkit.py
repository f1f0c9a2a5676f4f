"""Fault campaigns: worlds worth killing a process in, kill -9 at seeded moments, and the checks
that must hold afterwards (the history verifies, machines agree with the step graph)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from states import graph_of, settle_open
from states.graph import encode, first_open
from storage.models import machines, open_steps
from tests.builders import SUPPORT, World
from tests.e2e.cli import spawn
from workflow.services import Services

KILLS = int(os.environ.get("ROLLOUT_KILLS", "2"))  # kill -9 per kind of job; more on demand
SEED = int(os.environ.get("ROLLOUT_KILL_SEED", "20261201"))
REGION, MUNICIPALITY = "77", "7701"
RC, MC, PM = "rc@region77.ru", "mc@region77.ru", "pm@minpros.ru"


def admin(i: int) -> str:
    return f"admin{i}@school77.ru"


def school_rows(n: int, prefix: str = "S") -> list[dict[str, Any]]:
    return [{"region": REGION, "municipality": MUNICIPALITY, "code": f"{prefix}{i}",
             "name": f"Школа № {i}", "teachers_expected": 40, "classes_expected": 10,
             "students_expected": 300} for i in range(1, n + 1)]


def people_rows(admins_n: int, prefix: str = "S") -> list[dict[str, Any]]:
    """The region's people, with a school admin for each of the first `admins_n` schools."""
    who = [(SUPPORT, "support", ""), (PM, "program_manager", ""),
           (RC, "regional_coordinator", REGION), (MC, "municipal_coordinator", MUNICIPALITY)]
    who += [(admin(i), "school_admin", f"{prefix}{i}") for i in range(1, admins_n + 1)]
    return [{"email": e, "name": f"Сотрудник {n}", "role": r, "scope": s}
            for n, (e, r, s) in enumerate(who)]


def build_region(world: World, schools_n: int, admins_n: int) -> None:
    """Region 77, one municipality, its schools and people, all through the importer (so the
    history holds every machine); steps 1-2 of the region done, step 3 current."""
    world.region(REGION, "Москва")
    world.municipality(MUNICIPALITY, REGION, "Район 1")
    world.load("schools", school_rows(schools_n))
    world.load("people", people_rows(admins_n))
    s = world.services
    s.advance("region", REGION, "coordinator", SUPPORT, world.now)
    world.reconciled(REGION)
    s.advance("region", REGION, "registry", RC, world.now)


CONNECTIONS = 4  # the relay's SMTP sessions in the campaigns: at most one message in flight each


def write_config(tmp: Path, smtp_port: int | None = None) -> Path:
    path = tmp / "config.yaml"
    mail = (f"{{transport: smtp, smtp: {{host: 127.0.0.1, port: {smtp_port}, timeout_s: 5, "
            f"connections: {CONNECTIONS}}}}}"
            if smtp_port else f"{{transport: file, dir: '{tmp / 'mail'}'}}")
    path.write_text(f"mail: {mail}\n", encoding="utf-8")
    return path


def tagged(db_url: str, tag: str) -> str:
    """The URL, on PostgreSQL with an application_name that finds the process's sessions."""
    if not db_url.startswith("postgresql"):
        return db_url
    return f"{db_url}{'&' if '?' in db_url else '?'}application_name={tag}"


FINISHED = "finished before the kill"
NO_SESSION = "no database session"  # after it had one: exiting, if its work is in


@dataclass
class Tally:
    """Where the kills of one kind of job landed and what the database showed afterwards.

    A kill comes a random time after the process first reached the database, drawn from
    [0, work): a process that finished first brings `work` down to that time, one killed at
    work stretches it, so the kills spread over the work whatever this machine's speed.
    """

    kind: str
    work: float = 1.0  # seconds
    landed: Counter[str] = field(default_factory=Counter)
    outcome: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        def fmt(c: Counter[str]) -> str:
            return ", ".join(f"{k}: {n}" for k, n in sorted(c.items()))
        return f"{self.kind}: {sum(self.landed.values())} run(s); {fmt(self.landed)}; " \
               f"then {fmt(self.outcome)}"

    def settle(self, kill: Kill, committed: bool,
               said: tuple[str, str] = ("committed before the kill", "nothing written")) -> None:
        """Count a kill once the database has shown whether its work was committed."""
        landed = kill.landed
        if landed == NO_SESSION:
            landed = "killed while exiting" if committed else "killed between sessions"
        self.landed[landed] += 1
        if landed != FINISHED:
            self.outcome[said[0] if committed else said[1]] += 1
        if landed == FINISHED or (landed == "killed while exiting"):
            self.work = max(0.02, kill.after)
        else:
            self.work *= 1.25


@dataclass(frozen=True)
class Kill:
    after: float  # seconds after the process reached the database
    landed: str

    @property
    def killed(self) -> bool:
        return self.landed != FINISHED


class Killer:
    """Spawns `rollout ...` and SIGKILLs it at a seeded moment of its work, noting where it was.

    The wall clock schedules the kill only; no test asserts a duration.
    """

    def __init__(self, cfg: Path, db_url: str, cwd: Path, seed: int = SEED) -> None:
        self.cfg, self.cwd, self.db_url = cfg, cwd, db_url
        self.tag = f"rollout_victim_{os.getpid()}"
        self.env = {"ROLLOUT_DATABASE_URL": tagged(db_url, self.tag)}
        self.rng = random.Random(seed)
        url = make_url(db_url)
        self.sqlite_path = os.path.realpath(str(url.database)) \
            if url.get_backend_name() == "sqlite" else None
        self._pg = None if self.sqlite_path else \
            create_engine(db_url, isolation_level="AUTOCOMMIT")

    def close(self) -> None:
        if self._pg is not None:
            self._pg.dispose()

    def kill(self, tally: Tally, args: list[str]) -> Kill:
        """`rollout ARGS`, SIGKILLed at a random moment after it reached the database (unless
        it finished first: then it must have exited 0). Settle the kill with the tally."""
        after = self.rng.uniform(0, tally.work)
        proc = spawn(["--config", str(self.cfg), *args], self.cwd, self.env)
        while proc.poll() is None and not self.connected(proc.pid):
            time.sleep(0.005)
        try:
            proc.wait(timeout=after)
        except subprocess.TimeoutExpired:
            landed = self.where(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
            return Kill(after, landed)
        out, err = proc.communicate()
        assert proc.returncode == 0, (args, out, err)
        return Kill(after, FINISHED)

    def connected(self, pid: int) -> bool:
        """Has the process a session with the database (the file open, or a backend)?"""
        if self.sqlite_path:
            try:
                fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            except OSError:  # gone, or a descriptor closed while we looked
                return False
            return self.sqlite_path in fds
        assert self._pg is not None
        with self._pg.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :tag"),
                {"tag": self.tag}).scalar())

    def where(self, pid: int) -> str:
        """What the process is doing with the database."""
        if not self.connected(pid):
            return NO_SESSION
        if self.sqlite_path:
            probe = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return "killed between transactions"
            except sqlite3.OperationalError:
                return "killed inside a write transaction"
            finally:
                probe.close()
        assert self._pg is not None
        with self._pg.connect() as conn:
            in_transaction = conn.execute(text(
                "SELECT count(xact_start) FROM pg_stat_activity WHERE application_name = :tag"),
                {"tag": self.tag}).scalar()
        return "killed inside a transaction" if in_transaction else "killed between transactions"


Cli = Callable[..., Any]  # tests.e2e.cli.run bound to capsys: (*args) -> Result


def check_sound(services: Services, cli: Cli) -> Counter[tuple[str, str]]:
    """After a kill: `rollout audit verify` exits 0 (the chain holds and replays to the stored
    state), and every machine agrees with the step graph and with `open_steps`.

    Returns how many machines there are of each (kind, statuses).
    """
    result = cli("audit", "verify")
    assert result.code == 0, result.err
    graph = graph_of(services.policies)
    by_code: Counter[tuple[str, str]] = Counter()
    want_open: dict[tuple[str, str, str], datetime] = {}
    with services.db.snapshot() as conn:
        stored_open = {(r.kind, r.code, r.step): _utc(r.since)
                       for r in conn.execute(select(open_steps))}
        for r in conn.execute(select(machines.c.kind, machines.c.code, machines.c.state,
                                     machines.c.steps, machines.c.statuses)):
            statuses = {slug: v["status"] for slug, v in r.steps.items()}
            who = f"{r.kind} {r.code}"
            assert settle_open(graph, statuses) == statuses, (who, statuses)
            assert r.statuses == encode(statuses), (who, r.statuses, statuses)
            assert r.state == first_open(statuses), (who, r.state, statuses)
            want_open.update({(r.kind, r.code, slug): _utc(datetime.fromisoformat(v["since"]))
                              for slug, v in r.steps.items() if v["status"] == "current"})
            by_code[(r.kind, r.statuses)] += 1
    assert stored_open == want_open
    return by_code


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def count(services: Services, table: Any, *where: Any) -> int:
    with services.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where))
                   .scalar_one())


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 30.0,
             explain: Callable[[], object] = lambda: "") -> None:
    """Poll until `predicate` holds (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {explain()}"
        time.sleep(0.05)

"""The database going away under `rollout run`: the service logs it, retries and resumes.

PostgreSQL: the server drops every session of the service (`pg_terminate_backend`, as a restart
would), its scheduler lock included. SQLite: another process holds the writer lock while the
relay wants to write. Either way the service must not die, not spin, deliver what is queued
afterwards exactly once, and stop cleanly (exit 0) on SIGTERM.
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text

from notifications import outbox
from notifications.lock import SCHEDULER_LOCK_KEY
from notifications.render import Rendered
from tests.builders import World
from tests.conftest import T0, make_services
from tests.e2e.cli import spawn
from tests.faultkit import RC, REGION, build_region, tagged, wait_for, write_config
from tests.mailkit import SENDER, Handler, smtp_server

SCHOOLS = 10
START = "2026-09-22T11:00:00+03:00"  # three weeks after the world was built: reminders due


class Service:
    """`rollout run` in a process of its own, its log collected line by line as it comes."""

    def __init__(self, cfg: Path, db_url: str, cwd: Path, tag: str) -> None:
        self.proc = spawn(["--config", str(cfg), "run", "--at", START], cwd,
                          {"ROLLOUT_DATABASE_URL": tagged(db_url, tag)})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def said(self, words: str) -> int:
        return sum(words in line for line in list(self.lines))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(timeout=10)
            self.proc.communicate()
        return code


@contextmanager
def running(world: World, db_url: str, tmp_path: Path, handler: Handler, port: int,
            tag: str) -> Iterator[Service]:
    """A region whose ten school admins are late, and `run` delivering their reminders."""
    build_region(world, SCHOOLS, SCHOOLS)
    world.services.advance("region", REGION, "municipalities", RC, world.now)
    service = Service(write_config(tmp_path, port), db_url, tmp_path, tag)
    try:
        wait_for("the first reminders", lambda: len(handler.received) >= SCHOOLS,
                 explain=service.log)
        yield service
    finally:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.communicate()


def queue(conn: Connection, n: int) -> set[str]:
    """`n` letters due now (queued in the caller's transaction): the next batch to deliver."""
    rendered = Rendered("reminder", "Проверка", "Текст письма\n", "<p>Текст</p>")
    rows = [outbox.message_row(rendered, [("Иванов Иван", f"late{i}@example.org")],
                               sender=SENDER, now=T0) for i in range(n)]
    return set(outbox.enqueue(conn, rows))


def delivered_once(handler: Handler, ids: set[str], log: str) -> None:
    got = Counter(handler.message_ids())
    assert ids <= set(got), (ids - set(got), log)
    assert max(got.values()) == 1, ([m for m, n in got.items() if n > 1], log)


def test_run_survives_postgres_dropping_its_sessions(pg_url: str, tmp_path: Path) -> None:
    """The server terminates every session of `run`: the scheduler lock is taken again and the
    relay resumes. Terminated again while another process takes the lock: `run` stands by,
    and takes over when that one lets go. Letters queued meanwhile arrive once; SIGTERM
    still exits 0."""
    services = make_services(pg_url, tmp_path)
    tag = f"rollout_run_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    terminate = ("SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity "
                 "WHERE application_name = :tag")
    try:
        with smtp_server() as (handler, port), \
                running(World(services, tmp_path, T0), pg_url, tmp_path, handler, port,
                        tag) as service:
            with admin.connect() as conn:
                assert conn.execute(text(terminate), {"tag": tag}).scalar() >= 1
            with services.db.write() as conn:
                later = queue(conn, 3)
            wait_for("the letters queued after the outage",
                     lambda: len(handler.received) >= SCHOOLS + 3, explain=service.log)
            wait_for("the scheduler lock taken again", lambda: _lock_holders(admin, tag) == 1,
                     explain=service.log)

            with admin.connect() as thief:  # its lock waits for the dying session to let go
                thief.execute(text(f"SELECT pg_advisory_lock(:key) FROM ({terminate}) t"),
                              {"key": SCHEDULER_LOCK_KEY, "tag": tag})
                wait_for("`run` to stand by", lambda: service.said("took the scheduler lock"),
                         explain=service.log)
                with services.db.write() as conn:
                    later |= queue(conn, 2)
                assert _lock_holders(admin, tag) == 0
                thief.execute(text("SELECT pg_advisory_unlock(:key)"),
                              {"key": SCHEDULER_LOCK_KEY})
            wait_for("the letters queued while it stood by",
                     lambda: len(handler.received) >= SCHOOLS + 5, explain=service.log)
            assert _lock_holders(admin, tag) == 1
            assert service.proc.poll() is None, service.lines
            assert service.stop() == 0, service.lines
        log = service.log()
        assert service.said("scheduler lock taken again") == 1, log
        assert service.said("scheduler lock taken: running") == 2, log
        # a job that met an outage says so once, and once that the database is back
        assert service.said("the database is unavailable") == service.said("is back") <= 4, log
        assert "Traceback" not in log and "unexpected error" not in log, log
        delivered_once(handler, later, log)
    finally:
        admin.dispose()
        services.db.dispose()


def _lock_holders(admin: Engine, tag: str) -> int:
    with admin.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key "
            "AND a.application_name = :tag"), {"key": SCHEDULER_LOCK_KEY, "tag": tag}).scalar())


def test_run_waits_out_another_writer_on_sqlite(sqlite_url: str, tmp_path: Path) -> None:
    """Another process holds SQLite's writer lock while `run` relays: it logs that it waits,
    then delivers what that writer committed, once; SIGTERM exits 0."""
    services = make_services(sqlite_url, tmp_path)
    world = World(services, tmp_path, T0)
    try:
        with smtp_server() as (handler, port), \
                running(world, sqlite_url, tmp_path, handler, port, "") as service:
            with services.db.write() as conn:  # BEGIN IMMEDIATE: the writer lock is ours
                later = queue(conn, 3)
                wait_for("the relay to say it waits",
                         lambda: service.said("waiting for another write to the database") >= 1,
                         explain=service.log)
                assert len(handler.received) == SCHOOLS  # nothing of ours seen yet
            wait_for("the letters committed meanwhile",
                     lambda: len(handler.received) >= SCHOOLS + 3, explain=service.log)
            assert service.proc.poll() is None, service.lines
            assert service.stop() == 0, service.lines
        log = service.log()
        assert "Traceback" not in log and "unexpected error" not in log, log
        delivered_once(handler, later, log)
    finally:
        services.db.dispose()

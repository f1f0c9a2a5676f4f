"""On PostgreSQL, concurrent relays and services deliver each message of the outbox exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from notifications import outbox
from notifications.relay import deliver
from notifications.render import Rendered
from notifications.service import Schedule, run_service
from storage import Database
from tests.mailkit import POLICIES, REMINDERS, SENDER, T0, mail_settings, smtp_server

pytestmark = pytest.mark.postgres
N = 1000


def fill(db: Database) -> set[str]:
    rendered = Rendered("coordinator", "Письмо", "Текст\n", "<p>Текст</p>")
    with db.write() as conn:
        rows = [outbox.message_row(rendered, [("Получатель", f"r{i}@example.org")],
                                   sender=SENDER, now=T0) for i in range(N)]
        return set(outbox.enqueue(conn, rows))


@pytest.fixture
def pg(pg_url: str) -> Database:
    db = Database(pg_url)
    db.migrate()
    yield db
    db.dispose()


def assert_exactly_once(db: Database, ids: set[str], received: list[str]) -> None:
    assert len(received) == N and set(received) == ids
    with db.read() as conn:
        assert outbox.counts(conn) == {"queued": 0, "sent": N, "failed": 0}


def test_two_relays_deliver_each_message_once(pg: Database, tmp_path: Path) -> None:
    """Two relays on one database claim disjoint messages (SKIP LOCKED): 1,000 sent once each."""
    ids = fill(pg)
    with smtp_server() as (h, port):
        settings = mail_settings(tmp_path, port)
        reports = []
        threads = [threading.Thread(target=lambda: reports.append(
            deliver(pg, settings, T0 + timedelta(minutes=1)))) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(r.sent for r in reports) == N
    assert all(r.sent > 0 for r in reports)  # both took a share
    assert_exactly_once(pg, ids, h.message_ids())


def test_two_services_deliver_each_message_once(pg: Database, tmp_path: Path) -> None:
    """Two `run` services on one database: one schedules, one stands by; every message once."""
    ids = fill(pg)
    stop = threading.Event()
    with smtp_server() as (h, port):
        settings = mail_settings(tmp_path, port)
        schedule = Schedule(relay_every_s=0.2, standby_poll_s=0.1)
        threads = [threading.Thread(target=run_service, args=(
            pg, settings, REMINDERS, POLICIES, lambda: T0 + timedelta(minutes=1), stop,
            schedule)) for _ in range(2)]
        for t in threads:
            t.start()
        done = threading.Event()
        for _ in range(600):
            if len(h.received) >= N:
                done.set()
                break
            stop.wait(0.05)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert done.is_set()
    assert_exactly_once(pg, ids, h.message_ids())

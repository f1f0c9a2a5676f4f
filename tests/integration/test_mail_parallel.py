"""The relay over N SMTP connections to a real aiosmtpd: each message once, a 5xx failing only
its own message; and two relay processes on PostgreSQL sharing one outbox."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from notifications import outbox
from notifications.relay import deliver
from notifications.render import Rendered
from storage import Database
from storage.outbox import bounces
from tests.mailkit import SENDER, T0, Handler, mail_settings, new_db, smtp_server

ROOT = Path(__file__).resolve().parents[2]
RELAY = """
import sys
from datetime import datetime
from pathlib import Path
from notifications.relay import deliver
from storage import Database
from tests.mailkit import mail_settings

db = Database(sys.argv[1])
report = deliver(db, mail_settings(Path(sys.argv[3]), int(sys.argv[2])),
                 datetime.fromisoformat(sys.argv[4]))
print(report.sent, report.deferred, report.failed)
"""


@dataclass
class Sessions(Handler):
    """Records which client connection (its port) carried each message."""

    peers: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


def fill(db: Database, n: int, bad: int | None = None) -> list[str]:
    """n queued messages to r0..r(n-1)@example.org (the `bad`-th to gone@example.org)."""
    rendered = Rendered("coordinator", "Письмо", "Текст\n", "<p>Текст</p>")
    with db.write() as conn:
        rows = [outbox.message_row(rendered, [("Получатель", "gone@example.org" if i == bad
                                               else f"r{i}@example.org")],
                                   sender=SENDER, now=T0) for i in range(n)]
        return outbox.enqueue(conn, rows)


def counts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        return outbox.counts(conn)


def test_four_connections_deliver_each_message_exactly_once(tmp_path: Path) -> None:
    """400 messages over 4 connections: every Message-ID arrives once, each marked sent once,
    and the work is spread over the 4 sessions."""
    db = new_db(tmp_path)
    ids = fill(db, 400)
    with smtp_server(Sessions()) as (h, port):
        report = deliver(db, mail_settings(tmp_path, port, connections=4), T0)
    assert report.sent == 400
    assert sorted(h.message_ids()) == sorted(ids)
    assert counts(db) == {"queued": 0, "sent": 400, "failed": 0}
    assert len(set(h.peers)) == 4
    db.dispose()


def test_a_5xx_on_one_connection_fails_only_its_message(tmp_path: Path) -> None:
    """The server refuses one recipient for good (550) while 3 other sessions deliver: that
    message alone is failed with the answer, its address a broken contact; the rest are sent."""
    db = new_db(tmp_path)
    ids = fill(db, 60, bad=17)
    h = Sessions(rcpt_answers={"gone@example.org": "550 5.1.1 No such user"})
    with smtp_server(h) as (_, port):
        report = deliver(db, mail_settings(tmp_path, port, connections=4), T0)
    assert (report.sent, report.failed, report.deferred) == (59, 1, 0)
    assert sorted(h.message_ids()) == sorted(ids[:17] + ids[18:])
    assert len(set(h.peers)) > 1
    with db.read() as conn:
        failed = [r for r in outbox.listing(conn) if r["status"] == "failed"]
        broken = conn.execute(select(bounces.c.email)).scalars().all()
    assert [(r["message_id"], r["to"]) for r in failed] == [(ids[17], ["gone@example.org"])]
    assert "550" in failed[0]["last_error"] and broken == ["gone@example.org"]
    db.dispose()


@pytest.mark.postgres
def test_two_relay_processes_on_postgres_deliver_each_message_once(pg_url: str,
                                                                  tmp_path: Path) -> None:
    """Two relays as separate OS processes, 4 connections each, on one PostgreSQL outbox
    (claims with SKIP LOCKED): 1,000 messages arrive once each and both relays took a share."""
    db = new_db(tmp_path, pg_url)
    ids = fill(db, 1000)
    at = (T0 + timedelta(minutes=1)).isoformat()
    with smtp_server() as (h, port):
        procs = [subprocess.Popen([sys.executable, "-c", RELAY, pg_url, str(port),
                                   str(tmp_path), at], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    sent = [int(out.split()[0]) for out, _ in outs]
    assert sum(sent) == 1000 and all(n > 0 for n in sent), sent
    assert len(h.message_ids()) == 1000 and set(h.message_ids()) == set(ids)
    assert counts(db) == {"queued": 0, "sent": 1000, "failed": 0}
    db.dispose()

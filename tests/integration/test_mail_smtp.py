"""Delivery through the outbox to a real aiosmtpd server on loopback, failures included."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from notifications import outbox
from notifications.relay import deliver
from notifications.render import Rendered
from storage import Database
from storage.outbox import bounces
from tests.mailkit import SENDER, T0, Handler, free_port, mail_settings, new_db, smtp_server


def queue(db: Database, n: int = 1, name: str = "Иванов Иван", to: str = "a@example.org",
          subject: str = "Проверка") -> list[str]:
    rendered = Rendered("reminder", subject, "Текст письма\n", "<p>Текст</p>")
    with db.write() as conn:
        rows = [outbox.message_row(rendered, [(name, to)], sender=SENDER, now=T0)
                for _ in range(n)]
        return outbox.enqueue(conn, rows)


def statuses(db: Database) -> list[tuple[str, int]]:
    with db.read() as conn:
        return [(r["status"], r["attempts"]) for r in reversed(outbox.listing(conn))]


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = new_db(tmp_path)
    yield d
    d.dispose()


def test_delivers_every_message_once_with_its_message_id(db: Database, tmp_path: Path) -> None:
    """Queued messages arrive once each, with the Message-ID fixed when they were queued."""
    ids = queue(db, 3)
    with smtp_server() as (h, port):
        report = deliver(db, mail_settings(tmp_path, port), T0)
    assert report.sent == 3
    assert sorted(h.message_ids()) == sorted(ids)  # over parallel connections: any order
    assert statuses(db) == [("sent", 1)] * 3
    _, rcpts, msg = h.received[0]
    assert rcpts == ["a@example.org"]
    assert msg["To"].addresses[0].display_name == "Иванов Иван"
    assert msg.get_body(("plain",)).get_content().strip() == "Текст письма"


def test_temporary_failure_is_retried_later_with_backoff(db: Database, tmp_path: Path) -> None:
    """A 4xx leaves the message queued until its backoff passes, then it is delivered."""
    [mid] = queue(db)
    h = Handler(data_answers=["451 4.3.0 try again later"])
    with smtp_server(h) as (_, port):
        settings = mail_settings(tmp_path, port)
        first = deliver(db, settings, T0)
        assert (first.deferred, statuses(db)) == (1, [("queued", 1)])
        assert deliver(db, settings, T0 + timedelta(seconds=10)).sent == 0  # not due yet
        assert deliver(db, settings, T0 + timedelta(minutes=5)).sent == 1
    assert h.message_ids() == [mid]
    assert statuses(db) == [("sent", 2)]


def test_permanent_failure_marks_failed_and_the_address_bounced(db: Database,
                                                                tmp_path: Path) -> None:
    """A 5xx recipient refusal fails the message with the server's answer, never retried."""
    queue(db, to="gone@example.org")
    h = Handler(rcpt_answers={"gone@example.org": "550 5.1.1 mailbox unavailable"})
    with smtp_server(h) as (_, port):
        report = deliver(db, mail_settings(tmp_path, port), T0)
        again = deliver(db, mail_settings(tmp_path, port), T0 + timedelta(days=1))
    assert (report.failed, again.sent + again.failed) == (1, 0)
    with db.read() as conn:
        [row] = outbox.listing(conn)
        bounced = conn.execute(select(bounces.c.email, bounces.c.error)).all()
    assert row["status"] == "failed" and "550" in row["last_error"]
    assert bounced[0].email == "gone@example.org" and "550" in bounced[0].error


def test_dropped_connection_resends_with_the_same_message_id(db: Database,
                                                             tmp_path: Path) -> None:
    """A connection dropped at DATA defers the message; the retry carries the same Message-ID."""
    ids = queue(db, 2)
    h = Handler(drop_next=1)
    with smtp_server(h) as (_, port):
        settings = mail_settings(tmp_path, port, connections=1)
        first = deliver(db, settings, T0)
        assert first.deferred == 1 and first.sent == 0  # the rest of the batch waits
        later = deliver(db, settings, T0 + timedelta(hours=1))
    assert later.sent == 2
    assert h.message_ids() == [ids[0], ids[0], ids[1]]  # twice, recognisably the same


def test_server_down_loses_nothing(db: Database, tmp_path: Path) -> None:
    """With no server listening, messages stay queued and go out once it is back."""
    ids = queue(db, 3)
    port = free_port()
    report = deliver(db, mail_settings(tmp_path, port, timeout_s=2), T0)
    assert (report.sent, report.deferred) == (0, 1)
    assert [s for s, _ in statuses(db)] == ["queued"] * 3
    h = Handler()
    ctrl = Controller(h, hostname="127.0.0.1", port=port)  # the server comes up on that port
    ctrl.start()
    try:
        assert deliver(db, mail_settings(tmp_path, port), T0 + timedelta(hours=1)).sent == 3
    finally:
        ctrl.stop()
    assert sorted(h.message_ids()) == sorted(ids)


@pytest.mark.parametrize("name,subject", [
    ("Иванов\r\nBcc: evil@attacker.example", "Тема\r\nBcc: evil@attacker.example"),
    ("x\nTo: evil@attacker.example", "ok\nCc: evil@attacker.example"),
    ("=?utf-8?q?evil=40attacker=2Eexample?= <evil@attacker.example>", "=?utf-8?b?QmNjOg==?="),
    ('"a@b.c" , evil@attacker.example', "Тема"),
])
def test_header_injection_never_adds_a_recipient(db: Database, tmp_path: Path, name: str,
                                                 subject: str) -> None:
    """CR, LF, encoded words or commas in a name or subject never reach another mailbox."""
    queue(db, name=name, subject=subject)
    with smtp_server() as (h, port):
        assert deliver(db, mail_settings(tmp_path, port), T0).sent == 1
    _, rcpts, msg = h.received[0]
    assert rcpts == ["a@example.org"]
    assert [a.addr_spec for a in msg["To"].addresses] == ["a@example.org"]
    assert msg["Bcc"] is None and msg["Cc"] is None and len(msg.get_all("To")) == 1
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]


def test_file_transport_writes_eml_files(db: Database, tmp_path: Path) -> None:
    """The file transport writes one .eml per message into mail.dir."""
    queue(db, 2)
    report = deliver(db, mail_settings(tmp_path, transport="file"), T0)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert report.sent == 2 and len(files) == 2
    assert b"Message-ID:" in files[0].read_bytes()

"""The relay against a misbehaving SMTP server (real aiosmtpd or a scripted socket on loopback).

4xx and dropped connections leave the message queued with backoff; 5xx fails it; a retry
carries the same Message-ID; a server that cannot be used as configured sends nothing, keeps
the messages queued, gives their leases back and says which setting to change.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from notifications.errors import SmtpSettingsRefused
from notifications.relay import deliver
from notifications.settings import MailSettings
from storage import Database
from storage.outbox import outbox as outbox_table
from tests.e2e.cli import run
from tests.integration.test_mail_smtp import queue, statuses
from tests.mailkit import T0, Handler, free_port, mail_settings, new_db, smtp_server

LATER = T0 + timedelta(hours=2)  # past any backoff of a first failure


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = new_db(tmp_path)
    yield d
    d.dispose()


def leases(db: Database) -> list[tuple[str, object]]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(select(outbox_table.c.status,
                                                      outbox_table.c.lease_until))]


def starttls(settings: MailSettings, **smtp: object) -> MailSettings:
    return replace(settings, smtp=replace(settings.smtp, **smtp))


@pytest.mark.parametrize("smtp,names", [
    ({"starttls": True}, "mail.smtp.starttls: true"),
    ({"username": "relay", "password": "secret"}, "ROLLOUT_SMTP_USERNAME"),
])
def test_starttls_required_but_not_offered_sends_nothing_and_keeps_the_mail(
        db: Database, tmp_path: Path, smtp: dict[str, object], names: str) -> None:
    """No STARTTLS on offer: a clear error naming the setting and server; mail stays queued."""
    queue(db, 3)
    with smtp_server() as (h, port), pytest.raises(SmtpSettingsRefused) as info:
        deliver(db, starttls(mail_settings(tmp_path, port), **smtp), T0)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "does not offer STARTTLS" in message
    assert names in message
    assert h.received == []
    assert leases(db) == [("queued", None)] * 3  # leases given back: the next run may try
    assert statuses(db) == [("queued", 0)] * 3  # nothing counts as an attempt


def test_outbox_send_says_so_and_exits_6(db: Database, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`rollout outbox send` with STARTTLS required and not offered: exit 6, no traceback."""
    queue(db)
    with smtp_server() as (_, port):
        config = tmp_path / "config.yaml"
        config.write_text(f"database: {{url: 'sqlite:///{tmp_path / 'rollout.db'}'}}\n"
                          f"mail: {{transport: smtp, smtp: {{host: 127.0.0.1, port: {port}, "
                          "starttls: true, timeout_s: 5}}\n", encoding="utf-8")
        monkeypatch.setenv("ROLLOUT_CONFIG", str(config))
        result = run(capsys, "outbox", "send", "--at", "2026-03-02T09:00:00+03:00")
    assert result.code == 6, result.err
    assert "mail.smtp.starttls" in result.err and "STARTTLS" in result.err
    assert "Traceback" not in result.err and "bug" not in result.err
    assert leases(db) == [("queued", None)]


@pytest.mark.parametrize("answer", ["421 4.3.2 service shutting down",
                                    "451 4.3.0 local error in processing"])
def test_4xx_at_data_defers_and_the_retry_has_the_same_message_id(
        db: Database, tmp_path: Path, answer: str) -> None:
    """421 and 451 after DATA: queued with backoff, then delivered once with its Message-ID."""
    [mid] = queue(db)
    h = Handler(data_answers=[answer])
    with smtp_server(h) as (_, port):
        first = deliver(db, mail_settings(tmp_path, port), T0)
        assert (first.deferred, statuses(db)) == (1, [("queued", 1)])
        assert deliver(db, mail_settings(tmp_path, port), T0 + timedelta(seconds=5)).sent == 0
        assert deliver(db, mail_settings(tmp_path, port), LATER).sent == 1
    assert h.message_ids() == [mid]


def test_550_at_data_fails_the_message_for_good(db: Database, tmp_path: Path) -> None:
    """A 5xx answer to the message: failed with the server's words, never tried again."""
    queue(db)
    h = Handler(data_answers=["550 5.7.1 message refused"])
    with smtp_server(h) as (_, port):
        assert deliver(db, mail_settings(tmp_path, port), T0).failed == 1
        again = deliver(db, mail_settings(tmp_path, port), LATER)
    assert again.sent + again.failed + again.deferred == 0
    assert statuses(db) == [("failed", 1)]
    assert h.received == []


class DropAtRcpt(Handler):
    """Drops the connection at the first RCPT: before DATA, so the server has nothing yet."""

    dropped = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if not self.dropped:
            self.dropped = True
            server.transport.close()
            return "421 closing"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def test_connection_dropped_before_data_defers_and_sends_once(db: Database,
                                                              tmp_path: Path) -> None:
    """Dropped before DATA: the batch waits; later every message arrives exactly once."""
    ids = queue(db, 2)
    h = DropAtRcpt()
    with smtp_server(h) as (_, port):
        first = deliver(db, mail_settings(tmp_path, port), T0)
        assert (first.sent, first.deferred) == (0, 1)
        assert leases(db) == [("queued", None)] * 2
        assert deliver(db, mail_settings(tmp_path, port), LATER).sent == 2
    assert h.message_ids() == ids


class SlowAfterData(Handler):
    """Takes the first message, then answers only after the client has given up."""

    slow = True

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        answer = await super().handle_DATA(server, session, envelope)
        if self.slow:
            self.slow = False
            await asyncio.sleep(3)
        return answer


def test_timeout_after_the_final_dot_resends_with_the_same_message_id(db: Database,
                                                                       tmp_path: Path) -> None:
    """No answer after DATA within timeout_s: deferred; the resend is the same Message-ID
    (SMTP's documented duplicate window)."""
    [mid] = queue(db)
    h = SlowAfterData()
    with smtp_server(h) as (_, port):
        first = deliver(db, mail_settings(tmp_path, port, timeout_s=0.5), T0)
        assert (first.deferred, statuses(db)) == (1, [("queued", 1)])
        assert deliver(db, mail_settings(tmp_path, port, timeout_s=5), LATER).sent == 1
    assert h.message_ids() == [mid, mid]


@contextmanager
def scripted(greeting: bytes | None) -> Iterator[int]:
    """A socket that answers every connection with `greeting` and hangs up; None: says nothing."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    port = int(sock.getsockname()[1])
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            if greeting is None:
                held.append(conn)  # silent: the client's timeout must end it
            else:
                conn.sendall(greeting)
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join()
        for c in held:
            c.close()
        sock.close()


@pytest.mark.parametrize("greeting", [b"421 4.3.2 too busy, try later\r\n", None],
                         ids=["421-greeting", "silent-server"])
def test_a_server_that_will_not_talk_leaves_everything_queued(
        db: Database, tmp_path: Path, greeting: bytes | None) -> None:
    """421 as the greeting, or no greeting before timeout_s: one attempt counted, the rest of
    the batch untouched, every lease given back."""
    queue(db, 3)
    with scripted(greeting) as port:
        report = deliver(db, mail_settings(tmp_path, port, timeout_s=0.5), T0)
    assert (report.sent, report.failed, report.deferred) == (0, 0, 1)
    assert [s for s, _ in statuses(db)] == ["queued"] * 3
    assert sorted(a for _, a in statuses(db)) == [0, 0, 1]
    assert leases(db) == [("queued", None)] * 3
    with smtp_server() as (h, port):
        assert deliver(db, mail_settings(tmp_path, port), LATER).sent == 3
    assert len(h.received) == 3


def test_nothing_listening_is_a_dropped_connection(db: Database, tmp_path: Path) -> None:
    """Connection refused: deferred, not failed."""
    queue(db)
    report = deliver(db, mail_settings(tmp_path, free_port(), timeout_s=1), T0)
    assert (report.deferred, report.failed) == (1, 0)

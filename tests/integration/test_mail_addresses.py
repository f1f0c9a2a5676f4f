"""One address rule end to end: import, assign, the reminder pass and delivery (real aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_string, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from notifications import outbox
from notifications.relay import deliver
from notifications.reminders import run_pass
from storage import Database
from storage.models import assignments, people
from storage.outbox import bounces, broken_contacts_by_region
from tests.builders import World
from tests.mailkit import POLICIES, REMINDERS, T0, Handler, free_port, mail_settings, new_db, seed
from workflow.errors import InvalidInput
from workflow.importing import import_file

DAY12 = datetime(2026, 3, 18, 7, 0, tzinfo=UTC)  # 12 business days after T0: reminders due
# What an older release let in, and what Russian schools really use.
COMMENT, CYRILLIC, IDN_DOMAIN = "a(b)@x.ru", "иван@школа.рф", "ivan@школа.рф"


class RawHandler(Handler):
    """Also keeps each message's bytes: UTF-8 headers are read as UTF-8 (RFC 6532)."""

    raw: list[bytes]

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.raw = [*getattr(self, "raw", []), envelope.content]
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def server(smtputf8: bool) -> Iterator[RawHandler]:
    handler, port = RawHandler(), free_port()
    ctrl = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    ctrl.start()
    handler.port = port  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        ctrl.stop()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """Region 77, schools S1-S4 late on `teachers`; S2-S4's admins have unusual addresses
    (stored directly, as a release before the one rule let them in)."""
    d = new_db(tmp_path)
    seed(d, schools_n=4, admins=False)
    admins = [("admin1@example.org", "S1"), (COMMENT, "S2"), (CYRILLIC, "S3"),
              (IDN_DOMAIN, "S4")]
    with d.write() as c:
        c.execute(insert(people), [{"email": e, "name": f"Админ {s}"} for e, s in admins])
        c.execute(insert(assignments), [{"email": e, "role": "school_admin", "scope": s,
                                         "since": T0} for e, s in admins])
    yield d
    d.dispose()


def rows(db: Database) -> dict[str, dict]:
    with db.read() as conn:
        return {r["to"][0]: r for r in outbox.listing(conn)}


def test_one_bad_address_fails_its_own_message_never_the_pass(db: Database,
                                                              tmp_path: Path) -> None:
    """The pass queues for everyone; the unusable address fails alone, as a broken contact."""
    summary = run_pass(db, DAY12, mail_settings(tmp_path), REMINDERS, POLICIES)
    assert summary.reminders == 4
    with server(smtputf8=True) as h:
        report = deliver(db, mail_settings(tmp_path, h.port), DAY12)  # type: ignore[attr-defined]
    assert (report.sent, report.failed, report.deferred) == (3, 1, 0)
    by_to = rows(db)
    assert by_to[COMMENT]["status"] == "failed"
    assert "недопустимый символ '('" in by_to[COMMENT]["last_error"]
    assert {by_to[a]["status"] for a in ("admin1@example.org", CYRILLIC, IDN_DOMAIN)} == {"sent"}
    with db.read() as conn:
        assert broken_contacts_by_region(conn) == {"77": [COMMENT]}
    envelopes = sorted(r for _, rcpts, _ in h.received for r in rcpts)
    assert envelopes == ["admin1@example.org", "ivan@xn--80atdl2c.xn--p1ai",
                         "иван@xn--80atdl2c.xn--p1ai"]


def test_a_cyrillic_mailbox_needs_smtputf8_and_fails_alone_without_it(db: Database,
                                                                      tmp_path: Path) -> None:
    """Without SMTPUTF8 the Cyrillic mailbox fails with the reason; an IDN domain still goes."""
    run_pass(db, DAY12, mail_settings(tmp_path), REMINDERS, POLICIES)
    with server(smtputf8=False) as h:
        report = deliver(db, mail_settings(tmp_path, h.port), DAY12)  # type: ignore[attr-defined]
    assert (report.sent, report.failed) == (2, 2)
    by_to = rows(db)
    assert by_to[CYRILLIC]["status"] == "failed"
    assert "не поддерживает SMTPUTF8" in by_to[CYRILLIC]["last_error"]
    assert by_to[IDN_DOMAIN]["status"] == "sent"
    with db.read() as conn:
        broken = dict(conn.execute(select(bounces.c.email, bounces.c.error)).all())
    assert set(broken) == {COMMENT, CYRILLIC}  # stored forms, as `status` shows them
    assert "SMTPUTF8" in broken[CYRILLIC]


def test_the_cyrillic_message_arrives_whole(db: Database, tmp_path: Path) -> None:
    """With SMTPUTF8 the To header carries the mailbox in UTF-8 and the subject is readable."""
    run_pass(db, DAY12, mail_settings(tmp_path), REMINDERS, POLICIES)
    with server(smtputf8=True) as h:
        deliver(db, mail_settings(tmp_path, h.port), DAY12)  # type: ignore[attr-defined]
    [raw] = [r for r in h.raw if "иван".encode() in r]
    msg = message_from_string(raw.decode("utf-8"), policy=policy.default)
    assert msg["To"].addresses[0].username == "иван"
    assert msg["To"].addresses[0].display_name == "Админ S3"
    assert msg["Subject"]


def test_the_file_transport_writes_the_cyrillic_message(db: Database, tmp_path: Path) -> None:
    """transport: file writes an .eml for the Cyrillic mailbox that reads back."""
    run_pass(db, DAY12, mail_settings(tmp_path), REMINDERS, POLICIES)
    report = deliver(db, mail_settings(tmp_path, transport="file"), DAY12)
    assert (report.sent, report.failed) == (3, 1)
    tos = {message_from_string(p.read_text(encoding="utf-8"), policy=policy.default)["To"]
           .addresses[0].username
           for p in (tmp_path / "mail").glob("*.eml")}
    assert tos == {"admin1", "иван", "ivan"}


@pytest.fixture
def std(world: World) -> World:
    world.standard()
    return world


@pytest.mark.usefixtures("russian")
@pytest.mark.parametrize("bad", [COMMENT, "a b@x.ru", "a\u200b@x.ru", "a@x", "a..b@x.ru"])
def test_import_refuses_what_mail_cannot_send_naming_the_row(std: World, bad: str) -> None:
    """`import people` refuses an address the mail code would refuse, naming row and column."""
    path = std.write_csv([{"email": "ok@s1.ru", "name": "Ок", "role": "school_admin",
                           "scope": "S1"},
                          {"email": bad, "name": "Плох", "role": "school_admin", "scope": "S2"}],
                         name="people.csv")
    with pytest.raises(InvalidInput) as info:
        import_file(std.services, "people", path, now=std.now)
    [problem] = info.value.problems
    assert problem.startswith("people.csv:3: email: ") and "не адрес электронной почты" in problem


def test_import_and_assign_accept_internationalised_addresses(std: World) -> None:
    """Cyrillic domains and mailboxes go in, stored as people write them (lower case)."""
    std.person("Иван@Школа.РФ", "school_admin", "S1")
    std.through_step3()
    std.services.assign("school_admin", "S2", "ivan@xn--80atdl2c.xn--p1ai", "Иван",
                        "rc@region07.ru", std.now)
    for school, email in (("S1", "иван@школа.рф"), ("S2", "ivan@школа.рф")):
        assert email in {p["email"] for p in std.status("school", school)["people"]}


@pytest.mark.parametrize("bad", [COMMENT, "a b@x.ru"])
def test_assign_refuses_what_mail_cannot_send(std: World, bad: str) -> None:
    """`assign --email` uses the same rule (exit 6, naming the option)."""
    std.through_step3()
    with pytest.raises(InvalidInput, match="--email .* not an e-mail address"):
        std.services.assign("school_admin", "S2", bad, "Плох", "rc@region07.ru", std.now)

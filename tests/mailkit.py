"""Test helpers for the mail side: a seeded database and a real aiosmtpd server on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert

from notifications.settings import MailSettings, ReminderSettings, SmtpSettings
from states import STEPS, default_graph, default_policies, settle_open, step_by_slug
from storage import Database
from storage.models import assignments, municipalities, people, regions, schools
from storage.repo import insert_machines

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 2 March 2026, 09:00 in Moscow
SENDER = "Внедрение ФГИС «Моя школа» <rollout@example.org>"


def steps_at(state: str, since: datetime) -> dict[str, Any]:
    """A machine's steps whose state (first open step) is `state`, open since `since`: the
    earlier steps done, the later ones open or pending as the default graph says."""
    index = len(STEPS) if state == "done" else step_by_slug(state).index
    statuses = settle_open(default_graph(), {s.slug: "done" if s.index < index else "pending"
                                             for s in STEPS})
    return {slug: {"status": v, "since": None if v == "pending" else since.isoformat()}
            for slug, v in statuses.items()}


def new_db(tmp_path: Path, url: str | None = None) -> Database:
    db = Database(url or f"sqlite:///{tmp_path / 'rollout.db'}")
    db.migrate()
    return db


def seed(db: Database, *, state: str = "teachers", since: datetime = T0,
         schools_n: int = 2, region_tz: str = "Europe/Moscow", admins: bool = True) -> None:
    """Region 77 with one municipality M1, `schools_n` schools at `state`, and its people."""
    with db.write() as c:
        c.execute(insert(regions).values(code="77", name="Москва", timezone=region_tz))
        c.execute(insert(municipalities).values(code="M1", region_code="77", name="Район 1"))
        c.execute(insert(schools), [
            {"code": f"S{i}", "region_code": "77", "municipality_code": "M1",
             "name": f"Школа № {i}", "teachers_expected": 40, "classes_expected": 10,
             "students_expected": 300, "parents_expected": 300} for i in range(1, schools_n + 1)])
        who = [("pm@example.org", "Петров Пётр", "program_manager", ""),
               ("rc@example.org", "Иванова Анна Сергеевна", "regional_coordinator", "77"),
               ("mc@example.org", "Сидоров Олег", "municipal_coordinator", "M1")]
        if admins:
            who += [(f"admin{i}@example.org", f"Админ {i}", "school_admin", f"S{i}")
                    for i in range(1, schools_n + 1)]
        c.execute(insert(people), [{"email": e, "name": n, "position": "Начальник отдела",
                                    "phone": "+7 495 000-00-00"} for e, n, _, _ in who])
        c.execute(insert(assignments), [{"email": e, "role": r, "scope": s, "since": since}
                                        for e, _, r, s in who])
        insert_machines(c, [{"kind": "region", "code": "77", "region_code": "77",
                                      "state": "admins", "steps": steps_at("admins", since),
                                      "version": 1, "updated_at": since, "state_since": since}])
        insert_machines(c, [
            {"kind": "school", "code": f"S{i}", "region_code": "77", "state": state,
             "steps": steps_at(state, since), "version": 1, "updated_at": since,
             "state_since": since}
            for i in range(1, schools_n + 1)])


def mail_settings(tmp_path: Path, port: int = 25, transport: str = "smtp",
                  timeout_s: float = 5.0, connections: int = 4) -> MailSettings:
    return MailSettings(sender=SENDER, transport=transport, dir=tmp_path / "mail",
                        smtp=SmtpSettings(host="127.0.0.1", port=port, timeout_s=timeout_s,
                                          connections=connections))


REMINDERS = ReminderSettings()
POLICIES = default_policies()


@dataclass
class Handler:
    """An aiosmtpd handler that records envelopes and answers as the test scripts it."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    data_answers: list[str] = field(default_factory=list)  # consumed one per DATA
    rcpt_answers: dict[str, str] = field(default_factory=dict)  # address -> answer
    drop_next: int = 0  # take the message, then drop the connection before answering
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        answer = self.rcpt_answers.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.data_answers:
                return self.data_answers.pop(0)
            msg = message_from_bytes(envelope.content, policy=policy.default)
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
            if self.drop_next:  # the message arrived but the client never hears "250"
                self.drop_next -= 1
                server.transport.close()
                return "421 closing"
        return "250 Message accepted"

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for _, _, m in self.received]


@contextmanager
def smtp_server(handler: Handler | None = None) -> Iterator[tuple[Handler, int]]:
    """A real SMTP server on 127.0.0.1 and a free port, stopped afterwards."""
    handler = handler or Handler()
    port = free_port()
    ctrl = Controller(handler, hostname="127.0.0.1", port=port)
    ctrl.start()
    try:
        yield handler, port
    finally:
        ctrl.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

"""What a person receives is byte for byte the message the `email` package builds from the
stored row: every kind of letter (appointment notices, the coordinator's letter with Cc and
Reply-To, the registry request with its XLSX, reminders and escalations rendered at delivery,
the weekly digest) sent over SMTP to a real aiosmtpd."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from notifications.deferred import Renderer
from notifications.message import build
from notifications.sender import SMTP_POLICY
from storage.outbox import outbox
from tests.builders import World
from tests.conftest import T0, make_services
from tests.mailkit import Handler, smtp_server
from workflow import mail
from workflow.reconcile.service import reconcile, sample_list

BOUNDARY = re.compile(rb"={15}\d{19}==")


@dataclass
class Raw(Handler):
    """Keeps each message as the bytes that came over the wire, by Message-ID."""

    raw: dict[str, bytes] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.raw[self.received[-1][2]["Message-ID"]] = envelope.original_content
        return answer


def unbound(raw: bytes) -> bytes:
    """Each MIME boundary (drawn at random at every build) replaced by its rank."""
    found: dict[bytes, bytes] = {}
    return BOUNDARY.sub(lambda m: found.setdefault(m[0], b"BOUNDARY%d" % len(found)), raw)


def test_every_kind_of_letter_arrives_as_the_email_package_builds_it(tmp_path: Path) -> None:
    """Each queued row, rendered if stored as a context, built by `message.build` and
    serialised by the `email` package, equals what the server received (the boundaries
    aside, which are random at every build)."""
    handler = Raw()
    with smtp_server(handler) as (_, port):
        services = make_services(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, mail={
            "transport": "smtp", "smtp": {"host": "127.0.0.1", "port": port, "timeout_s": 5}})
        world = World(services, tmp_path, T0).standard()
        world.school("S3", "07", "0701")
        world.through_step3()
        services.assign("regional_coordinator", "07", "rc2@region07.ru",
                        "Хашев Азамат Муратович", "support@operator.ru", T0,
                        "начальник отдела цифровизации", "+7 8662 40-12-34",
                        "Министерство просвещения КБР")
        services.assign("school_admin", "S1", "admin1@region07.ru", "Коваленко-Ли Олег Ильич",
                        "mc1@region07.ru", T0, "директор", None, "МКОУ «СОШ № 1»")
        mail.queue_letter(services, "coordinator", "07", T0, "rc@region07.ru")
        reconcile(services, "07", sample_list(services, "07", tmp_path / "list.xlsx"), T0,
                  actor="rc@region07.ru")
        mail.queue_letter(services, "registry", "07", T0, "rc@region07.ru")
        at = T0 + timedelta(days=30)
        mail.remind(services, at)
        assert mail.digest(services, at) > 0
        with services.db.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(outbox).order_by(outbox.c.id))]
        report = mail.deliver_outbox(services, at)
        services.db.dispose()
    assert report.sent == len(rows) and not report.failed
    kinds = {r["kind"] for r in rows}
    assert kinds == {"appointed", "coordinator", "registry", "reminder", "escalation", "digest"}
    assert any(r["attachments"] for r in rows) and any(r["context"] for r in rows)
    render = Renderer(services.config.mail)
    for row in rows:
        expected = build(render(row)).as_bytes(policy=SMTP_POLICY)
        assert unbound(handler.raw[row["message_id"]]) == unbound(expected), row["kind"]

"""From a claimed outbox row to what a sender sends: rendered (if stored as a context) and
built; a row that cannot be built is that message's outcome, never the relay's failure.

Building and serialising a message with the `email` package (folding Cyrillic headers) was
most of a relay's CPU, ~3 ms a letter; a letter without attachments is now a mime.Letter that
writes the same bytes for ~0.1 ms. Building in worker processes was measured (release 0.3) and
was slower on the shared 2-core box than building here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notifications.deferred import Renderer
from notifications.errors import TemplateBroken, TemplateMissing, Unbuildable
from notifications.message import prepare
from notifications.sender import Outcome, Payload
from notifications.settings import MailSettings


@dataclass(frozen=True)
class Built:
    """A row made ready: the message (or its SMTP bytes), its envelope, or why it cannot go."""

    subject: str | None  # rendered now (a stored context): stored with the mark
    envelope_from: str = ""
    rcpts: list[str] = field(default_factory=list)  # envelope form (A-label domains)
    stored: dict[str, str] = field(default_factory=dict)  # envelope form -> as stored
    refused: dict[str, str] = field(default_factory=dict)  # left out, and why
    message: Payload | None = None  # None: `failure` says why
    failure: Outcome | None = None  # cannot be built: this message's outcome


def build_row(row: dict[str, Any], render: Renderer) -> Built:
    subject = None
    try:
        if row.get("context") is not None:
            row = render(row)
            subject = row["subject"]
        ready = prepare(row)
    except Unbuildable as exc:  # nobody to send it to: this message fails, the others go on
        return Built(subject, failure=Outcome("permanent", exc.reason, exc.refused))
    except (TemplateBroken, TemplateMissing) as exc:  # an override the operator can fix
        return Built(subject, failure=Outcome("temporary", str(exc)))
    return Built(subject, ready.envelope_from, ready.rcpts, ready.stored, ready.refused,
                 message=ready.message)


class Builder:
    """Builds rows for one relay run (template files checked once per run, not per message)."""

    def __init__(self, mail: MailSettings) -> None:
        self.render = Renderer(mail)

    async def __call__(self, row: dict[str, Any]) -> Built:
        return build_row(row, self.render)

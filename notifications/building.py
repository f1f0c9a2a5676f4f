"""From a claimed outbox row to what a sender sends: rendered (if stored as a context), built
and, for SMTP, serialised; in the relay's process, or in worker processes during a backlog.

Building and serialising a message (the `email` package folding Cyrillic headers) is most of
a relay's CPU; one process delivers over N connections no faster than it builds. With a
backlog the relay builds in `workers` processes (both cores), the sessions stay in its own.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from multiprocessing import get_context
from typing import Any

from notifications.deferred import Renderer
from notifications.errors import TemplateBroken, TemplateMissing, Unbuildable
from notifications.message import prepare
from notifications.sender import Outcome, smtp_payload
from notifications.settings import MailSettings


@dataclass(frozen=True)
class Built:
    """A row made ready: the message (or its SMTP bytes), its envelope, or why it cannot go."""

    subject: str | None  # rendered now (a stored context): stored with the mark
    envelope_from: str = ""
    rcpts: list[str] = field(default_factory=list)  # envelope form (A-label domains)
    stored: dict[str, str] = field(default_factory=dict)  # envelope form -> as stored
    refused: dict[str, str] = field(default_factory=dict)  # left out, and why
    message: EmailMessage | None = None
    payload: bytes | None = None  # the message as SMTP sends it (built in a worker)
    failure: Outcome | None = None  # cannot be built: this message's outcome


def build_row(row: dict[str, Any], render: Renderer, serialise: bool = False) -> Built:
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
    if serialise:
        return Built(subject, ready.envelope_from, ready.rcpts, ready.stored, ready.refused,
                     payload=smtp_payload(ready.message, ready.envelope_from, ready.rcpts))
    return Built(subject, ready.envelope_from, ready.rcpts, ready.stored, ready.refused,
                 message=ready.message)


_RENDERERS: dict[MailSettings, Renderer] = {}  # in a worker process: one per configuration


def build_in_worker(row: dict[str, Any], mail: MailSettings) -> Built:
    render = _RENDERERS.get(mail)
    if render is None:
        render = _RENDERERS[mail] = Renderer(mail)
    return build_row(row, render, serialise=True)


class Builder:
    """Builds rows in this process, or in `workers` processes once `use_workers` is called."""

    def __init__(self, mail: MailSettings, workers: int) -> None:
        self.mail = mail
        self.render = Renderer(mail)
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def use_workers(self) -> None:
        """A backlog: build in worker processes from now on (SMTP only; spawned, not forked,
        since the service runs threads)."""
        if self.pool is None and self.workers > 1 and self.mail.transport == "smtp":
            self.pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))

    async def __call__(self, row: dict[str, Any]) -> Built:
        if self.pool is None:
            return build_row(row, self.render)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, build_in_worker, row, self.mail)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

"""The relay: claim due messages, deliver them over N connections, mark each in its own commit."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from notifications import outbox
from notifications.building import Builder
from notifications.sender import Sender, make_sender
from notifications.settings import MailSettings
from storage import Database
from storage.text import Phrase

log = logging.getLogger("rollout.mail")
LEASE_S = 600.0  # longer than a batch can take; a killed relay's messages return after it


@dataclass
class Delivery:
    """What one relay run did."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    lines: list[Phrase] = field(default_factory=list)

    def summary(self) -> Phrase:
        """For people (the command line translates it)."""
        return Phrase("sent {sent}, deferred {deferred}, failed {failed}", sent=self.sent,
                      deferred=self.deferred, failed=self.failed)


def relay_owner() -> str:
    """A name for this relay's leases: host, process and a random part."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def deliver_async(db: Database, settings: MailSettings,
                        now: datetime | Callable[[], datetime], *, limit: int | None = None,
                        batch: int = 100, stop: threading.Event | None = None,
                        owner: str | None = None, connections: int | None = None) -> Delivery:
    """Deliver due messages until none are left, `limit` is reached or `stop` is set.

    `connections` SMTP sessions (default `mail.smtp.connections`; one for `transport: file`)
    take messages from this relay's claimed batches; each message is marked in its own commit
    right after the server's answer. `stop` is checked between messages: the messages in
    flight are finished and marked first, the rest of the batch is given back.
    """
    clock = now if callable(now) else (lambda: now)
    n = connections or (settings.smtp.connections if settings.transport == "smtp" else 1)
    senders = [make_sender(settings) for _ in range(max(1, n))]
    run = _Run(db, clock, owner or relay_owner(), limit, batch, stop,
               Builder(settings))
    try:
        outcomes = await asyncio.gather(*(run.worker(s, first=i == 0)
                                          for i, s in enumerate(senders)),
                                        return_exceptions=True)
    finally:
        run.give_back()
        await asyncio.gather(*(s.close() for s in senders), return_exceptions=True)
    for outcome in outcomes:  # the server cannot be used as configured, or a bug
        if isinstance(outcome, BaseException):
            raise outcome
    return run.done


class _Run:
    """One relay run: the claimed messages not yet taken by a connection, and what was done."""

    def __init__(self, db: Database, clock: Callable[[], datetime], owner: str,
                 limit: int | None, batch: int, stop: threading.Event | None,
                 build: Builder) -> None:
        self.db, self.clock, self.owner, self.build = db, clock, owner, build
        self.limit, self.batch, self.stop = limit, batch, stop
        self.pending: deque[dict] = deque()
        self.claimed = 0
        self.over = False  # the server went away, a connection failed, or nothing is left
        self.ready = asyncio.Event()  # the first connection has had an answer (or is over)
        self.done = Delivery()

    async def worker(self, sender: Sender, first: bool) -> None:
        """One connection: take the next claimed message (claiming a batch when none is
        left), deliver it, mark it; until the run is over.

        The other connections open only once the first has delivered a message: a server
        that is down or refuses us costs one attempt, not one per connection.
        """
        if not first:
            await self.ready.wait()
        try:
            while not self.over and not (self.stop and self.stop.is_set()):
                if not self.pending and not self._claim():
                    return
                row = self.pending.popleft()
                try:
                    lost = await _deliver_one(self.db, sender, row, self.clock(), self.owner,
                                              self.done, self.build)
                except BaseException:
                    # The server cannot be used as configured (or a bug): give the leases back
                    # at once rather than leaving the messages stuck until the leases expire.
                    self.over = True
                    self.pending.appendleft(row)
                    raise
                if lost:  # the server is down or went away: the rest waits for the next run
                    self.over = True
                self.ready.set()
        finally:
            self.ready.set()  # whatever became of the first: the others need not wait on it

    def _claim(self) -> bool:
        """Lease the next batch (no await in here: connections never claim at once)."""
        want = self.batch if self.limit is None else min(self.batch, self.limit - self.claimed)
        if want <= 0:
            return False
        with self.db.shared_write() as conn:
            rows = outbox.claim(conn, self.clock(), self.owner, want, LEASE_S)
        self.claimed += len(rows)
        self.pending.extend(rows)
        return bool(rows)

    def give_back(self) -> None:
        rows, self.pending = list(self.pending), deque()
        _release(self.db, rows, self.owner)


async def _deliver_one(db: Database, sender: Sender, row: dict, now: datetime, owner: str,
                       done: Delivery, build: Builder) -> bool:
    to = ", ".join(a for _, a in row["recipients"]["to"])
    what = Phrase("#{id} {kind} to {to}", id=row["id"], kind=row["kind"], to=to)
    ready = await build(row)
    subject = ready.subject  # a letter rendered now: its subject is stored with the mark
    if ready.failure is not None:
        result = ready.failure
    else:
        assert ready.message is not None
        result = await sender.send(ready.message, ready.envelope_from, ready.rcpts, row["id"])
        # The server's refusals name envelope addresses; broken contacts are the stored ones.
        refused = {ready.stored.get(a, a): why for a, why in result.refused.items()}
        result = replace(result, refused={**ready.refused, **refused})
    # Each mark is its own commit, right after the answer: a crash now re-sends at most this one.
    # A session the server dropped meanwhile (a restart) is no reason to send it again: the
    # mark is tried once more on a new connection.
    for again in (False, True):
        try:
            with db.shared_write() as conn:
                if result.status != "sent" and subject is not None:
                    outbox.set_subject(conn, row["id"], owner, subject)
                if result.status == "sent":  # the subject in the same statement
                    outbox.mark_sent(conn, row["id"], owner, now, result.refused,
                                     row["recipients"], subject)
                elif result.status == "permanent":
                    outbox.mark_failed(conn, row["id"], owner, now, result.detail,
                                       result.refused, row["attempts"])
                else:
                    retry = outbox.mark_deferred(conn, row["id"], owner, now, result.detail,
                                                 row["attempts"])
            break
        except DBAPIError as exc:
            if again or not exc.connection_invalidated:
                raise
            log.warning("%s: the database dropped the session; marking it again", what)
    if result.status == "sent":
        done.sent += 1
        line = Phrase("sent {what} (refused: {refused})", what=what, refused=result.refused
                      ) if result.refused else Phrase("sent {what}", what=what)
        log.info(line)
    elif result.status == "permanent" or retry is None:
        done.failed += 1
        line = Phrase("failed {what}: {detail}", what=what, detail=result.detail)
        log.warning(line)
    else:
        done.deferred += 1
        line = Phrase("deferred {what} until {until}: {detail}", what=what,
                      until=retry.isoformat(timespec="seconds"), detail=result.detail)
        log.warning(line)
    done.lines.append(line)
    return result.connection_lost


def _release(db: Database, rows: list[dict], owner: str) -> None:
    if rows:
        with db.shared_write() as conn:
            outbox.release(conn, [r["id"] for r in rows], owner)


def deliver(db: Database, settings: MailSettings, now: datetime | Callable[[], datetime], *,
            limit: int | None = None, stop: threading.Event | None = None) -> Delivery:
    """Deliver the outbox with the configured transport (file: .eml files in mail.dir)."""
    return asyncio.run(deliver_async(db, settings, now, limit=limit, stop=stop))

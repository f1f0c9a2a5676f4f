"""The relay: claim due messages, deliver them over one connection, mark each in its own commit."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from notifications import outbox
from notifications.errors import Unbuildable
from notifications.message import prepare
from notifications.sender import Outcome, Sender, make_sender
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


async def deliver_async(db: Database, sender: Sender, now: datetime | Callable[[], datetime],
                        *, limit: int | None = None, batch: int = 100,
                        stop: threading.Event | None = None, owner: str | None = None
                        ) -> Delivery:
    """Deliver due messages until none are left, `limit` is reached or `stop` is set.

    `stop` is checked between messages: the message in flight is finished and marked first.
    """
    clock = now if callable(now) else (lambda: now)
    owner = owner or relay_owner()
    done = Delivery()
    try:
        while not (stop and stop.is_set()):
            want = batch if limit is None else min(batch, limit - done.sent - done.failed
                                                   - done.deferred)
            if want <= 0:
                break
            with db.shared_write() as conn:
                rows = outbox.claim(conn, clock(), owner, want, LEASE_S)
            if not rows:
                break
            for i, row in enumerate(rows):
                if stop and stop.is_set():
                    _release(db, rows[i:], owner)
                    return done
                try:
                    lost = await _deliver_one(db, sender, row, clock(), owner, done)
                except BaseException:
                    # The server cannot be used as configured (or a bug): give the leases back
                    # at once rather than leaving the messages stuck until the leases expire.
                    _release(db, rows[i:], owner)
                    raise
                if lost:  # the server is down or went away: the rest waits for the next run
                    _release(db, rows[i + 1:], owner)
                    return done
    finally:
        await sender.close()
    return done


async def _deliver_one(db: Database, sender: Sender, row: dict, now: datetime, owner: str,
                       done: Delivery) -> bool:
    to = ", ".join(a for _, a in row["recipients"]["to"])
    what = Phrase("#{id} {kind} to {to}", id=row["id"], kind=row["kind"], to=to)
    try:
        ready = prepare(row)
    except Unbuildable as exc:  # nobody to send it to: this message fails, the others go on
        result = Outcome("permanent", exc.reason, exc.refused)
    else:
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
                if result.status == "sent":
                    outbox.mark_sent(conn, row["id"], owner, now, result.refused,
                                     row["recipients"])
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
    return asyncio.run(deliver_async(db, make_sender(settings), now, limit=limit, stop=stop))

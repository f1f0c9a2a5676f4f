"""Queueing a pass's letters: in chunks, each with its reminder keys and a history event, in
one short write transaction; letters stored as contexts, rendered at delivery (deferred.py).

A national pass writes ~37,000 letters and ~160,000 keys. Building them is Python; writing them
is mostly SQLite's (or PostgreSQL's) own work, about as long again. In one process the two take
turns: a writer thread gained nothing (the GIL passed back and forth cost more than the overlap
gave). So on a big registry a pass hands its chunks to a writer in a second process, which
writes and commits chunk n while this one builds chunk n+1, on the other core; it is started
before the plan is worked out, so its start-up (~0.3 s) overlaps the plan too. On a small one
(fewer than `PROCESS_FROM` open steps) the pass writes them itself: starting a process would
cost more than it saves.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection as PipeEnd
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from sqlalchemy import func, select

from notifications import outbox
from notifications.deferred import Line, pack, render_stored
from notifications.errors import WriterStopped
from notifications.policy import Recipient
from notifications.reminders import (
    CHUNK,
    SYSTEM,
    Key,
    Late,
    PassSummary,
    Plan,
    count,
    drop,
    newest_key,
)
from notifications.settings import MailSettings, ReminderSettings
from storage import Database, NewEvent, history
from storage.bulk import insert_tuples
from storage.db import WALL_CLOCK
from storage.models import open_steps
from storage.outbox import reminder_keys
from storage.text import Phrase

PROCESS_FROM = 3 * CHUNK  # open steps: from this many, a pass has a second process write


def writer_for(db: Database, second_process: bool | None = None) -> Writer:
    """The writer of a pass's chunks: a second process for a big registry (`second_process`
    None: from the number of open steps), else this one. Chosen before the plan is worked
    out, so that the second process starts while this one reads."""
    if second_process is None:
        with db.read() as conn:
            opened = conn.execute(select(func.count()).select_from(open_steps)).scalar_one()
        second_process = opened >= PROCESS_FROM
    return _ProcessWriter(db) if second_process else _Writer(db)


def queue_letters(db: Database, now: datetime, mail: MailSettings, reminders: ReminderSettings,
                  plan: Plan, summary: PassSummary, writer: Writer, chunk: int = CHUNK,
                  after_chunk: Callable[[int], None] | None = None) -> None:
    """Queue the plan's letters in chunks, each with its keys and a history event.

    Each chunk checks again, in its own transaction, which of its recipients' lines another
    writer (a concurrent pass) has queued since the plan was made: if any, nothing of that
    chunk is written, its letters are rebuilt without those lines (counted as already sent)
    and it is written again; so the counts are what this pass queued. Letters are stored as
    contexts (deferred.py): the first of each template is rendered here, so a broken template
    stops the pass before it queues anything.
    """
    repeat = reminders.repeat_every_days
    for kind in ("reminder", "escalation"):
        first = next((x for x in plan.letters.values()
                      if _kind(list(zip(x.items, x.lines, strict=True))) == kind), None)
        if first is not None:
            render_stored(_packed(first.person, list(zip(first.items, first.lines,
                                                         strict=True)), repeat), mail)
    summary.reminders = summary.escalations = summary.items = 0
    summary.recipients = []
    parts = _parts(sorted(plan.owed), plan.owed, chunk)
    writer.begin(plan.last_key)
    pending = None
    for n, part in enumerate(parts, 1):
        owed = {email: plan.owed[email] for email in part}
        built = {email: _built(plan, email, plan.letters[email].items, mail, now, repeat)
                 for email in part}
        if pending is not None:  # the chunk before, written meanwhile by the second process
            _finish(writer, db, plan, summary, mail, now, repeat, *pending, after_chunk)
        writer.send(_chunk(db, now, owed, built, n, len(parts)))
        pending = (owed, built, n, len(parts))
    if pending is not None:
        _finish(writer, db, plan, summary, mail, now, repeat, *pending, after_chunk)


class Chunk(NamedTuple):
    """What one write transaction of a pass writes (plain data: it may go to another process)."""

    recorded_at: datetime  # the real moment the history records for its event
    rows: list[dict[str, Any]]  # outbox rows
    keys: list[tuple[Any, ...]]  # reminder keys, KEY_COLUMNS in order
    event: NewEvent


Built = tuple[dict[str, Any], list[tuple[Any, ...]]]  # an outbox row and its reminder keys
KEY_COLUMNS = ("machine_id", "step", "email", "period", "level", "message_id")


def _built(plan: Plan, email: str, items: list[Late], mail: MailSettings, now: datetime,
           repeat: int) -> Built:
    """One recipient's letter of the pass (the `items` still owed) and its reminder keys."""
    letter = plan.letters[email]
    kept = list(zip(letter.items, letter.lines, strict=True))
    if items is not letter.items:  # some of its lines were queued by another pass meanwhile
        fresh = set(items)
        kept = [(it, ln) for it, ln in kept if it in fresh]
    row = outbox.deferred_row(_kind(kept), _packed(letter.person, kept, repeat),
                              [(letter.person.name, email)], sender=mail.sender, now=now)
    message_id = row["message_id"]
    keys = [(it.machine_id, it.step, email, it.period, it.level, message_id) for it, _ in kept]
    return row, keys


def _chunk(db: Database, now: datetime, owed: dict[str, list[Late]], built: dict[str, Built],
           n: int, parts: int) -> Chunk:
    """The chunk's letters, keys and the event that records them."""
    done = PassSummary(at=now)
    count(owed, done)
    emails = sorted(owed)
    return Chunk(db.clock(), [built[e][0] for e in emails],
                 [k for e in emails for k in built[e][1]],
                 NewEvent(at=now, event="RemindersQueued", actor=SYSTEM, trigger="reminder pass",
                          reason=f"part {n} of {parts}: {done.summary()}",
                          data={"reminders": done.reminders, "escalations": done.escalations,
                                "items": done.items, "recipients": len(done.recipients),
                                "part": n, "parts": parts}))


def _finish(writer: Writer, db: Database, plan: Plan, summary: PassSummary,
            mail: MailSettings, now: datetime, repeat: int, owed: dict[str, list[Late]],
            built: dict[str, Built], n: int, parts: int,
            after_chunk: Callable[[int], None] | None) -> None:
    """Wait until chunk n is written; if another pass overtook some of its lines, drop them,
    rebuild those letters and write the chunk again."""
    while clash := writer.result():
        drop(owed, clash, summary)
        built = {email: built[email] if len(built[email][1]) == len(items) else
                 _built(plan, email, items, mail, now, repeat) for email, items in owed.items()}
        if not owed:
            break  # everything of this chunk was queued by the other pass
        writer.send(_chunk(db, now, owed, built, n, parts))
    count(owed, summary)
    if after_chunk is not None:
        after_chunk(n)


@dataclass
class _Keys:
    """The reminder keys a pass's writer knows of: the newest id it has seen, and the id ranges
    other writers (a concurrent pass, a digest) added since the plan was made."""

    newest: int
    others: list[tuple[int, int]] = field(default_factory=list)


def write_chunk(db: Database, known: _Keys, chunk: Chunk) -> set[Key]:
    """One chunk in one write transaction; or, if other writers have queued some of its
    lines since the plan was made, nothing: their keys are returned instead.

    Only the keys other writers added are read for that check: the pass's own earlier chunks
    hold other recipients, and reading them again made the check grow with every chunk.
    """
    with db.write() as conn:
        conn.info[WALL_CLOCK] = lambda: chunk.recorded_at
        newest = newest_key(conn)
        if newest > known.newest:  # another writer added keys since: check against them
            known.others.append((known.newest, newest))
            known.newest = newest
        clash = _written_by_others(conn, known, chunk.keys)
        if clash:
            return clash
        if chunk.rows:
            outbox.enqueue(conn, chunk.rows)
            insert_tuples(conn, reminder_keys, KEY_COLUMNS, chunk.keys,
                          {"created_at": chunk.event.at})
            history.append(conn, [chunk.event])
        known.newest = newest_key(conn)
    return set()


def _written_by_others(conn: Any, known: _Keys, keys: list[tuple[Any, ...]]) -> set[Key]:
    if not known.others:
        return set()
    mine = {k[:4] for k in keys}  # (machine_id, step, email, period)
    emails = sorted({k[2] for k in keys})
    cols = (reminder_keys.c.machine_id, reminder_keys.c.step, reminder_keys.c.email,
            reminder_keys.c.period)
    found: set[Key] = set()
    for low, high in known.others:
        for i in range(0, len(emails), 5000):
            q = select(*cols).where(reminder_keys.c.id > low, reminder_keys.c.id <= high,
                                    reminder_keys.c.email.in_(emails[i:i + 5000]))
            found.update(tuple(r) for r in conn.execute(q))
    return found & mine


class _Writer:
    """Writes each chunk in this process, when it is sent."""

    def __init__(self, db: Database) -> None:
        self.db, self.known = db, _Keys(0)
        self._clash: set[Key] = set()

    def begin(self, newest: int) -> None:
        """The newest reminder key when the plan was made."""
        self.known = _Keys(newest)

    def send(self, chunk: Chunk) -> None:
        self._clash = write_chunk(self.db, self.known, chunk)

    def result(self) -> set[Key]:
        return self._clash

    def close(self) -> None:
        pass


class _ProcessWriter:
    """Writes the chunks in a second process, one at a time, in the order they are sent.

    A chunk is committed by the second process before `result()` returns; if this process is
    killed, the second one finds its socket closed and ends after the chunk it is writing.
    The second process is `python -m notifications.queue_writer` (not multiprocessing: its
    spawn would run the caller's main script again in the child).
    """

    def __init__(self, db: Database) -> None:
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "notifications.queue_writer", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL)
        theirs.close()
        self._pipe = PipeEnd(ours.detach())
        self._pipe.send((db.url.render_as_string(hide_password=False),
                         {"synchronous": db.synchronous, "busy_timeout_s": db.busy_timeout_s}))

    def begin(self, newest: int) -> None:
        self.send(newest)

    def send(self, chunk: Chunk | int) -> None:
        try:
            self._pipe.send(chunk)
        except OSError:
            self._stopped()

    def result(self) -> set[Key]:
        try:
            clash, error = self._pipe.recv()
        except (EOFError, OSError):
            self._stopped()
        if error is not None:
            raise error
        found: set[Key] = clash
        return found

    def _stopped(self) -> NoReturn:
        code = self._process.wait(5)
        raise WriterStopped(Phrase(
            "the reminder pass's writer process stopped (exit code {code}); the parts written "
            "before are queued, run the pass again for the rest", code=code)) from None

    def close(self) -> None:
        with suppress(OSError):  # the second process may be gone already
            self._pipe.send(None)
        self._pipe.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


Writer = _Writer | _ProcessWriter


def serve(pipe: PipeEnd) -> None:
    """The second process: write each chunk received; answer with what clashed, or the error."""
    url, options = pipe.recv()
    db = Database(url, **options)
    try:
        known = _Keys(pipe.recv())
        while True:
            try:
                chunk = pipe.recv()
            except EOFError:  # the pass is gone (killed): nothing more will come
                return
            if chunk is None:
                return
            try:
                pipe.send((write_chunk(db, known, chunk), None))
            except Exception as exc:  # the pass raises it as its own
                pipe.send((set(), _portable(exc)))
                return
    finally:
        db.dispose()


def _portable(exc: Exception) -> Exception:
    """The error as it can cross to the other process (its text, if it cannot itself)."""
    try:
        back: Exception = pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return back


def _parts(emails: list[str], owed: dict[str, list[Late]], chunk: int) -> list[list[str]]:
    """Recipients in chunks of about `chunk` letters or `chunk` × 5 lines, whichever first."""
    parts: list[list[str]] = [[]]
    lines = 0
    for email in emails:
        if parts[-1] and (len(parts[-1]) >= chunk or lines >= chunk * 5):
            parts.append([])
            lines = 0
        parts[-1].append(email)
        lines += len(owed[email])
    return parts


def _kind(kept: list[tuple[Late, Line]]) -> str:
    return "reminder" if kept[0][0].level == 0 else "escalation"  # own lines sort first


def _packed(person: Recipient, kept: list[tuple[Late, Line]], repeat: int) -> str:
    return pack({"name": person.name, "email": person.email, "role": person.role},
                [ln for it, ln in kept if it.level == 0],
                [ln for it, ln in kept if it.level > 0], repeat)

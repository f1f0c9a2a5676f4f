"""The append-only, hash-chained history: append events, read them back, verify the chain."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from storage.db import WALL_CLOCK, wall_clock
from storage.errors import ChainBroken
from storage.models import chain_head, events
from storage.prepared import Prepared
from storage.text import Phrase

GENESIS = "0" * 64
HASHED = ("seq", "at", "kind", "code", "region_code", "event", "step", "from_state", "to_state",
          "actor", "role", "reason", "trigger", "data")


@dataclass(frozen=True)
class NewEvent:
    """An event to append; `seq`, `prev_hash` and `hash` are given by the chain."""

    at: datetime
    event: str
    actor: str
    kind: str | None = None
    code: str | None = None
    region_code: str | None = None
    step: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    role: str | None = None
    reason: str | None = None
    trigger: str | None = None
    data: dict[str, Any] | None = field(default=None)


_FIELDS = tuple(f.name for f in fields(NewEvent))


@dataclass(frozen=True)
class Anchor:
    """A head of the chain written down earlier: event `seq` had hash `hash`."""

    seq: int
    hash: str
    source: str | Phrase  # where it came from, for the message: "--anchor", a file line, the table

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical(row: dict[str, Any]) -> bytes:
    payload = {k: row.get(k) for k in HASHED}
    at: datetime = row["at"]  # NOT NULL in the table, always set by `append`
    payload["at"] = _iso(at)
    # Only events written since the column exists carry it: older hashes stay as they were.
    recorded: datetime | None = row.get("recorded_at")
    if recorded is not None:
        payload["recorded_at"] = _iso(recorded)
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str).encode()


def event_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(row)).hexdigest()


# Built once: appending is on the hot path of every transition.
_HEAD_FOR_UPDATE = select(chain_head.c.seq, chain_head.c.hash).where(
    chain_head.c.id == 1).with_for_update()
# Run on the driver's cursor (storage/prepared.py): each through `Connection.execute` cost
# several times SQLite's own work.
_INSERT_EVENT = Prepared(insert(events))
_MOVE_HEAD = Prepared(update(chain_head).where(chain_head.c.id == 1).values(
    seq=bindparam("b_seq"), hash=bindparam("b_hash")))


# Where a write transaction keeps the chain's head once read (see `remember_head`).
_HEAD_KEY = "rollout.chain_head"


def remember_head(conn: Connection, seq: int, hash_: str) -> None:
    """The head as this write transaction read it (locked): `append` then needs no query.

    Kept beside the transaction it was read in and ignored in any other one; every write of
    the head goes through `append`, which keeps it current.
    """
    conn.info[_HEAD_KEY] = (conn.get_transaction(), seq, hash_)


def _head(conn: Connection) -> tuple[int, str]:
    known = conn.info.get(_HEAD_KEY)
    if known is not None and known[0] is conn.get_transaction() and known[0] is not None:
        return known[1], known[2]
    head = conn.execute(_HEAD_FOR_UPDATE).one()
    return head.seq, head.hash


def append(conn: Connection, new: Iterable[NewEvent]) -> list[int]:
    """Append events at the end of the chain in this transaction; returns their numbers.

    Callers hold the writer lock (a write transaction), so the head read here stays the head.
    """
    batch = list(new)
    if not batch:
        return []
    seq, prev = _head(conn)
    clock: Callable[[], datetime] = conn.info.get(WALL_CLOCK, wall_clock)
    recorded = clock()  # the real moment, whatever `at` the command claims
    rows = []
    for ev in batch:
        seq += 1
        # A shallow copy: asdict() deep-copies `data` (a third of a cascade's time); the row is
        # only hashed and inserted, never mutated, so sharing `data` with the event is safe.
        row = {name: getattr(ev, name) for name in _FIELDS}
        row["seq"] = seq
        row["recorded_at"] = recorded
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(prev, row)
        rows.append(row)
    _INSERT_EVENT.run(conn, rows)
    _MOVE_HEAD.run(conn, {"b_seq": seq, "b_hash": prev})
    remember_head(conn, seq, prev)
    return [r["seq"] for r in rows]


def machine_log(conn: Connection, kind: str, code: str) -> list[dict[str, Any]]:
    """A machine's history, oldest first."""
    q = select(events).where(events.c.kind == kind, events.c.code == code).order_by(events.c.seq)
    return [dict(r._mapping) for r in conn.execute(q)]


def iter_all(conn: Connection, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Every event, oldest first, read in batches so the whole history never sits in memory."""
    last = 0
    while True:
        q = select(events).where(events.c.seq > last).order_by(events.c.seq).limit(batch)
        rows = [dict(r._mapping) for r in conn.execute(q)]
        if not rows:
            return
        yield from rows
        last = rows[-1]["seq"]


def verify(conn: Connection, anchors: Iterable[Anchor] = (),
           on_event: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Recompute the chain; raise ChainBroken naming the first event that does not match.

    Catches an altered event (hash), a deleted or reordered one (a gap in the numbers or a
    broken link), and a deleted tail (the head names a later event). An anchor (a head written
    down earlier, kept outside) also catches a history cut or rewritten with every hash
    recomputed: the event it names must still have its hash. Each event that passes goes to
    `on_event` (the replay) in the same pass. Returns the count.
    """
    wanted: dict[int, list[Anchor]] = defaultdict(list)
    for a in anchors:
        wanted[a.seq].append(a)
    expected_seq, prev = 1, GENESIS
    for a in wanted.get(0, []):
        _check_anchor(a, 0, GENESIS)
    for row in iter_all(conn):
        seq = row["seq"]
        if seq != expected_seq:
            raise ChainBroken(expected_seq, Phrase(
                "no such event, the next one in the database is #{seq} (an event was deleted)",
                seq=seq), "deleted")
        if row["prev_hash"] != prev:
            raise ChainBroken(seq, Phrase(
                "it does not link to the event before it (an event was deleted, inserted or "
                "moved)"), "relinked")
        if event_hash(prev, row) != row["hash"]:
            raise ChainBroken(seq, Phrase(
                "its content does not match its hash (the event was altered)"), "altered")
        for a in wanted.get(seq, []):
            _check_anchor(a, seq, row["hash"])
        if on_event is not None:
            on_event(row)
        prev = row["hash"]
        expected_seq += 1
    last = expected_seq - 1
    beyond = sorted(s for s in wanted if s > last)
    if beyond:
        a = wanted[beyond[0]][0]
        shown = f"{a.seq}:{a.hash[:16]}"
        raise ChainBroken(last + 1, Phrase(
            "no such event: the history ends at #{last}, but the anchor {anchor}… ({source}) "
            "names #{seq} (events were deleted)", last=last, anchor=shown, source=a.source,
            seq=a.seq), "anchor")
    head = conn.execute(select(chain_head.c.seq, chain_head.c.hash)
                        .where(chain_head.c.id == 1)).one_or_none()
    if head is None:
        raise ChainBroken(last + 1, Phrase("the chain's head (chain_head) was deleted"), "head")
    if head.seq != last or head.hash != prev:
        raise ChainBroken(last + 1 if head.seq > last else head.seq,
                          Phrase("the chain's head names event #{head}, but the history ends "
                                 "at #{last} (the last events were deleted or the head was "
                                 "altered)", head=head.seq, last=last), "head")
    return last


def _check_anchor(anchor: Anchor, seq: int, actual: str) -> None:
    if anchor.hash != actual:
        shown = f"{anchor.seq}:{anchor.hash[:16]}"
        raise ChainBroken(seq, Phrase(
            "the event's hash does not match the anchor {anchor}… ({source}): the history up "
            "to here was rewritten", anchor=shown, source=anchor.source), "anchor")


def head(conn: Connection) -> tuple[int, str]:
    """The chain's head as (seq, hash)."""
    r = conn.execute(select(chain_head.c.seq, chain_head.c.hash)
                     .where(chain_head.c.id == 1)).one()
    return r.seq, r.hash


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(events)).scalar_one()

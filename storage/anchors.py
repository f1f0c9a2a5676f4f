"""Anchors: heads of the chain written down, to prove later that the history was not rewritten."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, insert, select

from storage.db import WALL_CLOCK, wall_clock
from storage.history import Anchor, head
from storage.models import anchors
from storage.text import Phrase


def record(conn: Connection, at: datetime, actor: str,
           verified: tuple[int, str] | None = None) -> Anchor:
    """Write a head down in the anchors table (in this write transaction): `verified`, the head
    a verification just read, or else the current one."""
    seq, hash_ = verified or head(conn)
    clock: Callable[[], datetime] = conn.info.get(WALL_CLOCK, wall_clock)
    conn.execute(insert(anchors).values(seq=seq, hash=hash_, at=at, recorded_at=clock(),
                                        actor=actor))
    return Anchor(seq, hash_, Phrase("the anchors table, {actor}", actor=actor))


def stored(conn: Connection) -> list[Anchor]:
    """Every anchor in the table, oldest first (few: one a week or so)."""
    q = select(anchors).order_by(anchors.c.id)
    return [Anchor(r.seq, r.hash, Phrase("the anchors table, row {id} of {at} UTC, {actor}",
                                         id=r.id, at=r.recorded_at.strftime("%Y-%m-%d %H:%M"),
                                         actor=r.actor))
            for r in conn.execute(q)]

"""A region's cascade to its schools in chunks, each its own short write transaction.

When a region finishes one of its own steps (1-3), every school of the region mirrors it. For a
big region that is thousands of transitions; in one transaction they would hold the single
writer lock for seconds while a coordinator's `advance` waits. So the region's own transition
commits together with its first CHUNK schools, and the rest follow CHUNK schools a transaction.

Every committed chunk is a consistent state: the region's step is done, each school has either
mirrored it or still has it open (the mirror is owed, nothing is wrong), the history is one
chain. Each chunk reads the region and its schools afresh, so a person acting between two
chunks (a reopen, a school's own step) is neither overwritten nor lost. A cascade that dies
between chunks is resumed by `rollout settle` (or by the region's next step, whose cascade
settles every school of the region): settling is idempotent, a school already caught up has
nothing left to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from states import SLUGS
from storage import Database
from storage.errors import DatabaseBusy
from storage.models import machines, regions
from workflow.engine import Change
from workflow.errors import UnknownCode

# Schools a transaction: each school mirrors the step and what it opens (~2.5 transitions), so
# ~0.3 s of writer lock on a loaded box. ROLLOUT_CASCADE_CHUNK tunes it (tests make it small
# to have many chunks in a small region).
CHUNK = max(1, int(os.environ.get("ROLLOUT_CASCADE_CHUNK", "100")))


def school_codes(conn: Connection, region: str) -> list[str]:
    """The region's school codes, in machine id order (the order writers lock in)."""
    return list(conn.execute(select(machines.c.code).where(
        machines.c.kind == "school", machines.c.region_code == region)
        .order_by(machines.c.id)).scalars())


def chunks(codes: Sequence[str], size: int | None = None) -> Iterator[list[str]]:
    size = size or CHUNK
    for start in range(0, len(codes), size):
        yield list(codes[start:start + size])


def settle_chunk(ch: Change, region: str, codes: list[str], cause: str) -> None:
    """Let these schools of the region catch up; count the region's open aggregate steps."""
    ch.mark_moved(region, SLUGS)  # a resumed cascade does not know what the dead one moved
    ch.settle_schools(region, codes, cause)
    ch.flush()


def finish(change: Callable[[Connection, datetime], Change], db: Database,
           region: str, rest: list[list[str]], cause: str, now: datetime
           ) -> tuple[int, str, int]:
    """The chunks left after the first one, one write transaction each: the transitions, the
    region's state after the last, and how many schools were not reached (the database stayed
    busy past its timeout: they wait for `rollout settle`). A write waiting meanwhile goes
    between two chunks."""
    n, state = 0, ""
    for i, codes in enumerate(rest):
        db.pause()
        try:
            with db.write() as conn:
                ch = change(conn, now)
                settle_chunk(ch, region, codes, cause)
                n += ch.transitions
                row = ch.machine("region", region)
                state = row.state if row else state
        except DatabaseBusy:  # the region's step is in; what is left is owed, not lost
            return n, state, sum(len(c) for c in rest[i:])
    return n, state, 0


def catch_up(services: Any, now: datetime, region: str | None = None) -> dict[str, int]:
    """Settle every school of one region (or of every region), a chunk a transaction: what a
    cascade killed half-way owed. Returns the transitions per region that moved."""
    with services.db.read() as conn:
        known = list(conn.execute(select(regions.c.code).order_by(regions.c.code)).scalars())
        if region is not None and region not in known:
            raise UnknownCode("region", region)
        codes = [region] if region is not None else known
        per_region = {rc: school_codes(conn, rc) for rc in codes}
    done: dict[str, int] = {}
    for rc, schools in per_region.items():
        n, _, left = finish(services.change, services.db, rc, list(chunks(schools)),
                            f"settle region {rc}", now)
        if left:
            raise services.db.busy()
        if n:
            done[rc] = n
    return done


__all__ = ["CHUNK", "catch_up", "chunks", "finish", "school_codes", "settle_chunk"]

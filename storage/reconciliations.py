"""Step 2's registry reconciliations: each check of a region's list, its discrepancies and their
status (open or accepted), and the region's last one as the guard reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from states.registry import ACTIONS, RegistryCheck
from storage.models import metadata, optional, required
from storage.types import UtcDateTime

OPEN, ACCEPTED = "open", "accepted"

# One row per reconciliation. `discrepancies` is a list of items, each with `id` (its number in
# the list), `kind` (add, remove, relink, changed, unmatched), `status` (open or accepted) and the
# school's data; `counts` has the figures per kind, as found.
reconciliations = Table(
    "reconciliations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("region_code", String(16), ForeignKey("regions.code"), index=True),
    required("at", UtcDateTime),
    required("actor", String(254)),
    required("file", String(300)),
    required("sha256", String(64)),
    required("counts", JSON),
    required("discrepancies", JSON),
    optional("accepted_at", UtcDateTime),
    optional("accepted_by", String(254)),
    optional("accept_reason", Text),
    optional("entered_at", UtcDateTime),  # support confirmed the request was entered
    optional("entered_by", String(254)),
)


def record(conn: Connection, *, region: str, at: datetime, actor: str, file: str, sha256: str,
           counts: dict[str, int], discrepancies: list[dict[str, Any]]) -> int:
    """Store a reconciliation; every discrepancy starts open. Returns its id."""
    items = [{**d, "id": i + 1, "status": OPEN} for i, d in enumerate(discrepancies)]
    result = conn.execute(insert(reconciliations).values(
        region_code=region, at=at, actor=actor, file=file[:300], sha256=sha256,
        counts=counts, discrepancies=items))
    pk = result.inserted_primary_key
    assert pk is not None  # an autoincrement key is always returned by insert()
    return int(pk[0])


def last(conn: Connection, region: str) -> dict[str, Any] | None:
    """The region's latest reconciliation (the one the guard reads), or None."""
    q = (select(reconciliations).where(reconciliations.c.region_code == region)
         .order_by(reconciliations.c.id.desc()).limit(1))
    r = conn.execute(q).first()
    return dict(r._mapping) if r else None


def open_items(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in row["discrepancies"] if d.get("status") == OPEN]


def check(conn: Connection, region: str) -> RegistryCheck | None:
    """What step 2's guard needs: the last reconciliation's open discrepancies per kind."""
    row = last(conn, region)
    if row is None:
        return None
    counts = {k: 0 for k in ACTIONS}
    for d in open_items(row):
        counts[d["kind"]] = counts.get(d["kind"], 0) + 1
    return RegistryCheck(row["id"], row["at"].isoformat(),
                         {k: n for k, n in counts.items() if n})


def accept(conn: Connection, number: int, *, at: datetime, actor: str, reason: str) -> int:
    """Mark the open discrepancies of reconciliation `number` accepted; how many were open."""
    row = conn.execute(select(reconciliations).where(reconciliations.c.id == number)).one()
    items = [dict(d) for d in row.discrepancies]
    n = 0
    for d in items:
        if d.get("status") == OPEN:
            d.update(status=ACCEPTED, accepted_at=at.isoformat(), accepted_by=actor)
            n += 1
    conn.execute(update(reconciliations).where(reconciliations.c.id == number).values(
        discrepancies=items, accepted_at=at, accepted_by=actor, accept_reason=reason))
    return n


def mark_entered(conn: Connection, number: int, *, at: datetime, actor: str) -> None:
    """Support confirms that the registry request of reconciliation `number` was entered."""
    conn.execute(update(reconciliations).where(reconciliations.c.id == number).values(
        entered_at=at, entered_by=actor))

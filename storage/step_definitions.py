"""The step definitions on record (states.graph): the one in force, its version, a new one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import NoResultFound

from storage import history
from storage.models import chain_head, step_definitions
from storage.prepared import Prepared


@dataclass(frozen=True)
class StoredDefinition:
    """A step definition as stored: its version, fingerprint and body (states.graph)."""

    version: int
    fingerprint: str
    body: dict[str, Any]
    adopted_at: datetime
    note: str | None


_DEFINITION = select(step_definitions).order_by(step_definitions.c.version.desc()).limit(1)


def definition_in_force(conn: Connection) -> StoredDefinition | None:
    r = conn.execute(_DEFINITION).first()
    return StoredDefinition(r.version, r.fingerprint, dict(r.body), r.adopted_at,
                            r.note) if r else None


# One statement at the start of a write: the version in force and the chain's head (locked, so
# that appending needs no second read; `history.remember_head`).
_VERSION_AND_HEAD = Prepared(select(
    chain_head.c.seq, chain_head.c.hash,
    select(func.max(step_definitions.c.version)).scalar_subquery().label("version"),
).where(chain_head.c.id == 1).with_for_update(of=chain_head))


def definition_version(conn: Connection) -> int | None:
    """The version of the definition in force (None on a new database); in a write
    transaction it also locks and remembers the chain's head for `history.append`."""
    rows = _VERSION_AND_HEAD.rows(conn)
    if len(rows) != 1:  # what `.one()` raised: no chain head (a tampered database)
        raise NoResultFound("No row was found when one was required")
    seq, hash_, version = rows[0]
    history.remember_head(conn, seq, hash_)
    return version


def adopt_definition(conn: Connection, fingerprint: str, body: dict[str, Any], now: datetime,
                     note: str | None = None) -> int:
    """Record a new definition in force; its version."""
    current = definition_in_force(conn)
    version = 1 if current is None else current.version + 1
    conn.execute(insert(step_definitions).values(version=version, fingerprint=fingerprint,
                                                 body=body, adopted_at=now, note=note))
    return version

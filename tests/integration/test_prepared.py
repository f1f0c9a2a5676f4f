"""Prepared statements (storage/prepared.py) store and read what `Connection.execute` does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Text, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from storage import Database
from storage.models import machines
from storage.prepared import Prepared

AT = datetime(2026, 9, 1, 7, 0, 0, 123456, tzinfo=UTC)
STEPS = {"coordinator": {"status": "current", "since": "2026-09-01T07:00:00+00:00"},
         "registry": {"status": "pending", "since": None}, "note": "«ёж»"}


def _row(code: str) -> dict[str, object]:
    return {"kind": "school", "code": code, "region_code": "07", "state": "coordinator",
            "steps": STEPS, "statuses": "CP", "version": 1, "updated_at": AT,
            "state_since": AT}


# Prepared binds every parameter its statement names: an insert names its columns
INSERT = insert(machines).values({k: bindparam(k) for k in _row("")})


def test_prepared_writes_and_reads_as_core_does(db_url: str) -> None:
    """The same row through Prepared and through Core is stored alike; reads convert JSON and
    timestamps through the columns' types; a driver error is SQLAlchemy's, as from Core."""
    db = Database(db_url)
    db.migrate()
    stored = select(machines.c.steps, machines.c.updated_at, machines.c.state_since,
                    machines.c.version).where(machines.c.code == bindparam("code"))
    with db.write() as conn:
        conn.execute(insert(machines), [_row("A")])
        assert Prepared(INSERT).run(conn, [_row("B")]) == 1
        core = [tuple(r) for r in conn.execute(stored, {"code": "A"})]
        prepared = Prepared(stored).rows(conn, {"code": "B"})
        assert prepared == core == [(STEPS, AT, AT, 1)]
        raw = select(machines.c.steps.cast(Text)).where(
            machines.c.code == bindparam("code"))
        assert (conn.execute(raw, {"code": "A"}).scalar_one()
                == conn.execute(raw, {"code": "B"}).scalar_one())
    with pytest.raises(IntegrityError), db.write() as conn:
        Prepared(INSERT).run(conn, _row("A"))  # (kind, code) is unique
    db.dispose()

"""Prepared statements (storage/prepared.py) store and read what `Connection.execute` does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Text, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from storage import Database
from storage.bulk import insert_tuples, select_in
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


def test_an_expanding_list_reads_what_core_reads(db_url: str) -> None:
    """A Prepared select with an expanding IN list, and bulk.select_in (its keys in chunks,
    padded to a few lengths, other columns equal to given values), find the rows Core finds,
    the keys through their column's type."""
    db = Database(db_url)
    db.migrate()
    later = AT.replace(hour=8)
    with db.write() as conn:
        conn.execute(insert(machines), [_row(f"S{i:04}") for i in range(1000)]
                     + [{**_row("L"), "updated_at": later}])
        by_time = select(machines.c.code).where(
            machines.c.updated_at.in_(bindparam("keys", expanding=True)))
        for keys in ([later], [later, AT.replace(hour=9)], [AT, later]):
            assert (sorted(Prepared(by_time).rows(conn, {"keys": keys}))
                    == sorted(tuple(r) for r in conn.execute(by_time, {"keys": keys})))
        wanted = [f"S{i:04}" for i in range(0, 1000, 1)] + ["L", "absent"]
        core = conn.execute(select(machines.c.code, machines.c.steps, machines.c.updated_at)
                            .where(machines.c.code.in_(wanted)))
        found = select_in(conn, machines, ("code", "steps", "updated_at"), "code", wanted)
        assert sorted(found) == sorted(tuple(r) for r in core)
        assert list(select_in(conn, machines, ("code",), "code", ["L", "L", "L"])) == [("L",)]
        assert list(select_in(conn, machines, ("code",), "code", [])) == []
        assert list(select_in(conn, machines, ("code",), "code", ["L", "S0001"],
                              where={"kind": "region"})) == []
        assert sorted(select_in(conn, machines, ("code",), "code", ["L", "S0001"],
                                where={"kind": "school"})) == [("L",), ("S0001",)]
    db.dispose()


def test_rows_as_tuples_are_stored_as_core_stores_them(db_url: str) -> None:
    """bulk.insert_tuples (own values as tuples, shared ones converted once) stores what
    `Connection.execute(insert(...))` stores."""
    db = Database(db_url)
    db.migrate()
    shared = {k: v for k, v in _row("").items() if k not in ("code", "region_code")}
    stored = select(*(c for c in machines.c if c.name not in ("id", "code"))).order_by(
        machines.c.code)
    with db.write() as conn:
        conn.execute(insert(machines), [_row("A1"), {**_row("A2"), "region_code": "08"}])
        insert_tuples(conn, machines, ("code", "region_code"), [("B1", "07"), ("B2", "08")],
                      shared)
        rows = [tuple(r) for r in conn.execute(stored)]
        assert rows[:2] == rows[2:]
        assert rows[0][1:] == ("07", "coordinator", STEPS, "CP", 1, AT, AT)
    db.dispose()

"""Alembic: an empty database upgrades to head, and `init` run again changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select

from states.graph import SLUGS
from storage import Database
from storage.models import chain_head


def test_upgrade_from_empty_creates_every_table(db_url: str) -> None:
    """An empty database gets the whole schema and the chain's genesis head."""
    db = Database(db_url)
    assert db.revision() is None
    head = db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert {"regions", "municipalities", "schools", "people", "assignments", "metrics",
            "machines", "events", "chain_head", "alembic_version"} <= tables
    with db.read() as conn:
        assert conn.execute(select(chain_head.c.seq, chain_head.c.hash)).one() == (0, "0" * 64)
    assert db.migrate() == head  # a second run is a no-op
    db.check_ready()
    db.dispose()


def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    """The embedded database runs in WAL mode with foreign keys on."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_schema_head_constant_matches_the_migrations() -> None:
    """`check_ready` compares with SCHEMA_HEAD; it must name the newest migration script."""
    from alembic.script import ScriptDirectory

    from storage.db import SCHEMA_HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config(None)).get_current_head() == SCHEMA_HEAD


def test_tables_match_the_migrations(db_url: str) -> None:
    """The tables the code declares are exactly what the migrations build (nothing to generate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import storage.outbox
    import storage.tokens
    import storage.uploads  # noqa: F401  (its table joins the metadata)
    from storage.models import metadata

    assert storage.outbox.outbox.metadata is storage.tokens.access_tokens.metadata is metadata
    db = Database(db_url)
    db.migrate()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    db.dispose()
    assert diff == []


def test_state_since_is_backfilled_from_the_steps(db_url: str) -> None:
    """Upgrading a 0003 database fills machines.state_since from each current step's since."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import insert

    from storage.db import alembic_config
    from storage.models import machines, regions

    db = Database(db_url)
    with db.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
    since = datetime(2026, 9, 3, 7, 30, tzinfo=UTC)
    steps = {s: {"status": "pending", "since": None} for s in SLUGS}
    steps["coordinator"] = {"status": "done", "since": "2026-09-03T07:30:00+00:00"}
    steps["registry"] = {"status": "current", "since": "2026-09-03T07:30:00+00:00"}
    with db.engine.begin() as conn:
        conn.execute(insert(regions).values(code="07", name="КБР", timezone="Europe/Moscow"))
        conn.execute(insert(machines).values(  # only the columns 0003 has
            kind="region", code="07", region_code="07", state="registry", steps=steps,
            version=1, updated_at=since))
    db.migrate()
    with db.read() as conn:
        assert conn.execute(select(machines.c.state_since)).scalar_one() == since
    db.dispose()

"""The database: engines for SQLite and PostgreSQL, write/read transactions, migrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from storage.errors import DatabaseNotReady

# Every write transaction on PostgreSQL takes this advisory lock, so writers queue one after
# another exactly as they do on SQLite (BEGIN IMMEDIATE): the history is one chain.
WRITER_LOCK_KEY = 7_402_015_001
MIGRATIONS = Path(__file__).with_name("migrations")
# Where a transaction finds the real clock: events record when they were really written beside
# the moment a command claims (`--at`); tests put a fixed clock on the Database.
WALL_CLOCK = "rollout.wall_clock"


def wall_clock() -> datetime:
    return datetime.now(UTC)
SCHEMA_HEAD = "h3_audit"  # the newest migration; tests/integration/test_migrations.py checks it


class Database:
    """One database, reached through write (exclusive) and read transactions."""

    def __init__(self, url: str, *, synchronous: str = "NORMAL", busy_timeout_s: float = 60.0,
                 clock: Callable[[], datetime] = wall_clock):
        self.url = make_url(url)
        self.clock = clock
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": busy_timeout_s, "check_same_thread": False}
            if self.url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_hooks(self.engine, synchronous, busy_timeout_s)
        elif self.dialect == "postgresql":
            _postgres_hooks(self.engine)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """An exclusive write transaction: committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            conn.info[WALL_CLOCK] = self.clock
            yield conn

    @contextmanager
    def shared_write(self) -> Iterator[Connection]:
        """A write transaction that does not queue behind other writers on PostgreSQL.

        For rows that are never part of the history (the outbox's delivery marks), where rows
        are claimed with FOR UPDATE SKIP LOCKED. On SQLite every write is exclusive anyway.
        """
        with self.engine.execution_options(rollout_mode="shared").begin() as conn:
            conn.info[WALL_CLOCK] = self.clock
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction; never blocks writers."""
        with self.engine.execution_options(rollout_mode="read").begin() as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction that sees one moment throughout, for reads that must agree.

        SQLite's read transaction is a snapshot already (WAL); PostgreSQL's default (read
        committed) would let `audit verify` see events committed after the chain was read.
        """
        opts: dict[str, Any] = {"rollout_mode": "read"}
        if self.dialect == "postgresql":
            opts["isolation_level"] = "REPEATABLE READ"
        with self.engine.execution_options(**opts).begin() as conn:
            yield conn

    def migrate(self) -> str:
        """Upgrade the schema to head (create it on an empty database); returns the revision."""
        from alembic import command

        with self.engine.begin() as conn:
            cfg = alembic_config(conn)
            command.upgrade(cfg, "head")
        return self.revision() or ""

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def check_ready(self) -> None:
        """Raise DatabaseNotReady unless the schema is at this version's head.

        Reads alembic's version table directly: loading alembic itself would cost every CLI
        call a quarter of a second. `SCHEMA_HEAD` is checked against the scripts by a test.
        """
        try:
            with self.engine.connect() as conn:
                current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except DBAPIError as exc:
            detail = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
            if "alembic_version" in detail:
                detail = "no schema yet"
            raise DatabaseNotReady(self.display_url, detail) from None
        if current is None:
            raise DatabaseNotReady(self.display_url, "no schema yet")
        if current != SCHEMA_HEAD:
            raise DatabaseNotReady(self.display_url,
                                   f"schema {current}, this version needs {SCHEMA_HEAD}")

    def tables(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(connection: Connection | None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _sqlite_hooks(engine: Engine, synchronous: str, busy_timeout_s: float) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for writes.

    pysqlite's own transaction handling is switched off (isolation_level=None) so that we
    emit BEGIN ourselves: a deferred transaction that reads and then writes can fail at once
    with "database is locked"; an immediate one waits for the lock instead.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("rollout_mode", "write")
        conn.exec_driver_sql("BEGIN" if mode == "read" else "BEGIN IMMEDIATE")


def _postgres_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("rollout_mode", "write") == "write":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")

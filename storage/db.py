"""The database: engines for SQLite and PostgreSQL, write/read transactions, migrations."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from storage.errors import DatabaseBusy, DatabaseNotReady
from storage.text import Phrase

# Every write transaction on PostgreSQL takes this advisory lock, so writers queue one after
# another exactly as they do on SQLite (BEGIN IMMEDIATE): the history is one chain.
WRITER_LOCK_KEY = 7_402_015_001
MIGRATIONS = Path(__file__).with_name("migrations")
# Where a transaction finds the real clock: events record when they were really written beside
# the moment a command claims (`--at`); tests put a fixed clock on the Database.
WALL_CLOCK = "rollout.wall_clock"
SCHEMA_HEAD = "0016"  # the newest migration; tests/integration/test_migrations.py checks it
NOTICE_AFTER_S = 1.0  # a writer that waits longer than this says what it waits for


def wall_clock() -> datetime:
    return datetime.now(UTC)


class Database:
    """One database, reached through write (exclusive) and read transactions."""

    def __init__(self, url: str, *, synchronous: str = "NORMAL", busy_timeout_s: float = 60.0,
                 clock: Callable[[], datetime] = wall_clock):
        self.url = make_url(url)
        self.synchronous = synchronous
        self.busy_timeout_s = busy_timeout_s
        # Called with a message when a write has waited NOTICE_AFTER_S for another writer,
        # once per waiting write (the CLI prints it to stderr, `run` logs it); None: quietly.
        self.on_wait: Callable[[Phrase], None] | None = None
        self.clock = clock
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": busy_timeout_s, "check_same_thread": False}
            if self.url.database in (None, "", ":memory:"):
                kwargs["poolclass"] = StaticPool
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_hooks(self, synchronous)
        elif self.dialect == "postgresql":
            _postgres_hooks(self)

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

    def _reader(self) -> Connection:
        """A connection whose transactions are plain reads (never the writer lock)."""
        return self.engine.execution_options(rollout_mode="read").connect()

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self._reader() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def check_ready(self) -> None:
        """Raise DatabaseNotReady unless the schema is at this version's head.

        Reads alembic's version table directly: loading alembic itself would cost every CLI
        call a quarter of a second. `SCHEMA_HEAD` is checked against the scripts by a test.
        A plain read: `status` or `audit verify` must answer while a long import writes.
        """
        try:
            with self._reader() as conn:
                current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except DBAPIError as exc:
            detail = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
            if "alembic_version" not in detail:  # not a missing schema: init would not help
                raise DatabaseNotReady(self.display_url, detail, init_helps=False) from None
            raise DatabaseNotReady(self.display_url, Phrase("no schema yet")) from None
        if current is None:
            raise DatabaseNotReady(self.display_url, Phrase("no schema yet"))
        if current != SCHEMA_HEAD:
            raise DatabaseNotReady(self.display_url, Phrase(
                "schema {current}, this version needs {head}", current=current, head=SCHEMA_HEAD))

    def tables(self) -> list[str]:
        with self._reader() as conn:
            return inspect(conn).get_table_names()

    def waiting(self) -> None:
        """A write has waited NOTICE_AFTER_S for another writer: say so (a long-running `run`
        says it each time)."""
        if self.on_wait is not None:
            seconds = format(self.busy_timeout_s, "g")
            self.on_wait(Phrase("waiting for another write to the database to finish… (at "
                                "most {seconds} s)", seconds=seconds))

    def pause(self) -> None:
        """Between two parts of a long job: let a write that waits take its turn. SQLite
        writers poll for the lock (POLL_S); PostgreSQL queues them on the advisory lock in
        order, so there a waiting write goes first anyway."""
        if self.dialect == "sqlite":
            time.sleep(5 * POLL_S)

    def busy(self) -> DatabaseBusy:
        return DatabaseBusy(self.display_url, self.busy_timeout_s)

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


def _sqlite_hooks(db: Database, synchronous: str) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for writes only.

    pysqlite's own transaction handling is switched off (isolation_level=None) so that we
    emit BEGIN ourselves: a deferred transaction that reads and then writes can fail at once
    with "database is locked"; an immediate one waits for the lock instead. Reads are a plain
    BEGIN: under WAL they never wait for a writer.

    A write waits for the lock by polling every POLL_S (see `_begin_immediate`), not with
    SQLite's busy handler: that one sleeps up to 100 ms between tries, so a waiting `advance`
    could miss every gap a long job leaves between its parts and wait for the whole job.
    """
    full_ms = int(db.busy_timeout_s * 1000)

    @event.listens_for(db.engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={full_ms}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        # From now on SQLite's own wait is a few ms: BEGIN IMMEDIATE polls (below); a WAL
        # read or a statement inside a write transaction has nothing to wait for.
        cur.execute(f"PRAGMA busy_timeout={min(full_ms, SQLITE_WAIT_MS)}")
        cur.close()

    @event.listens_for(db.engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("rollout_mode", "write") == "read":
            conn.exec_driver_sql("BEGIN")
            return
        _begin_immediate(conn.connection.dbapi_connection, db)


POLL_S = 0.002  # how often a waiting write tries again
SQLITE_WAIT_MS = 2  # SQLite's own busy wait inside each try


def _begin_immediate(raw: Any, db: Database) -> None:
    """BEGIN IMMEDIATE, tried every POLL_S: quietly for NOTICE_AFTER_S, then saying what we
    wait for, until the busy timeout (DatabaseBusy)."""
    start = time.monotonic()
    told = False
    while True:
        try:
            raw.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" not in text and "busy" not in text:
                raise
        waited = time.monotonic() - start
        if waited >= db.busy_timeout_s:
            raise db.busy() from None
        if not told and waited >= NOTICE_AFTER_S:
            db.waiting()
            told = True
        time.sleep(POLL_S)


def _postgres_hooks(db: Database) -> None:
    """Writers queue on one advisory lock (the history is one chain); reads take none."""
    timeout_ms = int(db.busy_timeout_s * 1000)

    @event.listens_for(db.engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("rollout_mode", "write") != "write":
            return
        got = conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({WRITER_LOCK_KEY})")
        if got.scalar():
            return
        db.waiting()
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {timeout_ms}")
        try:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                raise db.busy() from None
            raise
        conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")

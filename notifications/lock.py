"""The scheduler lock: one `rollout run` schedules, any other waits as a standby."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from storage import Database

SCHEDULER_LOCK_KEY = 7_402_015_002  # beside storage.db.WRITER_LOCK_KEY


class SchedulerLock:
    """A PostgreSQL session advisory lock, or an flock'ed file beside a SQLite database.

    Either is released by the operating system or the server when the holder dies, so a
    standby takes over after a crash without anyone cleaning up. A PostgreSQL lock also goes
    when the server drops the session (a restart, `pg_terminate_backend`): `held` notices.
    """

    def __init__(self, db: Database, lock_dir: Path | None = None) -> None:
        self.db = db
        self._conn: Any = None
        self._fd: int | None = None
        if db.dialect == "sqlite":
            base = Path(db.url.database) if db.url.database not in (None, "", ":memory:") \
                else (lock_dir or Path.cwd()) / "rollout"
            self.path: Path | None = base.with_name(base.name + ".run.lock")
        else:
            self.path = None

    def try_acquire(self) -> bool:
        if self.path is not None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return True
        # A session lock of its own: no need to queue behind the writers for it
        conn = self.db.engine.execution_options(rollout_mode="read").connect()
        got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({SCHEDULER_LOCK_KEY})").scalar()
        conn.commit()
        if got:
            self._conn = conn  # the lock lives as long as this session
            return True
        conn.close()
        return False

    def wait(self, stop: threading.Event, poll_s: float = 2.0,
             on_error: Callable[[DBAPIError], None] | None = None) -> bool:
        """Block until the lock is ours (True) or `stop` is set (False); a database that cannot
        be reached meanwhile is waited out too (`on_error` hears of each failed attempt)."""
        while not stop.is_set():
            try:
                if self.try_acquire():
                    return True
            except DBAPIError as exc:
                if on_error is not None:
                    on_error(exc)
            stop.wait(poll_s)
        return False

    def held(self) -> bool:
        """Is the lock still ours? False (and forgotten) if its session has gone."""
        if self._conn is None:
            return self._fd is not None
        try:
            self._conn.exec_driver_sql("SELECT 1")
            self._conn.commit()
            return True
        except DBAPIError:
            self._forget()
            return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:
                self._conn.exec_driver_sql(f"SELECT pg_advisory_unlock({SCHEDULER_LOCK_KEY})")
                self._conn.commit()
            except DBAPIError:
                pass  # the session is gone, and the lock went with it
            finally:
                self._forget()

    def _forget(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.invalidate()  # never handed out again: its session is dead or unwanted
            conn.close()

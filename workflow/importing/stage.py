"""The rows of a file being imported, parked in a temporary SQLite file between reading and writing.

A valid 500k-row file held as Python dicts took 1.7 GB; parked on disk and read back in chunks
it stays flat. The checks that look across rows (duplicates, a branch's main school in the same
file) are SQL over this table; the rest look at one chunk at a time.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# Rows read back at a time; no more than an import's part (ROLLOUT_IMPORT_PART, parts.py).
CHUNK = max(1, min(5000, int(os.environ.get("ROLLOUT_IMPORT_PART", "500"))))
Record = tuple[int, dict[str, Any]]  # (row number, values by column name)


PREFIX = "rollout-import-"  # + the pid of the importing process + a random part


def sweep_orphans(root: str | None = None) -> list[Path]:
    """Remove the stages left by imports whose process is gone (a kill -9 skips `close`);
    a stage of a live process, or of another user's, is left alone. Returns what was removed."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = path.name[len(PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not path.is_dir():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except PermissionError:
            continue  # alive, another user's
    return removed


class Stage:
    """A table `rows(n, <columns>)` in a private temporary database; `close` deletes it."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        sweep_orphans()
        self._dir = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
        self.db = sqlite3.connect(Path(self._dir) / "stage.db", isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-8000",
                       "temp_store=FILE"):
            self.db.execute(f"PRAGMA {pragma}")
        cols = ", ".join(f'"{c}"' for c in self.columns)
        self.db.execute(f"CREATE TABLE rows (n INTEGER PRIMARY KEY, {cols})")
        self.db.execute("BEGIN")
        self._insert = (f"INSERT INTO rows (n, {cols}) VALUES "
                        f"(?, {', '.join('?' for _ in self.columns)})")
        self._pending: list[tuple[Any, ...]] = []
        self.count = 0

    def add(self, row: int, rec: dict[str, Any]) -> None:
        self._pending.append((row, *map(rec.get, self.columns)))
        self.count += 1
        if len(self._pending) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        self.db.executemany(self._insert, self._pending)
        self._pending = []

    def done(self) -> None:
        """Every row added: commit and index the columns the checks look up."""
        self._flush()
        self.db.execute("COMMIT")

    def index(self, *columns: str) -> None:
        name = "ix_" + "_".join(columns)
        self.db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON rows "
                        f"({', '.join(chr(34) + c + chr(34) for c in columns)})")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.db.execute(sql, params).fetchall()

    def duplicates(self, *columns: str) -> Iterator[tuple[int, tuple[Any, ...], int]]:
        """(row, key, first row with that key) for each row whose key came earlier; rows with
        an empty key part are not compared."""
        self.index(*columns)
        cols = ", ".join(f'"{c}"' for c in columns)
        on = " AND ".join(f'r."{c}" = f."{c}"' for c in columns)
        not_null = " AND ".join(f'"{c}" IS NOT NULL' for c in columns)
        sql = (f"SELECT r.n, {', '.join(f'r.{chr(34)}{c}{chr(34)}' for c in columns)}, f.first "
               f"FROM rows r JOIN (SELECT {cols}, MIN(n) AS first FROM rows WHERE {not_null} "
               f"GROUP BY {cols} HAVING COUNT(*) > 1) f ON {on} WHERE r.n > f.first "
               "ORDER BY r.n")
        for row in self.db.execute(sql):
            yield row[0], tuple(row[1:-1]), row[-1]

    def chunks(self, order: str = "n", where: str = "1", size: int | None = None
               ) -> Iterator[list[Record]]:
        """The rows as (row, record), `size` at a time, in `order` (SQL ORDER BY), filtered by
        `where` (SQL)."""
        cols = ", ".join(f'"{c}"' for c in self.columns)
        cursor = self.db.execute(f"SELECT n, {cols} FROM rows WHERE {where} ORDER BY {order}")
        names = self.columns
        while batch := cursor.fetchmany(size or CHUNK):
            yield [(r[0], dict(zip(names, r[1:], strict=True))) for r in batch]

    def tuples(self, select: Sequence[str], order: str = "n", where: str = "1",
               size: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """The rows as tuples of the SQL expressions `select` (over the staged columns), `size`
        at a time, as `chunks` would give them: no record is built."""
        cursor = self.db.execute(f"SELECT {', '.join(select)} FROM rows WHERE {where} "
                                 f"ORDER BY {order}")
        while batch := cursor.fetchmany(size or CHUNK):
            yield batch

    def values(self, column: str, where: str = "1") -> Iterator[Any]:
        """The distinct values of a column (streamed)."""
        for (v,) in self.db.execute(f'SELECT DISTINCT "{column}" FROM rows WHERE {where}'):
            yield v

    def lookup(self, key: str, values: Sequence[Any], columns: Sequence[str]
               ) -> dict[Any, dict[str, Any]]:
        """The file's rows whose `key` is one of `values` (the first row of each key)."""
        self.index(key)
        out: dict[Any, dict[str, Any]] = {}
        cols = ", ".join(f'"{c}"' for c in columns)
        for start in range(0, len(values), 900):
            part = list(values[start:start + 900])
            sql = (f'SELECT "{key}", {cols} FROM rows WHERE "{key}" IN '
                   f"({', '.join('?' for _ in part)}) ORDER BY n DESC")
            for row in self.db.execute(sql, part):
                out[row[0]] = dict(zip(columns, row[1:], strict=True))
        return out

    def close(self) -> None:
        self.db.close()
        shutil.rmtree(self._dir, ignore_errors=True)


__all__ = ["CHUNK", "PREFIX", "Record", "Stage", "sweep_orphans"]

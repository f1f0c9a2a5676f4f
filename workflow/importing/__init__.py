"""Imports of the coordinators' files: regions, municipalities, schools, people, metrics."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from workflow.errors import InvalidInput
from workflow.importing.apply import APPLIERS, OPERATOR, Record
from workflow.importing.columns import CellError, resolve_header
from workflow.importing.reader import Table, read_table

KINDS = tuple(APPLIERS)
T = TypeVar("T")


@dataclass(frozen=True)
class ImportResult:
    kind: str
    file: str
    rows: int
    created: int
    updated: int
    unchanged: int
    transitions: int
    dry_run: bool

    def summary(self) -> str:
        head = f"{self.file}: {self.rows} {self.kind} row(s): {self.created} created, " \
               f"{self.updated} updated, {self.unchanged} unchanged"
        if self.transitions:
            head += f"; {self.transitions} step(s) completed as a result"
        return head + ("  (dry run: nothing was written)" if self.dry_run else "")


class _DryRun(Exception):
    def __init__(self, result: ImportResult) -> None:
        self.result = result


def import_file(services: Any, kind: str, path: str | Path, *, now: datetime,
                dry_run: bool = False, progress: bool = False) -> ImportResult:
    """Check every row of the file, then write it in one transaction (or nothing)."""
    if kind not in APPLIERS:
        raise InvalidInput(f"unknown import kind {kind!r}; kinds are {', '.join(KINDS)}")
    path = Path(path)
    table = read_table(path)
    records, present, cell_problems = read_rows(kind, table, progress)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        with services.db.write() as conn:
            ch = services.change(conn, now)
            applier = APPLIERS[kind](ch, present, table.name)
            applier.check(records)  # the rows whose every cell was read
            # Every bad row in one report: a bad cell must not hide a bad reference elsewhere.
            problems = sorted(cell_problems + sorted(applier.problems), key=lambda p: p[0])
            if problems:
                raise InvalidInput([f"{table.name}:{row}: {col}: {text}"
                                    for row, col, text in problems])
            applier.apply(records)
            result = ImportResult(kind, table.name, len(records), applier.created,
                                  applier.updated, applier.unchanged, ch.transitions, dry_run)
            if applier.created or applier.updated or getattr(applier, "assigned", 0):
                ch.record(event="Imported", actor=OPERATOR, reason=result.summary(),
                          trigger=f"import {kind} {table.name}",
                          data={"kind": kind, "file": table.name, "sha256": digest,
                                "rows": len(records), "created": applier.created,
                                "updated": applier.updated, "unchanged": applier.unchanged,
                                **getattr(applier, "history_data", {})})
            ch.flush()
            if dry_run:
                raise _DryRun(result)  # leaves the transaction, which rolls it back
    except _DryRun as done:
        return done.result
    return result


def parse_rows(kind: str, table: Table, progress: bool = False
               ) -> tuple[list[Record], set[str]]:
    """Read every cell of every row; InvalidInput lists every bad cell as FILE:ROW: column."""
    records, present, problems = read_rows(kind, table, progress)
    if problems:
        raise InvalidInput([f"{table.name}:{row}: {col}: {text}" for row, col, text in problems])
    return records, present


def read_rows(kind: str, table: Table, progress: bool = False
              ) -> tuple[list[Record], set[str], list[tuple[int, str, str]]]:
    """The rows whose every cell reads, the columns present, and (row, column, problem) of the
    bad cells; InvalidInput for a bad header or a file without rows."""
    columns, header_problems = resolve_header(kind, table.header)
    if header_problems:
        raise InvalidInput([f"{table.name}:1: {p}" for p in header_problems])
    if not table.rows:
        raise InvalidInput(f"{table.name}: no rows below the header; nothing to import")
    problems: list[tuple[int, str, str]] = []
    records = []
    for number, cells in _progress(table.rows, len(table.rows), f"reading {table.name}",
                                   progress):
        rec: dict[str, Any] = {}
        bad = len(problems)
        for i, col in columns.items():
            raw = cells[i]
            if not raw.strip():
                if col.required:
                    problems.append((number, col.name, "required, but empty"))
                rec[col.name] = None
                continue
            try:
                rec[col.name] = col.parse(raw)
            except CellError as exc:
                problems.append((number, col.name, str(exc)))
        if len(problems) == bad:
            records.append((number, rec))
    return records, {c.name for c in columns.values()}, problems


def _progress(items: Iterable[T], total: int, label: str, enabled: bool) -> Iterator[T]:
    """A progress bar on stderr for large files when a terminal is attached."""
    if not enabled or total < 2000:
        yield from items
        return
    from rich.progress import track

    yield from track(items, total=total, description=label, transient=True)


__all__ = ["KINDS", "ImportResult", "import_file", "parse_rows"]

"""Imports of the coordinators' files: regions, municipalities, schools, people, metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection

from workflow.engine import Change
from workflow.errors import InvalidInput, UsageError
from workflow.i18n import _, ngettext
from workflow.importing.apply import OPERATOR, Applier
from workflow.importing.columns import (
    COLUMNS,
    CellError,
    Column,
    Number,
    header_score,
    q,
    resolve,
)
from workflow.importing.parts import Parts
from workflow.importing.permissions import check_rows
from workflow.importing.reader import Table, column_letter, read_table, sha256
from workflow.importing.registry import APPLIERS
from workflow.importing.stage import Record, Stage
from workflow.importing.validation import MAX_CELL_CHARS, ErrorLog
from workflow.importing.widths import restore_codes

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
    notices: tuple[str, ...] = field(default=())
    assigned: int = 0  # people: roles given
    removed: tuple[str, ...] = field(default=())  # people: "role scope email" taken away

    def record_text(self) -> str:
        """The summary as the history keeps it: one language, whoever ran the import."""
        head = f"{self.file}: {self.rows} {self.kind} row(s): {self.created} created, " \
               f"{self.updated} updated, {self.unchanged} unchanged"
        if self.removed:
            head += f"; {len(self.removed)} role(s) removed"
        if self.transitions:
            head += f"; {self.transitions} step(s) completed as a result"
        return head + ("  (dry run: nothing was written)" if self.dry_run else "")

    def summary(self) -> str:
        """The summary as the person who ran the import reads it."""
        head = _("{file}: {n} {kind} row(s): ", n=self.rows, file=self.file, kind=self.kind) + \
            _("{created} created, {updated} updated, {unchanged} unchanged",
              created=self.created, updated=self.updated, unchanged=self.unchanged)
        if self.removed:
            head += _("; {n} role(s) removed", n=len(self.removed))
        if self.transitions:
            head += _("; {n} step(s) completed as a result", n=self.transitions)
        return head + (_("  (dry run: nothing was written)") if self.dry_run else "")


class _DryRun(Exception):
    """What a dry run's transaction is left with: rolled back."""

    def __init__(self, result: ImportResult | None) -> None:
        self.result = result


def import_file(services: Any, kind: str, path: str | Path, *, now: datetime,
                dry_run: bool = False, progress: bool = False, actor: str = OPERATOR,
                channel: str = "cli", remove_missing: bool = False,
                claim: Callable[[Connection], None] | None = None) -> ImportResult:
    """Check every row of the file, then write it (or nothing if any row is bad).

    The rows stream from the file into a Stage on disk and are checked against the registry in
    a read transaction: the writer lock is not taken until the file is known to be good. A
    rejected file lists its first 100 problems by row and counts the rest. The writes go in
    parts (workflow.importing.parts): a file of up to PART_ROWS rows is one transaction.
    `actor` other than the operator is a person uploading on the web: each row is also checked
    against what that person may do (permissions.py). `remove_missing` (people): the roles on
    the file's (role, scope) pairs that the file no longer lists are removed. `claim(conn)` runs
    first inside the first write transaction (the web consumes its staged upload there, so that
    a second confirm is a conflict).
    """
    if kind not in APPLIERS:
        raise InvalidInput(_("unknown import kind {kind}; kinds are {kinds}", kind=repr(kind),
                             kinds=", ".join(KINDS)))
    if remove_missing and kind != "people":
        raise UsageError(_("--remove-missing applies to people only"))
    path = Path(path)
    table = read_table(path, lambda cells: header_score(kind, cells))
    errors = ErrorLog(table.name)
    header = resolve(kind, table.header)
    if header.problems:
        raise InvalidInput([f"{table.name}:{table.header_row}: {p}" for p in header.problems])
    notices = _notices(table, header.ignored)
    columns = sorted({c.name for c in header.columns.values()})
    # Every column of the kind is staged (None where the file has none), so checks need not ask
    stage = Stage([c.name for c in COLUMNS[kind]] + flags(header.columns.values()))
    try:
        with services.db.read() as conn:
            applier = APPLIERS[kind](Change(conn, now, services.policies), set(columns), errors,
                                     table.name, actor=actor, remove_missing=remove_missing)
            rows = stage_rows(table, header.columns, header.blank, errors, stage, applier,
                              progress)
            if not rows:
                raise InvalidInput(_("{file}: no rows under the header; nothing to import",
                                     file=table.name))
            restore_codes(conn, stage, header.columns.values(), errors)
            # Every bad row in one report: a bad cell must not hide a bad reference elsewhere.
            applier.check(stage)
            if actor != OPERATOR:
                applier.verdicts = check_rows(conn, kind, stage, actor, errors)
        errors.raise_if_any()
        return _write(services, applier, stage, kind, table.name, sha256(path), rows, now,
                      dry_run, notices, actor, channel, claim)
    finally:
        stage.close()


def _write(services: Any, applier: Applier, stage: Stage, kind: str, name: str, digest: str,
           rows: int, now: datetime, dry_run: bool, notices: tuple[str, ...], actor: str,
           channel: str, claim: Callable[[Connection], None] | None) -> ImportResult:
    """Write the checked stage in parts, each with its `Imported` event; a dry run writes it
    in one transaction and rolls it back."""
    def record(ch: Change, counts: dict[str, int], part: int) -> None:
        summary = ImportResult(kind, name, rows, counts["created"], counts["updated"],
                               counts["unchanged"], ch.transitions, False,
                               assigned=counts["assigned"],
                               removed=tuple(applier.removed[len(applier.removed)
                                                             - counts["removals"]:]))
        data = {"kind": kind, "file": name, "sha256": digest, "rows": rows, **{
            k: counts[k] for k in ("created", "updated", "unchanged")},
            "channel": channel, "removed": counts["removals"], **applier.history_part()}
        reason = summary.record_text()
        if part:
            data["part"] = part
            reason = f"{reason} (part {part})"
        ch.record(event="Imported", actor=actor, reason=reason,
                  trigger=f"import {kind} {name}", data=data)

    parts = Parts(services, now, record, chunked=not dry_run)
    if claim is not None:
        claim(parts.ch.conn)
    applier.rebind(parts.ch)
    applier.parts = parts
    try:
        applier.apply(stage)
        parts.close(applier, last=True)
    except BaseException as exc:
        parts.abort(exc)
        raise
    if dry_run:
        parts.abort(_DryRun(None))  # rolls the one transaction back
    return ImportResult(kind, name, rows, applier.created, applier.updated, applier.unchanged,
                        parts.transitions, dry_run, notices, applier.assigned,
                        tuple(applier.removed))


def flags(columns: Iterable[Column]) -> list[str]:
    """The stage's marks of code cells that were numbers (see widths.restore_codes)."""
    return sorted({f"#{c.name}" for c in columns if c.family in ("municipality", "school")})


def _notices(table: Table, ignored: list[str]) -> tuple[str, ...]:
    out = []
    if ignored:
        names = ", ".join(q(n).strip("'") for n in ignored[:20])
        if len(ignored) > 20:
            names += _(" and {n} more", n=len(ignored) - 20)
        out.append(_("{file}: columns not used, left out: {names}", file=table.name,
                     names=names))
    if table.header_row > 1:
        out.append(_("{file}: the header was found in row {row}; the rows above are left out",
                     file=table.name, row=table.header_row))
    return tuple(out)


def stage_rows(table: Table, columns: dict[int, Column], blank: list[int], errors: ErrorLog,
               stage: Stage, applier: Applier | None = None, progress: bool = False) -> int:
    """Read every cell of every row into the stage; bad cells go to `errors`. Returns the
    number of data rows."""
    width = len(table.header)
    numeric = set(flags(columns.values()))
    # Per column, once: (position, name, required, reader, the number mark or None)
    plan = [(i, col.name, col.required, col.reader,
             f"#{col.name}" if f"#{col.name}" in numeric else None)
            for i, col in columns.items()]
    n = 0
    label = _("reading {file}", file=table.name) if progress else ""
    for number, cells in _progress(table.rows, label, progress):
        n += 1
        bad = errors.count
        ncells = len(cells)
        if blank or ncells > width:
            for i in blank + list(range(width, ncells)):
                if i < ncells and cells[i].strip():
                    errors.add(number, _("column {letter}", letter=column_letter(i)),
                               _("data under an empty header; name the column or delete the "
                                 "data"))
        rec: dict[str, Any] = {}
        for i, name, required, read, mark in plan:
            raw = cells[i] if i < ncells else ""
            if len(raw) > MAX_CELL_CHARS:
                errors.add(number, name, ngettext(
                    "the cell is longer than {n} character ({length}): {value}",
                    "the cell is longer than {n} characters ({length}): {value}",
                    MAX_CELL_CHARS, length=len(raw), value=q(raw)))
                continue
            if not raw.strip():
                if required:
                    errors.add(number, name, _("a required cell is empty"))
                rec[name] = None
                continue
            try:
                rec[name] = read(raw)
            except CellError as exc:
                errors.add(number, name, str(exc))
                continue
            if mark is not None and isinstance(raw, Number):
                rec[mark] = 1  # typed as a number: leading zeros may be lost
        if errors.count == bad:
            stage.add(number, applier.prepare(rec) if applier else rec)
    stage.done()
    return n


def parse_rows(kind: str, table: Table, progress: bool = False) -> tuple[list[Record], set[str]]:
    """Read every cell of every row (no registry); InvalidInput lists the bad cells. For tests
    and tools that want the records of a small file in memory."""
    header = resolve(kind, table.header)
    if header.problems:
        raise InvalidInput([f"{table.name}:{table.header_row}: {p}" for p in header.problems])
    errors = ErrorLog(table.name)
    names = sorted({c.name for c in header.columns.values()})
    stage = Stage(names + flags(header.columns.values()))
    try:
        if not stage_rows(table, header.columns, header.blank, errors, stage, None, progress):
            raise InvalidInput(_("{file}: no rows under the header; nothing to import",
                                 file=table.name))
        errors.raise_if_any()
        records = [(n, {k: v for k, v in r.items() if not k.startswith("#")})
                   for chunk in stage.chunks() for n, r in chunk]
    finally:
        stage.close()
    return records, set(names)


def _progress(items: Iterable[T], label: str, enabled: bool) -> Iterator[T]:
    """A progress indicator on stderr for large files when a terminal is attached."""
    if not enabled:
        yield from items
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=None)
        for i, item in enumerate(items):
            if i % 5000 == 0:
                bar.update(task, completed=i)
            yield item


__all__ = ["KINDS", "ImportResult", "import_file", "parse_rows", "read_table"]

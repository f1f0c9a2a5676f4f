"""Checking an import against the registry and writing it: only what changed, all or nothing.

The rows wait in a Stage (a temporary SQLite file); checks across rows are SQL over it, checks
against the registry look up one chunk of keys at a time, and writes go a chunk at a time
inside the import's one transaction: memory does not grow with the file or the registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from states import Verdict
from storage import repo
from storage.bulk import insert_tuples, select_in
from storage.models import metrics, regions, schools
from workflow.engine import Change, new_machine_values
from workflow.i18n import N_, _
from workflow.importing.stage import Record, Stage
from workflow.importing.validation import ErrorLog

OPERATOR = "operator"  # the operator's commands are recorded under this actor
IN_CHUNK = 900  # keys per IN (...) query


class Applier(ABC):
    """Base: `check` adds problems to the error log; `apply` writes and counts."""

    table: Any
    key = "code"
    fields: tuple[str, ...] = ()

    def __init__(self, ch: Change, present: set[str], errors: ErrorLog, source: str = "", *,
                 actor: str = OPERATOR, remove_missing: bool = False) -> None:
        self.ch, self.conn, self.present, self.errors = ch, ch.conn, present, errors
        self.source = source  # the file's name, for the history's triggers
        self.actor, self.remove_missing = actor, remove_missing
        self.created = self.updated = self.unchanged = 0
        self.assigned = 0
        self.removed: list[str] = []  # people: "role scope email" of each role taken away
        # A person's upload: the verdict that allowed each (role, scope), for the history
        self.verdicts: dict[tuple[str, str], Verdict] = {}
        self.parts: Any = None  # workflow.importing.parts.Parts, when writing in parts

    def rebind(self, ch: Change) -> None:
        """Go on in another transaction (the next part of the import, or the write after the
        checks)."""
        self.ch, self.conn = ch, ch.conn

    def boundary(self, rows: int = 0) -> None:
        """The end of a chunk: where the import may commit a part (workflow.importing.parts)."""
        if self.parts is not None:
            self.parts.boundary(self, rows)

    @property
    def removals(self) -> int:
        """How many roles the import has taken away so far (people --remove-missing)."""
        return len(self.removed)

    def history_part(self) -> dict[str, Any]:
        """What the history keeps of the rows written since the last part (metrics: counts)."""
        return {}

    def problem(self, row: int, column: str, text: str) -> None:
        self.errors.add(row, column, text)

    def prepare(self, rec: dict[str, Any]) -> dict[str, Any]:
        """A parsed record as it is staged (a hook: people store an empty scope as '')."""
        return rec

    def unique(self, stage: Stage, column: str, what: str, *key: str) -> None:
        for row, k, first in stage.duplicates(*(key or (column,))):
            shown = " / ".join(map(str, k))
            self.problem(row, column, _("repeated: {what} {value} (already in row {first})",
                                        what=_(what), value=shown, first=first))

    def upsert(self, records: list[Record], values: Callable[[dict[str, Any]], dict[str, Any]]
               ) -> list[dict[str, Any]]:
        """Insert the chunk's new rows, update its changed ones (only the columns the file has).

        Returns the new rows."""
        rows = [values(rec) for _, rec in records]
        if not rows:
            return []
        names = tuple(rows[0])
        new = self.upsert_rows(names, [tuple(r.values()) for r in rows])
        return [dict(zip(names, r, strict=True)) for r in new]

    def upsert_rows(self, names: Sequence[str], rows: list[tuple[Any, ...]]
                    ) -> list[tuple[Any, ...]]:
        """`upsert` for rows that come as tuples of the `names` columns (no dict per row).

        Returns the new rows."""
        at = {n: i for i, n in enumerate(names)}
        k = at[self.key]
        present = self.present_columns()
        cols = [(c, at[c]) for c in self.fields if c in present and c != self.key]
        old = {r[0]: r[1:] for r in select_in(
            self.conn, self.table, (self.key, *(c for c, _ in cols)), self.key,
            sorted({r[k] for r in rows if r[k] is not None}), chunk=IN_CHUNK)}
        new_rows, changed = [], []
        for vals in rows:
            current = old.get(vals[k])
            if current is None:
                new_rows.append(vals)
                continue
            diff = {c: vals[i] for (c, i), was in zip(cols, current, strict=True)
                    if vals[i] != was}
            if diff:
                if "updated_at" in self.table.c:
                    diff["updated_at"] = self.ch.now
                changed.append((vals[k], diff))
            else:
                self.unchanged += 1
        if new_rows:
            insert_tuples(self.conn, self.table, names, new_rows)
        for key, diff in changed:  # few, usually; each names only its changed columns
            self.conn.execute(update(self.table).where(self.table.c[self.key] == key)
                              .values(**diff))
        self.created += len(new_rows)
        self.updated += len(changed)
        return new_rows

    @abstractmethod
    def check(self, stage: Stage) -> None:
        """Look at every staged record against the file and the registry."""

    @abstractmethod
    def apply(self, stage: Stage) -> None:
        """Write the staged records (checked already) and count what was created and updated."""

    def present_columns(self) -> set[str]:
        return self.present

    def settle(self, by_region: dict[str, list[str]], what: str) -> None:
        """Let the named schools catch up, region by region, flushing as it goes.

        A region still on one of its own steps (1-3) holds its schools on that step: there is
        nothing for them to complete, so it is passed over. Each region's machines are written
        and released before the next (one transaction still), so memory stays flat.
        """
        cause = f"import {what}: {self.source}" if self.source else f"import {what}"
        for region, codes in sorted(by_region.items()):
            machine = self.ch.machine("region", region)
            if machine is None or not self.ch.schools_can_move(machine):
                continue
            self.ch.settle_schools(region, codes, cause)
            self.ch.flush()
            self.ch.release(region)
            self.boundary()


def lookup(conn: Connection, table: Any, key: str, keys: Sequence[Any], cols: Sequence[str]
           ) -> dict[Any, dict[str, Any]]:
    """The registry's rows whose `key` is among `keys`, by key, with `cols` (key included)."""
    out: dict[Any, dict[str, Any]] = {}
    wanted = sorted({k for k in keys if k is not None})
    names = (key, *(c for c in cols if c != key))
    for r in select_in(conn, table, names, key, wanted, chunk=IN_CHUNK):
        out[r[0]] = dict(zip(names, r, strict=True))
    return out


def codes(conn: Connection, table: Any) -> set[str]:
    """Every code of a small table (regions)."""
    return set(conn.execute(select(table.c.code)).scalars())


def by_region(conn: Connection, school_codes: Sequence[str]) -> dict[str, list[str]]:
    """The given schools grouped by their region."""
    out: dict[str, list[str]] = defaultdict(list)
    for code, row in lookup(conn, schools, "code", school_codes, ("region_code",)).items():
        out[row["region_code"]].append(code)
    return out


class Regions(Applier):
    table = regions
    fields = ("code", "name", "timezone")

    def check(self, stage: Stage) -> None:
        self.unique(stage, "code", N_("region code"))

    def apply(self, stage: Stage) -> None:
        for chunk in stage.chunks():
            new = self.upsert(chunk, lambda r: {
                "code": r["code"], "name": r["name"],
                "timezone": r.get("timezone") or "Europe/Moscow"})
            repo.insert_new_machines(self.conn, "region", [(r["code"], r["code"]) for r in new],
                                     new_machine_values(self.ch.now, self.ch.policies))
            self.boundary(len(chunk))


class Metrics(Applier):
    table = metrics
    key = "school_code"
    fields = ("school_code", "teachers", "classes", "parents", "students")
    COUNTS = ("teachers", "classes", "parents", "students")  # as repo.METRIC_NAMES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.history_data: dict[str, dict[str, list[int]]] = {"metrics": {}}

    def check(self, stage: Stage) -> None:
        self.unique(stage, "school", N_("school"))
        for chunk in stage.chunks():
            known = lookup(self.conn, schools, "code", [r["school"] for _, r in chunk], ())
            for row, rec in chunk:
                if rec["school"] not in known:
                    self.problem(row, "school", _("unknown school {code}",
                                                  code=repr(rec["school"])))

    def apply(self, stage: Stage) -> None:
        for chunk in stage.chunks():
            old = lookup(self.conn, metrics, "school_code", [r["school"] for _, r in chunk],
                         self.fields)
            merged = []
            for n, r in chunk:
                base = old.get(r["school"], {})
                merged.append((n, {"school_code": r["school"], "updated_at": self.ch.now, **{
                    m: (r[m] if r.get(m) is not None else base.get(m, 0) or 0)
                    for m in self.COUNTS}}))
            self.upsert(merged, lambda r: r)
            # The new counts go into the history, so that `audit verify` can check the table.
            for _row, r in merged:
                counts = [r[m] for m in self.COUNTS]
                before = old.get(r["school_code"])
                if before is None or [before[m] for m in self.COUNTS] != counts:
                    self.history_data["metrics"][r["school_code"]] = counts
            # Every school in the file is looked at again, changed or not: a reopened step
            # whose evidence holds completes on the next metrics file.
            self.settle(by_region(self.conn, [r["school"] for _, r in chunk]), "metrics")
            self.boundary(len(chunk))

    def history_part(self) -> dict[str, Any]:
        part, self.history_data = self.history_data, {"metrics": {}}
        return part

    def present_columns(self) -> set[str]:
        return set(self.COUNTS)


__all__ = ["OPERATOR", "Applier", "Metrics", "Regions", "by_region", "codes", "lookup"]

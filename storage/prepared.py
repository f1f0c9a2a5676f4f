"""Hot-path statements: a Core statement compiled once per dialect, run on the driver's cursor.

One `advance` runs seven statements. Through `Connection.execute` each cost 30-110 µs of
SQLAlchemy's own work (execution context, parameter construction, events, result set-up)
against 4-20 µs in SQLite itself, so that SQLAlchemy, not the database, was most of an
`advance`. A `Prepared` statement is still written with `select()`/`update()` and compiled
by SQLAlchemy for the connection's dialect (SQLite or PostgreSQL, with its casts and
paramstyle); every value still goes through its column's type both ways, as in
`storage/bulk.py`. Only the per-call machinery is skipped: no statement events, no `Row`s
(plain tuples come back). Driver errors are raised as SQLAlchemy's, as `execute` would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import ClauseElement, SelectBase

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    names: tuple[str, ...]  # the bind names in the order the driver wants them
    procs: tuple[Processor, ...]  # one per name: its type's bind processor
    fixed: Mapping[str, Any]  # values bound in the statement itself (literals)
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, its type's processor)


class Prepared:
    """A statement built once; `rows` and `run` execute it in the connection's transaction.

    Every parameter the statement names must be given (`insert(table)` names every column,
    an autoincremented key too): a missing one is a KeyError, never a silent NULL.
    """

    def __init__(self, stmt: ClauseElement) -> None:
        self.stmt = stmt
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = self._compile(dialect)
        return plan

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled: Any = self.stmt.compile(dialect=dialect)
        binds = compiled.binds
        names = tuple(compiled.positiontup) if compiled.positional else tuple(binds)
        procs = tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
        fixed = {n: bp.effective_value for n, bp in binds.items() if not bp.required}
        results: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
        if isinstance(self.stmt, SelectBase):
            procs_out = (c.type.dialect_impl(dialect).result_processor(dialect, None)
                         for c in self.stmt.selected_columns)
            results = tuple((i, p) for i, p in enumerate(procs_out) if p is not None)
        return _Plan(str(compiled), compiled.positional, names, procs, fixed, results)

    def _params(self, plan: _Plan, params: Mapping[str, Any]) -> Any:
        values = []
        for name, proc in zip(plan.names, plan.procs, strict=True):
            value = params[name] if name in params else plan.fixed[name]
            values.append(proc(value) if proc else value)
        return tuple(values) if plan.positional else dict(zip(plan.names, values, strict=True))

    def _execute(self, conn: Connection, plan: _Plan, params: Any, many: bool) -> Any:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if many:
                cursor.executemany(plan.sql, params)
            else:
                cursor.execute(plan.sql, params)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(plan.sql, params, exc,
                                      conn.dialect.loaded_dbapi.Error) from exc
        return cursor

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None
             ) -> list[tuple[Any, ...]]:
        """Run a select; its rows as tuples, each value through its column's type."""
        plan = self._plan(conn.dialect)
        cursor = self._execute(conn, plan, self._params(plan, params or {}), False)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        if not plan.results:
            return [tuple(r) for r in fetched]
        out = []
        for r in fetched:
            values = list(r)
            for i, proc in plan.results:
                values[i] = proc(values[i])
            out.append(tuple(values))
        return out

    def run(self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
            ) -> int:
        """Run a write with one set of parameters or many; the number of rows it matched."""
        plan = self._plan(conn.dialect)
        many = not isinstance(params, Mapping)
        values: Any = (self._params(plan, params) if isinstance(params, Mapping)
                       else [self._params(plan, p) for p in params])
        cursor = self._execute(conn, plan, values, many)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


__all__ = ["Prepared"]

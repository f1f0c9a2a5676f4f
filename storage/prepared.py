"""Hot-path statements: a Core statement compiled once per dialect, run on the driver's cursor.

One `advance` runs seven statements. Through `Connection.execute` each cost 30-110 µs of
SQLAlchemy's own work (execution context, parameter construction, events, result set-up)
against 4-20 µs in SQLite itself, so that SQLAlchemy, not the database, was most of an
`advance`. A `Prepared` statement is still written with `select()`/`update()` and compiled
by SQLAlchemy for the connection's dialect (SQLite or PostgreSQL, with its casts and
paramstyle); every value still goes through its column's type both ways, as in
`storage/bulk.py`. Only the per-call machinery is skipped: no statement events, no `Row`s
(plain tuples come back). Driver errors are raised as SQLAlchemy's, as `execute` would.
An expanding parameter (`col.in_(bindparam("keys", expanding=True))`) takes a list; its SQL
is built once per dialect and length of the list.
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
    # expanding parameters: in the plain plan, their names; in a plan for given lengths, each
    # one's names in the expanded statement
    expanding: tuple[str, ...] = ()
    expanded: Mapping[str, tuple[str, ...]] | None = None


class Prepared:
    """A statement built once; `rows` and `run` execute it in the connection's transaction.

    Every parameter the statement names must be given (`insert(table)` names every column,
    an autoincremented key too): a missing one is a KeyError, never a silent NULL.
    """

    def __init__(self, stmt: ClauseElement) -> None:
        self.stmt = stmt
        self._plans: dict[tuple[str, tuple[tuple[str, int], ...]], _Plan] = {}

    def _plan(self, dialect: Dialect, sizes: tuple[tuple[str, int], ...] = ()) -> _Plan:
        plan = self._plans.get((dialect.name, sizes))
        if plan is None:
            plan = self._plans[(dialect.name, sizes)] = self._compile(dialect, sizes)
        return plan

    def _compile(self, dialect: Dialect, sizes: tuple[tuple[str, int], ...]) -> _Plan:
        compiled: Any = self.stmt.compile(dialect=dialect)
        binds = compiled.binds
        sql, names = str(compiled), tuple(compiled.positiontup) if compiled.positional \
            else tuple(binds)
        expanded: dict[str, tuple[str, ...]] | None = None
        of = {n: n for n in names}  # a bind's name in the statement -> its parameter
        if sizes:  # SQLAlchemy's own expansion, once for these lengths
            state = compiled.construct_expanded_state(
                {**{n: None for n, bp in binds.items() if bp.required},
                 **{n: [None] * k for n, k in sizes}})
            sql = state.statement
            names = tuple(state.positiontup) if compiled.positional else tuple(state.parameters)
            expanded = {n: tuple(e) for n, e in state.parameter_expansion.items()}
            of = {n: n for n in names} | {e: n for n, es in expanded.items() for e in es}
        procs = tuple(binds[of[n]].type.dialect_impl(dialect).bind_processor(dialect)
                      for n in names)
        fixed = {n: bp.effective_value for n, bp in binds.items() if not bp.required}
        results: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
        if isinstance(self.stmt, SelectBase):
            procs_out = (c.type.dialect_impl(dialect).result_processor(dialect, None)
                         for c in self.stmt.selected_columns)
            results = tuple((i, p) for i, p in enumerate(procs_out) if p is not None)
        expanding = tuple(n for n, bp in binds.items() if bp.expanding)
        return _Plan(sql, compiled.positional, names, procs, fixed, results, expanding, expanded)

    def _ready(self, dialect: Dialect, params: Mapping[str, Any]
               ) -> tuple[_Plan, Mapping[str, Any]]:
        """The plan for these parameters, and the parameters as it names them (an expanding
        parameter's list spread over its expanded names)."""
        plan = self._plan(dialect)
        if not plan.expanding:
            return plan, params
        plan = self._plan(dialect, tuple((n, len(params[n])) for n in plan.expanding))
        flat = dict(params)
        for name, spread in (plan.expanded or {}).items():
            flat.update(zip(spread, flat.pop(name), strict=True))
        return plan, flat

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
        plan, flat = self._ready(conn.dialect, params or {})
        cursor = self._execute(conn, plan, self._params(plan, flat), False)
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
        many = not isinstance(params, Mapping)
        values: Any
        if isinstance(params, Mapping):
            plan, flat = self._ready(conn.dialect, params)
            values = self._params(plan, flat)
        else:  # (an expanding parameter takes one list for all: not supported here)
            plan = self._plan(conn.dialect)
            values = [self._params(plan, p) for p in params]
        cursor = self._execute(conn, plan, values, many)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


__all__ = ["Prepared"]

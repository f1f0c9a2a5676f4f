"""Bulk INSERT and keyed SELECT through Core's compiled statements, without Core's per-row and
per-value parameter handling."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, insert, select
from sqlalchemy.engine import Dialect


@lru_cache(maxsize=128)
def _insert_plan(table: Table, names: tuple[str, ...], dialect: Dialect) -> tuple[Any, ...]:
    """The compiled INSERT of `names` and each column's bind processor, once per shape."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(names))
    bind_of = {bp.key: name for name, bp in compiled.binds.items()}
    column_of = {name: key for key, name in bind_of.items()}
    order = ([column_of[b] for b in compiled.positiontup or ()] if compiled.positional
             else list(names))
    procs = {n: table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names}
    return str(compiled), bool(compiled.positional), bind_of, order, procs


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                shared: Mapping[str, Any] | None = None, *, chunk: int = 20_000) -> None:
    """INSERT `rows` (same keys each) plus the `shared` values with one executemany per chunk.

    The statement is compiled by Core for the connection's dialect (once per table, columns
    and dialect) and every value goes through its column's type, as
    `conn.execute(insert(table), rows)` would do; but the shared values are converted once,
    and rows reach the driver as plain tuples: Core's own per-row parameter handling cost more
    than SQLite's insert itself (128k reminder keys: 1.3 s against 0.36 s).
    """
    if not rows:
        return
    shared = dict(shared or {})
    names = tuple([n for n in rows[0] if n not in shared] + list(shared))
    sql, positional, bind_of, order, procs = _insert_plan(table, names, conn.dialect)
    fixed = {n: procs[n](v) if procs[n] else v for n, v in shared.items()}
    template = [fixed.get(n) for n in order]
    plain = [(i, n) for i, n in enumerate(order) if n not in fixed and procs[n] is None]
    converted = [(i, n, procs[n]) for i, n in enumerate(order)
                 if n not in fixed and procs[n] is not None]
    # Nothing to convert per row and the shared values last (an import's registry rows, a
    # pass's reminder keys): one C call per row, plus the shared tail
    own = [n for n in order if n not in fixed]
    whole = itemgetter(*own) if positional and not converted and len(own) > 1 and \
        order[len(own):] == [n for n in order if n in fixed] else None
    tail = tuple(fixed[n] for n in order[len(own):]) if whole is not None else ()
    for start in range(0, len(rows), chunk):
        params: list[Any] = []
        if whole is not None:
            part = map(whole, rows[start:start + chunk])
            conn.exec_driver_sql(sql, [t + tail for t in part] if tail else list(part))
            continue
        for r in rows[start:start + chunk]:
            values = template.copy()
            for i, n in plain:
                values[i] = r[n]
            for i, n, p in converted:
                values[i] = p(r[n])
            params.append(tuple(values) if positional
                          else {bind_of[n]: v for n, v in zip(order, values, strict=True)})
        conn.exec_driver_sql(sql, params)


@lru_cache(maxsize=256)
def _keyed_select(table: Table, cols: tuple[str, ...], key: str) -> Select[Any]:
    """`SELECT cols FROM table WHERE key IN (:keys)`, the list expanded at execution."""
    return select(*(table.c[c] for c in cols)).where(
        table.c[key].in_(bindparam("keys", expanding=True)))


def select_in(conn: Connection, table: Table, cols: Sequence[str], key: str,
              keys: Sequence[Any], *, chunk: int = 900) -> Iterator[Sequence[Any]]:
    """The rows (`cols`, in order) of `table` whose `key` is one of `keys`, `chunk` keys per
    query.

    What `select(cols).where(table.c[key].in_(keys))` returns; but the statement is built
    once per table, columns and key, with one expanding parameter, instead of a new IN list
    whose every value Core coerces into a parameter on each call (500 keys: 1.8 ms a query
    before, 1.1 now).
    """
    stmt = _keyed_select(table, tuple(cols), key)
    wanted = list(keys)
    for start in range(0, len(wanted), chunk):
        yield from conn.execute(stmt, {"keys": wanted[start:start + chunk]})


__all__ = ["insert_rows", "select_in"]

"""Bulk INSERT and keyed SELECT through Core's compiled statements, without Core's per-row and
per-value parameter handling."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select
from sqlalchemy.engine import Dialect

from storage.prepared import Prepared


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


def insert_tuples(conn: Connection, table: Table, names: Sequence[str],
                  rows: Sequence[tuple[Any, ...]], shared: Mapping[str, Any] | None = None, *,
                  chunk: int = 20_000) -> None:
    """INSERT `rows`, tuples of the `names` columns in that order, plus the `shared` values.

    What `insert_rows` does for rows that come as tuples (a stage's rows, new machines'
    codes): no dict is built per row. Where one of `names` has a type that converts its
    values, the rows go through `insert_rows` instead.
    """
    if not rows:
        return
    shared = dict(shared or {})
    every = (*names, *shared)
    sql, positional, bind_of, order, procs = _insert_plan(table, every, conn.dialect)
    if any(procs[n] is not None for n in names):
        insert_rows(conn, table, [dict(zip(names, r, strict=True)) for r in rows], shared,
                    chunk=chunk)
        return
    fixed = tuple(procs[n](v) if procs[n] else v for n, v in shared.items())
    shape: Callable[[tuple[Any, ...]], Any] | None
    if not positional:
        binds = [bind_of[n] for n in every]
        shape = lambda r: dict(zip(binds, r + fixed, strict=True))  # noqa: E731
    elif list(order) == list(every):
        shape = (lambda r: r + fixed) if fixed else None  # noqa: E731
    else:
        pick = itemgetter(*(every.index(n) for n in order))
        shape = lambda r: pick(r + fixed)  # noqa: E731
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        conn.exec_driver_sql(sql, list(part) if shape is None else list(map(shape, part)))


# The IN lists of a keyed select come in these lengths (the keys padded with the last one, which
# changes no result): a few expansions of one statement per table, columns and key.
_SIZES = (1, 4, 16, 64, 256, 900)


@lru_cache(maxsize=256)
def _keyed_select(table: Table, cols: tuple[str, ...], key: str, equal: tuple[str, ...]
                  ) -> Prepared:
    """`SELECT cols FROM table WHERE key IN (:keys) AND <each of equal> = :eq_<name>`, the
    list expanded."""
    return Prepared(select(*(table.c[c] for c in cols)).where(
        table.c[key].in_(bindparam("keys", expanding=True)),
        *(table.c[c] == bindparam(f"eq_{c}") for c in equal)))


def select_in(conn: Connection, table: Table, cols: Sequence[str], key: str,
              keys: Sequence[Any], *, chunk: int = 900, where: Mapping[str, Any] | None = None
              ) -> Iterator[tuple[Any, ...]]:
    """The rows (`cols`, in order, as tuples) of `table` whose `key` is one of `keys` (and
    whose columns named in `where` hold those values), `chunk` keys per query (at most 900).

    What `select(cols).where(table.c[key].in_(keys))` returns, each value through its
    column's type; but the statement is built once per table, columns and key, expanded once
    per length (storage/prepared.py) and run on the driver's cursor: Core rendered and
    coerced every key of the IN list on each call (a schools import runs 500 of these).
    """
    where = dict(where or {})
    stmt = _keyed_select(table, tuple(cols), key, tuple(where))
    equal = {f"eq_{c}": v for c, v in where.items()}
    wanted = list(keys)
    step = min(chunk, _SIZES[-1])
    for start in range(0, len(wanted), step):
        part = wanted[start:start + step]
        size = next(s for s in _SIZES if s >= len(part))
        yield from stmt.rows(conn, {"keys": part + part[-1:] * (size - len(part)), **equal})


__all__ = ["insert_rows", "insert_tuples", "select_in"]

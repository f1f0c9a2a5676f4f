"""The national dataset on PostgreSQL, built once and kept for the web load benchmark
(bench_web_load.py): registry and people imported, steps 1-3 walked for every region, then the
metrics (evidence steps complete by themselves). ~12 minutes on the shared box.

It lives in a database of its own (created if missing): every write on PostgreSQL takes one
advisory lock per database, so a build or a benchmark in the tests' database would hold the
test suite up.

Run: python benchmarks/national_pg.py [--database rollout_bench] [--schema national]
     [--scale 1.0] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.national import load_dataset, walk_regions, write_dataset  # noqa: E402
from workflow.config import build  # noqa: E402
from workflow.services import Services  # noqa: E402

SERVER = os.environ.get("ROLLOUT_BENCH_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("ROLLOUT_BENCH_DB", "rollout_bench")
SCHEMA = os.environ.get("ROLLOUT_BENCH_SCHEMA", "national")
BUILT_AT = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


def db_url(database: str = DATABASE) -> str:
    return f"{SERVER}/{database}"


def schema_url(schema: str = SCHEMA, database: str = DATABASE) -> str:
    return f"{db_url(database)}?options=-csearch_path%3D{schema}"


def ensure_database(database: str) -> None:
    engine = create_engine(db_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                {"d": database}).first():
                conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        engine.dispose()


def services_for(schema: str, database: str = DATABASE) -> Services:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build({"database": {"url": schema_url(schema, database)}}, Path(tmp))
    return Services(cfg)


def is_built(schema: str, database: str = DATABASE) -> bool:
    ensure_database(database)
    engine = create_engine(db_url(database))
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND "
                "table_name = 'bench_built'"), {"s": schema}).first())
    finally:
        engine.dispose()


def build_dataset(schema: str, scale: float = 1.0, database: str = DATABASE) -> None:
    """Drop and rebuild `schema` with the national dataset; marks it built at the end."""
    ensure_database(database)
    admin = create_engine(db_url(database))
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    services = services_for(schema, database)
    services.db.migrate()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_dataset(tmp, seed=1, scale=scale)
        t0 = time.perf_counter()
        for kind, (result, secs) in load_dataset(services, paths, BUILT_AT).items():
            print(f"import {kind}: {result.rows} rows in {secs:.1f} s", flush=True)
        t1 = time.perf_counter()
        n = walk_regions(services, BUILT_AT)
        print(f"steps 1-3 of every region: {n} transitions in {time.perf_counter() - t1:.1f} s",
              flush=True)
        t2 = time.perf_counter()
        load_dataset(services, paths, BUILT_AT, kinds=("metrics",))
        print(f"metrics: {time.perf_counter() - t2:.1f} s; all {time.perf_counter() - t0:.1f} s",
              flush=True)
    services.db.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'CREATE TABLE "{schema}".bench_built (at TIMESTAMPTZ)'))
        conn.execute(text(f'INSERT INTO "{schema}".bench_built VALUES (now())'))
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", default=DATABASE)
    ap.add_argument("--schema", default=SCHEMA)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    if is_built(args.schema, args.database) and not args.rebuild:
        print(f"{args.database}.{args.schema} is built already (--rebuild to build it again)")
        return
    build_dataset(args.schema, args.scale, args.database)


if __name__ == "__main__":
    main()

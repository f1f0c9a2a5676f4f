"""The benchmarks' bare sqlite3 reference writes what the engine writes: the same statuses,
states and open steps for every machine, so the ratios in benchmarks/results.md compare like
with like."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from benchmarks import national
from benchmarks.bare_sqlite import NOW, Bare
from benchmarks.bench_engine import bare_import, read_rows
from states import default_graph
from tests.conftest import make_services
from workflow.importing import import_file

MACHINES = "SELECT kind, code, state, statuses FROM machines ORDER BY kind, code"
OPEN = "SELECT kind, code, step FROM open_steps ORDER BY kind, code, step"


def _rows(path: Path, sql: str) -> list[tuple[str, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_bare_reference_moves_every_machine_as_the_engine_does(tmp_path: Path) -> None:
    paths = national.write_dataset(tmp_path / "data", seed=1, scale=0.01)
    services = make_services(f"sqlite:///{tmp_path / 'ours.db'}", tmp_path)
    national.load_dataset(services, paths, NOW)
    walked = national.walk_regions(services, NOW)
    cascaded = import_file(services, "metrics", paths["metrics"], now=NOW).transitions
    services.db.dispose()

    bare = Bare(tmp_path / "bare.db", default_graph())
    rows = {k: read_rows(paths[k]) for k in national.KINDS}
    for kind in national.REGISTRY_KINDS:
        bare_import(bare, kind, rows[kind])
    codes = [r["code"] for r in rows["regions"]]
    bare_walked = sum(bare.region_step(rc, step, national.coordinator_email(rc)) for rc in codes
                      for step in ("coordinator", "registry", "municipalities"))
    bare_cascaded = bare.metrics(rows["metrics"], codes)

    assert (bare_walked, bare_cascaded) == (walked, cascaded)
    ours = _rows(tmp_path / "ours.db", MACHINES)
    assert len(ours) == len(rows["schools"]) + len(codes)
    assert _rows(tmp_path / "bare.db", MACHINES) == ours
    assert _rows(tmp_path / "bare.db", OPEN) == _rows(tmp_path / "ours.db", OPEN)
    # the cascade went somewhere: schools past the evidence steps, others still short
    assert {s for _, _, _, s in ours} >= {"DDDDDDDDC"}
    assert len({s for _, _, _, s in ours}) > 2

"""A database made by the first release (its demo, tests/data/release-0.1-demo.db.gz) upgrades
with `rollout init`: the schema migrates, the machines move from the strict line to the step
graph with their moves on record, the old history is untouched and the chain verifies.

The file was made by running `rollout demo` of release 0.1 (commit bff4ffc), then VACUUM.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from states import default_graph, settle_open
from tests.e2e.cli import run

DATA = Path(__file__).resolve().parents[1] / "data" / "release-0.1-demo.db.gz"


@pytest.fixture
def old_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with gzip.open(DATA) as src, (tmp_path / "rollout.db").open("wb") as dst:
        shutil.copyfileobj(src, dst)
    (tmp_path / "config.yaml").write_text("mail: {transport: file, dir: mail/}\n",
                                          encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLLOUT_CONFIG", raising=False)
    monkeypatch.delenv("ROLLOUT_DATABASE_URL", raising=False)
    return tmp_path


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_init_moves_a_first_release_database_to_the_graph(old_home: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    """Old events keep their hashes; every machine's statuses are what the graph says; the
    parents' and students' new thresholds complete what the counts already show."""
    db = old_home / "rollout.db"
    old_events = rows(db, "SELECT seq, hash FROM events ORDER BY seq")
    assert run(capsys, "status", "--school", "070202").code == 6  # schema 0005: run init
    r = run(capsys, "init")
    assert r.code == 0, r.err
    assert "moving them to the configured step graph" in r.out
    assert rows(db, f"SELECT seq, hash FROM events WHERE seq <= {len(old_events)} "
                    "ORDER BY seq") == old_events
    assert rows(db, "SELECT version, note FROM step_definitions ORDER BY version") == [
        (1, "release 0.1: the strict line"),
        (2, "rollout init: from the first release's strict line")]
    for code, steps in rows(db, "SELECT code, steps FROM machines"):
        statuses = {k: v["status"] for k, v in json.loads(steps).items()}
        assert settle_open(default_graph(), statuses) == statuses, code
    new = rows(db, f"SELECT event, trigger FROM events WHERE seq > {len(old_events)}")
    assert new and all(t == "steps migrate: definition 1 → 2" for _, t in new)
    assert run(capsys, "audit", "verify").code == 0
    again = run(capsys, "init")
    assert again.code == 0 and "is up to date" in again.out and "moving" not in again.out
    st = run(capsys, "status", "--school", "070202", "--json")
    assert st.code == 0 and '"state"' in st.out

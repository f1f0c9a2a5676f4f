"""A big import is written in parts (workflow/importing/parts.py): checked whole before any
write, then committed a part at a time with its own `Imported` event; killed between parts it
keeps whole parts only, and running it again writes the rest and nothing twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from storage import history
from storage.models import events, machines, schools
from tests.builders import World
from tests.e2e.cli import run, spawn
from tests.faultkit import MUNICIPALITY, REGION, check_sound, count, school_rows, write_config
from workflow.errors import InvalidInput
from workflow.importing import import_file, parts, stage

AT = "2026-09-01T10:00:00+03:00"

# These drive the SQLite file itself (another writer on it, a kill timed on its lock).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _imported(world: World) -> list[dict[str, object]]:
    with world.services.db.read() as conn:
        return [r.data for r in conn.execute(select(events.c.data).where(
            events.c.event == "Imported").order_by(events.c.seq))]


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts, "PART_ROWS", 5)
    monkeypatch.setattr(stage, "CHUNK", 5)


def test_a_big_file_goes_in_parts_each_on_record(world: World, small_parts: None) -> None:
    world.region(REGION, "Москва")
    world.municipality(MUNICIPALITY, REGION, "Район 1")
    before = len(_imported(world))
    commits: list[int] = []
    event.listen(world.services.db.engine, "commit", lambda conn: commits.append(1))
    result = import_file(world.services, "schools", world.write_csv(school_rows(12)),
                         now=world.now)
    assert (result.created, result.rows) == (12, 12)
    assert len(commits) == 1 + 3  # the checks (a read), then 5 + 5 + 2 rows
    records = _imported(world)[before:]
    assert [(r["part"], r["created"]) for r in records] == [(1, 5), (2, 5), (3, 2)]
    assert count(world.services, machines, machines.c.kind == "school") == 12
    with world.services.db.snapshot() as conn:
        history.verify(conn)


def test_a_bad_row_anywhere_writes_no_part(world: World, small_parts: None) -> None:
    world.region(REGION, "Москва")
    world.municipality(MUNICIPALITY, REGION, "Район 1")
    rows = school_rows(12)
    rows[11]["municipality"] = "9999"  # the last part's row names an unknown municipality
    with pytest.raises(InvalidInput, match="9999"):
        import_file(world.services, "schools", world.write_csv(rows), now=world.now)
    assert count(world.services, schools) == 0


def test_a_small_file_is_one_transaction_and_one_record(world: World) -> None:
    world.region(REGION, "Москва")
    world.municipality(MUNICIPALITY, REGION, "Район 1")
    before = len(_imported(world))
    import_file(world.services, "schools", world.write_csv(school_rows(12)), now=world.now)
    [record] = _imported(world)[before:]
    assert "part" not in record and record["created"] == 12


@SQLITE_ONLY
def test_an_import_killed_between_parts_keeps_whole_parts_and_finishes_when_run_again(
        world: World, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLOUT_DATABASE_URL", db_url)
    world.region(REGION, "Москва")
    world.municipality(MUNICIPALITY, REGION, "Район 1")
    n, part = 400, 20
    path = world.write_csv(school_rows(n))
    cfg = write_config(tmp_path)
    cli = lambda *a: run(capsys, "--config", str(cfg), *a)  # noqa: E731
    proc = spawn(["--config", str(cfg), "import", "schools", str(path), "--at", AT], tmp_path,
                 {"ROLLOUT_IMPORT_PART": str(part), "ROLLOUT_DATABASE_URL": db_url})
    probe = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30, isolation_level=None)
    try:
        while proc.poll() is None:  # a condition polled, not a timed wait
            written = probe.execute("SELECT count(*) FROM schools").fetchone()[0]
            if 0 < written < n - 2 * part:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.communicate(timeout=60)
    finally:
        probe.close()
    assert proc.returncode == -signal.SIGKILL, "the import finished before the kill"
    check_sound(world.services, cli)  # the chain verifies, machines agree with the graph
    kept = count(world.services, schools)
    assert 0 < kept < n and kept % part == 0, kept  # whole parts only
    assert count(world.services, machines, machines.c.kind == "school") == kept
    assert len([r for r in _imported(world) if r.get("kind") == "schools"]) == kept // part
    again = cli("import", "schools", str(path), "--at", AT)
    assert again.code == 0, again.err
    assert f"{n - kept} created, 0 updated, {kept} unchanged" in again.out
    check_sound(world.services, cli)
    with world.services.db.read() as conn:
        per_code = conn.execute(select(func.count()).select_from(machines).where(
            machines.c.kind == "school").group_by(machines.c.code)).scalars().all()
    assert len(per_code) == n and set(per_code) == {1}

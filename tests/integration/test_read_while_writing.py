"""Reads never take the writer lock; a write that waits says so (SQLite file and PostgreSQL).

A write transaction is held open in this process (BEGIN IMMEDIATE on SQLite, the writer's
advisory lock on PostgreSQL) while real `rollout` processes run against the same database.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert

from storage import Database, DatabaseBusy
from storage.models import regions
from tests.builders import World
from tests.e2e.cli import spawn

HANG_GUARD_S = 45  # only a broken build gets near it: the old check waited 60 s, or for ever


@pytest.fixture
def home(world: World, db_url: str, tmp_path: Path) -> Path:
    world.standard()
    (tmp_path / "config.yaml").write_text(f"database: {{url: '{db_url}'}}\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def writing(world: World) -> Iterator[Connection]:
    """Another writer, mid-transaction: it has written a row and not committed yet."""
    with world.services.db.write() as conn:
        conn.execute(insert(regions).values(code="99", name="Пишется", timezone="Europe/Moscow"))
        yield conn


def rollout(home: Path, *args: str) -> subprocess.Popen[str]:
    return spawn(["--config", str(home / "config.yaml"), *args], cwd=home)


@pytest.mark.parametrize("args", [("status", "--region", "07", "--json"),
                                  ("report", "--format", "json"),
                                  ("audit", "verify")], ids=["status", "report", "verify"])
def test_reads_answer_while_a_write_is_open(home: Path, writing: Connection,
                                            args: tuple[str, ...]) -> None:
    """status, report and audit verify finish, with exit 0, before the writer commits."""
    proc = rollout(home, *args)
    out, err = proc.communicate(timeout=HANG_GUARD_S)
    assert proc.returncode == 0, err
    assert "waiting for another write" not in err  # a read never waits for the writer
    if args[0] == "status":
        assert json.loads(out)["code"] == "07"
    if args[0] == "report":
        assert "99" not in {r["code"] for r in json.loads(out)["regions"]}  # not committed


@pytest.mark.usefixtures("russian")
def test_a_write_that_waits_says_what_it_waits_for(home: Path, world: World) -> None:
    """`assign` behind another writer prints the notice once, then completes when it commits."""
    world.through_step3()
    with world.services.db.write() as conn:
        conn.execute(insert(regions).values(code="99", name="Пишется", timezone="Europe/Moscow"))
        proc = rollout(home, "assign", "--role", "school_admin", "--scope", "S1", "--email",
                       "admin@s1.ru", "--name", "Админ", "--as", "rc@region07.ru")
        assert proc.stderr is not None
        line = proc.stderr.readline()  # blocks until the waiting writer speaks
        assert line.startswith("rollout: Ждём завершения другой записи в базу…"), line
        assert proc.poll() is None  # still waiting: the writer has not committed
    out, err = proc.communicate(timeout=HANG_GUARD_S)
    assert proc.returncode == 0, err
    assert "Ждём" not in err  # said once
    assert "admin@s1.ru" in {p["email"] for p in world.status("school", "S1")["people"]}


def test_a_write_that_waits_too_long_gives_up_saying_why(world: World, db_url: str) -> None:
    """Past the busy timeout: DatabaseBusy (exit 5, nothing written), not 'run rollout init'."""
    told: list[str] = []
    other = Database(db_url, busy_timeout_s=1.5)
    other.on_wait = told.append
    try:
        with world.services.db.write() as conn:
            conn.execute(insert(regions).values(code="99", name="Пишется",
                                                timezone="Europe/Moscow"))
            with pytest.raises(DatabaseBusy) as info, other.write() as late:
                late.execute(insert(regions).values(code="98", name="Опоздал",
                                                    timezone="Europe/Moscow"))
        assert "busy with another write for more than 1.5 s; nothing was written" in str(
            info.value)
        assert len(told) == 1 and str(told[0]).startswith("waiting for another write")
        with other.write() as free:  # once the writer is gone, writing works at once
            free.execute(insert(regions).values(code="98", name="Теперь",
                                                timezone="Europe/Moscow"))
    finally:
        other.dispose()

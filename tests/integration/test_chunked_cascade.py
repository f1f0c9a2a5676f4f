"""A big region's step reaches its schools a chunk at a time (workflow/cascade.py): the end is
the same as in one transaction, other writers get in between chunks, and a `rollout advance`
killed between chunks leaves a consistent, verifiable state that `rollout settle` finishes."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from storage import history
from storage.models import events, machines
from tests.builders import World
from tests.conftest import make_services
from tests.e2e.cli import run, spawn
from tests.faultkit import MUNICIPALITY, RC, REGION, build_region, check_sound, write_config
from workflow import cascade

SCHOOLS = 23
AT = "2026-09-01T10:00:00+03:00"

# These drive the SQLite file itself (another writer on it, a kill timed on its lock).
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _mirrors(world: World, step: str) -> Counter[str]:
    """How many times each school recorded finishing `step`."""
    with world.services.db.read() as conn:
        rows = conn.execute(select(events.c.code).where(
            events.c.kind == "school", events.c.step == step,
            events.c.event == "StepCompleted")).scalars()
        return Counter(rows)


def _school_statuses(world: World) -> Counter[str]:
    with world.services.db.read() as conn:
        return Counter(conn.execute(select(machines.c.statuses).where(
            machines.c.kind == "school")).scalars())


def _machines(world: World) -> Counter[tuple[str, str, str]]:
    with world.services.db.read() as conn:
        return Counter((r.kind, r.state, r.statuses) for r in conn.execute(
            select(machines.c.kind, machines.c.state, machines.c.statuses)))


def test_a_chunked_cascade_ends_as_one_transaction_would(world: World, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    one = World(make_services(f"sqlite:///{tmp_path / 'one.db'}", tmp_path), tmp_path,
                world.now)
    for w in (world, one):
        build_region(w, SCHOOLS, SCHOOLS)
    whole = one.services.advance("region", REGION, "municipalities", RC, world.now)
    monkeypatch.setattr(cascade, "CHUNK", 5)
    commits: list[int] = []
    event.listen(world.services.db.engine, "commit", lambda conn: commits.append(1))
    out = world.services.advance("region", REGION, "municipalities", RC, world.now)
    assert len(commits) == 5  # 23 schools, 5 a transaction
    assert (out.transitions, out.state) == (whole.transitions, whole.state)
    assert out.transitions > SCHOOLS  # each school mirrored the step, and more followed
    assert _machines(world) == _machines(one)
    assert set(_mirrors(world, "municipalities").values()) == {1}
    assert len(_mirrors(world, "municipalities")) == SCHOOLS
    with world.services.db.snapshot() as conn:
        history.verify(conn)
    one.services.db.dispose()


def test_a_writer_gets_in_between_chunks_and_nothing_is_lost(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reopen of the region's step lands between two chunks: the schools reached before it
    are reopened with it, the schools after it are not moved at all."""
    build_region(world, SCHOOLS, SCHOOLS)
    monkeypatch.setattr(cascade, "CHUNK", 5)
    real_finish = cascade.finish
    s = world.services

    def finish(change: Any, db: Any, region: str, rest: list[list[str]], cause: str,
               now: Any) -> tuple[int, str, int]:
        done = real_finish(change, db, region, rest[:1], cause, now)
        s.reopen("region", REGION, "municipalities", RC, world.now, reason="ошибка в списке")
        more = real_finish(change, db, region, rest[1:], cause, now)
        return done[0] + more[0], more[1], more[2]

    monkeypatch.setattr(cascade, "finish", finish)
    before = _school_statuses(world)
    s.advance("region", REGION, "municipalities", RC, world.now)
    assert s.status("region", REGION)["steps"]["municipalities"] == "current"
    assert _school_statuses(world) == before  # reopened with the region, or never moved
    assert len(_mirrors(world, "municipalities")) == 10  # the two chunks before the reopen
    with s.db.snapshot() as conn:
        history.verify(conn)


@SQLITE_ONLY
def test_a_database_busy_between_chunks_leaves_the_rest_to_settle(
        world: World, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer holds the lock past the busy timeout after the first chunk: the region's
    step is done (exit 0), the message names the schools still owed and `rollout settle`."""
    build_region(world, SCHOOLS, SCHOOLS)
    monkeypatch.setattr(cascade, "CHUNK", 5)
    s = world.services
    s.db.busy_timeout_s = 0.2
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    pauses = []

    def pause() -> None:  # the first gap between chunks: another writer takes the lock
        pauses.append(1)
        if len(pauses) == 1:
            other.execute("BEGIN IMMEDIATE")

    monkeypatch.setattr(s.db, "pause", pause)
    try:
        out = s.advance("region", REGION, "municipalities", RC, world.now)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert f"{SCHOOLS - 5} school(s) of the region not reached yet" in out.message
    assert f"rollout settle --region {REGION}" in out.message
    assert len(_mirrors(world, "municipalities")) == 5
    s.db.busy_timeout_s = 60
    cascade.catch_up(s, world.now, REGION)
    assert len(_mirrors(world, "municipalities")) == SCHOOLS
    with s.db.snapshot() as conn:
        history.verify(conn)


@SQLITE_ONLY
def test_advance_killed_between_chunks_is_consistent_and_settle_finishes_it(
        world: World, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite_url = db_url
    monkeypatch.setenv("ROLLOUT_DATABASE_URL", db_url)
    n = 120
    build_region(world, n, n)
    [before] = _school_statuses(world)
    cfg = write_config(tmp_path)
    cli = lambda *a: run(capsys, "--config", str(cfg), *a)  # noqa: E731
    db_path = sqlite_url.removeprefix("sqlite:///")
    proc = spawn(["--config", str(cfg), "advance", "--region", REGION, "--step",
                  "municipalities", "--as", RC, "--at", AT],
                 tmp_path, {"ROLLOUT_CASCADE_CHUNK": "2", "ROLLOUT_DATABASE_URL": sqlite_url})
    probe = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    reached = 0
    try:
        while proc.poll() is None:  # a condition polled, not a timed wait
            reached = probe.execute(
                "SELECT count(*) FROM machines WHERE kind = 'school' "
                "AND substr(statuses, 3, 1) = 'D'").fetchone()[0]
            if 0 < reached < n - 10:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.communicate(timeout=60)
    finally:
        probe.close()
    assert proc.returncode == -signal.SIGKILL, "the cascade finished before the kill"
    # consistent: the chain verifies, every machine agrees with the step graph
    by_code = check_sound(world.services, cli)
    [region] = [code for kind, code in by_code if kind == "region"]
    assert region[2] == "D", by_code  # the region's step committed with the first chunk
    caught_up = by_code[("school", "DDDDCCPPP")]
    assert reached <= caught_up < n, by_code  # committed chunks stayed, the rest still owed
    assert by_code[("school", before)] == n - caught_up, by_code
    assert caught_up % 2 == 0  # whole chunks only
    result = cli("settle", "--region", REGION, "--at", AT)
    assert result.code == 0, result.err
    assert f"region {REGION}: " in result.out and "completed by its schools" in result.out
    by_code = check_sound(world.services, cli)
    assert by_code[("school", "DDDDCCPPP")] == n, by_code
    mirrors = _mirrors(world, "municipalities")
    assert len(mirrors) == n and set(mirrors.values()) == {1}  # none twice
    again = cli("settle", "--at", AT)
    assert again.code == 0 and "nothing to do" in again.out, again.out


def test_settle_names_an_unknown_region(world: World, tmp_path: Path, db_url: str,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLOUT_DATABASE_URL", db_url)
    cfg = write_config(tmp_path)
    world.region(REGION, "Москва")
    world.municipality(MUNICIPALITY, REGION, "Район 1")
    result = run(capsys, "--config", str(cfg), "settle", "--region", "99")
    assert result.code != 0 and "99" in result.err

"""Shared fixtures: a fixed clock, SQLite and PostgreSQL databases, services, a world builder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.builders import World
from workflow import config as config_mod
from workflow.services import Services

PG_URL = os.environ.get("ROLLOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Moscow


def _pg_problem() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to reach it means: skip, with the reason
        return f"PostgreSQL not reachable at {PG_URL}: {str(exc).splitlines()[0]}"


_PG_PROBLEM: list[str | None] = []


def pg_problem() -> str | None:
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_pg_problem())
    return _PG_PROBLEM[0]


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests check the engine's wording in English (ROLLOUT_LANG=en); the tests of the
    language itself (tests/e2e/test_language.py) take it away to see the Russian default."""
    monkeypatch.setenv("ROLLOUT_LANG", "en")


@pytest.fixture
def russian(english: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default language, Russian: for tests that check the Russian wording (a module that
    reads Russian texts takes it with `pytestmark = pytest.mark.usefixtures("russian")`)."""
    monkeypatch.delenv("ROLLOUT_LANG", raising=False)


@pytest.fixture
def clock() -> datetime:
    """The moment tests act at; tests never read the wall clock."""
    return T0


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'rollout.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL database, dropped afterwards."""
    problem = pg_problem()
    if problem:
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each integration test runs on a SQLite file and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


def make_services(url: str, base: Path, **raw: object) -> Services:
    cfg = config_mod.build({"database": {"url": url}, **raw}, base)
    services = Services(cfg)
    services.db.clock = lambda: T0  # the real time events record: fixed too, never the wall clock
    services.db.migrate()
    return services


@pytest.fixture
def services(db_url: str, tmp_path: Path) -> Iterator[Services]:
    s = make_services(db_url, tmp_path)
    yield s
    s.db.dispose()


@pytest.fixture
def memory_services(tmp_path: Path) -> Iterator[Services]:
    """Services on SQLite in memory, for the engine's unit tests."""
    s = make_services("sqlite://", tmp_path)
    yield s
    s.db.dispose()


@pytest.fixture
def world(services: Services, tmp_path: Path, clock: datetime) -> World:
    return World(services, tmp_path, clock)


@pytest.fixture
def memory_world(memory_services: Services, tmp_path: Path, clock: datetime) -> World:
    return World(memory_services, tmp_path, clock)

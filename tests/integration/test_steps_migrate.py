"""A changed step definition: refused until migrated, `steps diff` counts, `steps migrate`
moves every machine with one event each, loses nothing done, and the chain still verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import history, step_definitions
from storage.models import events
from tests.builders import World
from tests.conftest import make_services
from workflow.definitions import migrate
from workflow.errors import DefinitionStale

RC = "rc@region07.ru"
LINE = {"classes": {"after": ["teachers"]}, "parents": {"after": ["classes"]},
        "students": {"after": ["parents"]}, "adoption": {"after": ["students"]}}


@pytest.fixture
def w(world: World) -> World:
    """Region 07 with two schools at step 5-6: S1 has its classes done, teachers open."""
    w = world.standard().through_step3()
    for code in ("S1", "S2", "S2F"):
        w.services.assign("school_admin", code, f"a@{code.lower()}.ru", "Админ", RC, w.now)
    w.metrics("S1", classes=5)
    return w


@pytest.fixture
def reconfigured(w: World):
    """Services on the same database with another step definition (closed afterwards)."""
    made = []

    def make(**steps: object):
        made.append(make_services(w.services.db.url.render_as_string(hide_password=False),
                                  w.tmp, steps=steps))
        return made[-1]

    yield make
    for s in made:
        s.db.dispose()


def count_events(w: World, name: str) -> int:
    with w.services.db.read() as conn:
        return conn.execute(select(func.count()).select_from(events)
                            .where(events.c.event == name)).scalar_one()


def test_acting_under_a_stale_definition_is_refused_naming_the_command(
        w: World, reconfigured) -> None:
    """After config.yaml changes the graph, advance and imports exit 6 until migrated."""
    s2 = reconfigured(**LINE)
    with pytest.raises(DefinitionStale, match="rollout steps migrate"):
        s2.advance("school", "S1", "teachers", "a@s1.ru", w.now)
    with pytest.raises(DefinitionStale):
        World(s2, w.tmp, w.now).metrics("S1", teachers=10)
    from workflow import mail

    with pytest.raises(DefinitionStale):  # its SLAs are not the ones the machines follow
        mail.remind(s2, w.now)
    assert w.status("school", "S1")["steps"]["teachers"] == "current"  # nothing written


def test_diff_counts_and_writes_nothing(w: World, reconfigured) -> None:
    """To a strict line: parents and students of S1 go back to pending, classes of S2 and S2F
    too; the dry run says so and changes nothing."""
    s2 = reconfigured(**LINE)
    before = count_events(w, "StepsMigrated")
    report = migrate(s2.db, s2.policies, w.now, dry_run=True)
    assert ("classes", "after", ["admins"], ["teachers"]) in report.changes
    assert report.moved["school"] == 3
    assert report.pending["classes"] == 3  # S2, S2F and the region: teachers not done
    assert report.pending["students"] == 1  # S1: students now waits for parents
    assert "parents" not in report.pending  # S1's classes stays done, so parents stays open
    assert count_events(w, "StepsMigrated") == before
    assert w.status("school", "S2")["steps"]["classes"] == "current"


def test_migrate_moves_each_machine_once_and_loses_nothing_done(w: World, reconfigured) -> None:
    """S1's classes stays done though teachers now comes first; one event per machine moved,
    naming both versions; running it again changes nothing; the chain verifies."""
    s2 = reconfigured(**LINE)
    report = migrate(s2.db, s2.policies, w.now)
    assert report.to_version == 2 and report.from_version == 1
    st = s2.status("school", "S1")["steps"]
    assert st["classes"] == "done"
    assert (st["teachers"], st["parents"], st["students"]) == ("current", "current", "pending")
    assert s2.status("school", "S2")["steps"]["classes"] == "pending"
    assert count_events(w, "StepsMigrated") == sum(report.moved.values())
    with s2.db.read() as conn:
        e = conn.execute(select(events.c.reason, events.c.data).where(
            events.c.event == "StepsMigrated", events.c.code == "S2")).one()
        assert e.reason == "definition 1 → 2"
        assert e.data["pending"] == ["classes"]
        assert step_definitions.definition_in_force(conn).version == 2
        history.verify(conn)
    again = migrate(s2.db, s2.policies, w.now)
    assert again.up_to_date and again.to_version == 2
    World(s2, w.tmp, w.now).metrics("S1", teachers=10)  # acting works again
    assert s2.status("school", "S1")["steps"]["teachers"] == "done"


def test_a_lower_threshold_completes_what_now_holds(w: World, reconfigured) -> None:
    """Lowering the teachers' threshold: schools whose counts now suffice complete the step
    during the migration, each with its own event naming the migration."""
    w.metrics("S2", teachers=6)  # 6 of 10
    s2 = reconfigured(teachers={"threshold": 0.5})
    report = migrate(s2.db, s2.policies, w.now)
    assert report.completed >= 1
    assert s2.status("school", "S2")["steps"]["teachers"] == "done"
    with s2.db.read() as conn:
        trigger = conn.execute(select(events.c.trigger).where(
            events.c.event == "StepCompleted", events.c.code == "S2",
            events.c.step == "teachers")).scalar_one()
    assert trigger == "steps migrate: definition 1 → 2"


def test_a_new_database_adopts_the_configured_definition(tmp_path: Path, db_url: str) -> None:
    """The first action on a fresh database records version 1 from the configuration."""
    s = make_services(db_url, tmp_path)
    w = World(s, tmp_path, __import__("tests.conftest", fromlist=["T0"]).T0)
    w.region("07")
    with s.db.read() as conn:
        stored = step_definitions.definition_in_force(conn)
    assert stored is not None and stored.version == 1
    assert stored.body["adoption"]["after"] == ["teachers", "parents", "students"]
    s.db.dispose()

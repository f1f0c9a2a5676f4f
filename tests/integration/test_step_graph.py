"""The approximate order: steps open as their prerequisites finish, several at once, on SQLite
and PostgreSQL, with the history naming what moved each step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import events
from tests.builders import World
from workflow.errors import GuardRefused

RC = "rc@region07.ru"
MC1 = "mc1@region07.ru"


@pytest.fixture
def w(world: World) -> World:
    w = world.standard().through_step3()
    for code in ("S1", "S2", "S2F"):
        w.services.assign("school_admin", code, f"a@{code.lower()}.ru", "Админ", RC, w.now)
    return w


def steps(w: World, code: str) -> dict[str, str]:
    return w.status("school", code)["steps"]


def completed(w: World, code: str) -> list[tuple[str, str]]:
    """(step, trigger) of the school's StepCompleted events, oldest first."""
    with w.services.db.read() as conn:
        return [(r.step, r.trigger) for r in conn.execute(
            select(events.c.step, events.c.trigger)
            .where(events.c.code == code, events.c.event == "StepCompleted")
            .order_by(events.c.seq))]


def test_admins_done_opens_teachers_and_classes_at_once(w: World) -> None:
    """After step 4 a school has two open steps; its state is the first of them."""
    st = w.status("school", "S1")
    assert [o["step"] for o in st["open"]] == ["teachers", "classes"]
    assert st["state"] == "teachers"
    assert st["steps"]["parents"] == "pending"


def test_classes_may_finish_before_teachers(w: World) -> None:
    """A school loads its classes first: classes is done, teachers still open, and the
    parents' and students' steps open because they come after classes only."""
    w.metrics("S1", classes=5)
    s = steps(w, "S1")
    assert (s["classes"], s["teachers"]) == ("done", "current")
    assert (s["parents"], s["students"], s["adoption"]) == ("current", "current", "pending")
    w.metrics("S1", teachers=10)
    assert steps(w, "S1")["teachers"] == "done"
    assert [step for step, _ in completed(w, "S1")][-2:] == ["classes", "teachers"]


def test_parents_and_students_run_side_by_side(w: World) -> None:
    """Students register themselves (from 14): their step completes while parents wait."""
    w.metrics("S1", teachers=10, classes=5, parents=10, students=80)  # 75 % of 100 students
    s = steps(w, "S1")
    assert (s["students"], s["parents"]) == ("done", "current")
    w.metrics("S1", parents=60)  # the default threshold: three in five families
    assert steps(w, "S1")["parents"] == "done"
    assert w.status("school", "S1")["state"] == "adoption"


def test_a_step_whose_prerequisite_is_open_is_refused_naming_it(w: World) -> None:
    """Adoption waits for teachers, parents and students; the refusal names those open and is
    on record."""
    w.metrics("S1", teachers=10, classes=5, students=90)
    with pytest.raises(GuardRefused) as exc:
        w.services.advance("school", "S1", "adoption", "a@s1.ru", w.now)
    assert "parents must be done first" in str(exc.value)
    assert exc.value.verdict.reasons[0].figures == {"waiting_for": ["parents"]}
    assert "«Регистрация законных представителей»" in exc.value.verdict.message_ru
    with w.services.db.read() as conn:
        last = conn.execute(select(events.c.event, events.c.step).order_by(
            events.c.seq.desc()).limit(1)).one()
    assert tuple(last) == ("StepRefused", "adoption")


def test_evidence_that_came_early_completes_the_step_when_it_opens(world: World) -> None:
    """Counts loaded before the admin was appointed: the appointment opens teachers and
    classes, which complete at once, then parents and students; the history names the
    appointment as what triggered each."""
    w = world.standard().through_step3()
    w.metrics("S1", teachers=10, classes=5, parents=70, students=80)
    assert steps(w, "S1")["teachers"] == "pending"
    w.services.assign("school_admin", "S1", "a@s1.ru", "Админ", MC1, w.now)
    s = steps(w, "S1")
    assert [s[x] for x in ("admins", "teachers", "classes", "parents", "students")] == [
        "done"] * 5
    assert s["adoption"] == "current"
    tail = completed(w, "S1")[-5:]
    assert [step for step, _ in tail] == ["admins", "teachers", "classes", "parents", "students"]
    assert all(trigger == "assign school_admin a@s1.ru by mc1@region07.ru"
               for _, trigger in tail)


def test_region_aggregates_complete_each_on_its_own(w: World) -> None:
    """When every school has its classes but not its teachers, the region's classes step is
    done and its teachers step still open."""
    for code, classes in (("S1", 5), ("S2", 5), ("S2F", 1)):
        w.metrics(code, classes=classes)
    region = w.status("region", "07")
    assert (region["steps"]["classes"], region["steps"]["teachers"]) == ("done", "current")
    assert region["steps"]["parents"] == "current"
    assert region["schools_done"]["classes"] == 3


def test_reopening_a_region_step_sends_its_schools_steps_back(w: World) -> None:
    """Reopening registry: every school's registry is current again and every step after it
    pending, done ones included."""
    w.metrics("S1", teachers=10, classes=5)
    w.services.reopen("region", "07", "registry", RC, w.now, "в реестре не хватает филиала")
    s = steps(w, "S1")
    assert s["registry"] == "current" and s["coordinator"] == "done"
    assert all(s[x] == "pending" for x in ("municipalities", "admins", "teachers", "classes",
                                            "parents", "students", "adoption"))


def test_a_region_step_done_by_hand_lets_the_steps_it_opens_count_the_schools(w: World) -> None:
    """The coordinator reopens the region's classes step (its parents and students steps go
    back to pending) and then marks it done again: the steps it opens on the region complete
    at once, every school having them done already."""
    for code in ("S1", "S2", "S2F"):
        w.metrics(code, classes=50, parents=1000, students=1000)
    assert w.status("region", "07")["steps"]["parents"] == "done"
    w.services.reopen("region", "07", "classes", RC, w.now, "проверка списков классов")
    region = w.status("region", "07")["steps"]
    assert (region["classes"], region["parents"], region["students"]) == (
        "current", "pending", "pending")
    w.services.advance("region", "07", "classes", RC, w.now)
    region = w.status("region", "07")["steps"]
    assert (region["classes"], region["parents"], region["students"]) == ("done", "done", "done")
    with w.services.db.read() as conn:
        last = conn.execute(select(events.c.step, events.c.actor).where(
            events.c.code == "07", events.c.event == "StepCompleted")
            .order_by(events.c.seq.desc()).limit(2)).all()
    assert {tuple(r) for r in last} == {("parents", "system"), ("students", "system")}


def test_a_region_step_reopened_by_hand_is_not_completed_by_other_steps(w: World) -> None:
    """A region's aggregate step reopened by hand stays open while the schools progress on
    other steps; a school finishing that same step counts it again."""
    for code in ("S1", "S2", "S2F"):
        w.metrics(code, classes=5)
    w.services.reopen("region", "07", "classes", RC, w.now, "проверка списков классов")
    w.metrics("S1", teachers=10)
    assert w.status("region", "07")["steps"]["classes"] == "current"
    w.services.reopen("school", "S2F", "classes", RC, w.now, "класс не тот")
    w.metrics("S2F", classes=1)
    assert w.status("region", "07")["steps"]["classes"] == "done"


def test_every_event_carries_the_statuses_it_left(w: World) -> None:
    """Each transition's event holds the machine's statuses after it: the history proves the
    state (what `audit verify` replays)."""
    w.metrics("S1", classes=5)
    with w.services.db.read() as conn:
        data = conn.execute(select(events.c.data).where(
            events.c.code == "S1", events.c.event == "StepCompleted",
            events.c.step == "classes")).scalar_one()
    assert data["steps"] == steps(w, "S1")
    assert data["opened"] == ["parents", "students"]


def test_report_counts_late_machines_per_open_step(world: World) -> None:
    """Six weeks on: S2 and S2F wait for an admin (step 4), S1 is late with teachers and classes
    side by side; region 66 never connected is late on its own step 1."""
    from datetime import timedelta

    from workflow import report

    w = world.standard().through_step3()
    w.region("66", "Свердловская область")
    w.services.assign("school_admin", "S1", "a@s1.ru", "Админ", MC1, w.now)
    with w.services.db.read() as conn:
        data = report.national(conn, w.now + timedelta(days=42), w.services.policies)
        fresh = report.national(conn, w.now, w.services.policies)
    late = {r["code"]: r["late"] for r in data["regions"]}
    assert {k: v for k, v in late["07"].items() if v} == {"admins": 2, "teachers": 1,
                                                           "classes": 1}
    assert {k: v for k, v in late["66"].items() if v} == {"coordinator": 1}
    assert data["totals"]["late"]["admins"] == 2
    assert not any(n for r in fresh["regions"] for n in r["late"].values())
    s07 = next(r for r in data["regions"] if r["code"] == "07")["step_statuses"]
    assert s07["teachers"] == {"done": 0, "skipped": 0, "current": 1, "pending": 2}

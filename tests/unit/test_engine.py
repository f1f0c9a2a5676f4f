"""The engine on SQLite in memory: shared machines, cascades, reopen, skip, versions."""

from __future__ import annotations

import pytest

from storage import ConflictError, repo
from tests.builders import SUPPORT, World
from workflow.engine import MACHINE, build_machine
from workflow.errors import GuardRefused, PermissionDenied, UsageError

RC = "rc@region07.ru"


@pytest.fixture
def w(memory_world: World) -> World:
    return memory_world.standard()


def states(w: World, *codes: str) -> list[str]:
    return [w.status("school", c)["state"] for c in codes]


def test_one_shared_step_machine_without_shortcuts() -> None:
    """One machine serves every step of every region and school; no to_<state> shortcuts."""
    assert MACHINE.models == []
    assert not any(name.startswith("to_") for name in MACHINE.events)
    assert set(MACHINE.events) == {"open", "complete", "skip", "reopen", "block"}
    assert list(MACHINE.states) == ["pending", "current", "done", "skipped"]


def test_region_steps_flow_down_to_schools(w: World) -> None:
    """Completing a region's step 1 completes it for every school of the region, branches too."""
    w.services.advance("region", "07", "coordinator", SUPPORT, w.now)
    assert states(w, "S1", "S2", "S2F") == ["registry"] * 3
    log = w.services.status("school", "S2F")["steps"]
    assert log["coordinator"] == "done"


def test_skipped_region_step_is_skipped_by_schools(w: World) -> None:
    """A region that skips the municipal split with a reason: its schools skip it too."""
    s = w.services
    s.advance("region", "07", "coordinator", SUPPORT, w.now)
    w.reconciled()
    s.advance("region", "07", "registry", RC, w.now)
    s.skip("region", "07", "municipalities", RC, w.now, "малый регион")
    assert w.status("region", "07")["steps"]["municipalities"] == "skipped"
    assert w.status("school", "S1")["steps"]["municipalities"] == "skipped"
    assert states(w, "S1") == ["admins"]


def test_skip_refuses_a_mandatory_step(w: World) -> None:
    """Only the optional step can be skipped; the refusal says so."""
    w.services.advance("region", "07", "coordinator", SUPPORT, w.now)
    with pytest.raises(GuardRefused, match="not optional"):
        w.services.skip("region", "07", "registry", RC, w.now, "не нужно")


def test_skip_needs_a_reason(w: World) -> None:
    """A skip without a reason is a usage error, before anything is looked up."""
    with pytest.raises(UsageError):
        w.services.skip("region", "07", "municipalities", RC, w.now, "  ")


def test_evidence_steps_complete_by_themselves_in_order(w: World) -> None:
    """Evidence that holds for a later step waits until the earlier steps are done."""
    w.through_step3()
    w.metrics("S1", teachers=10, classes=5, parents=100, students=100)
    assert states(w, "S1") == ["admins"]  # no admin yet: the order holds the rest back
    w.services.assign("school_admin", "S1", "a@s1.ru", "Админ", "mc1@region07.ru", w.now)
    assert states(w, "S1") == ["adoption"]


def test_threshold_and_figures_in_refusal(memory_services, tmp_path, clock) -> None:
    """With threshold 0.95, 12 of 40 teachers is refused with the figures a coordinator needs."""
    from tests.conftest import make_services

    s = make_services("sqlite://", tmp_path, steps={"teachers": {"threshold": 0.95}})
    w = World(s, tmp_path, clock).standard()
    w.school("T1", "07", "0701", teachers=40)
    w.through_step3()
    s.assign("school_admin", "T1", "a@t1.ru", "Админ", RC, w.now)
    w.metrics("T1", teachers=12)
    with pytest.raises(GuardRefused) as exc:
        s.advance("school", "T1", "teachers", "a@t1.ru", w.now)
    assert "teachers: 12 of 40 loaded, 38 needed" in str(exc.value)
    w.metrics("T1", teachers=38)
    assert w.status("school", "T1")["state"] == "classes"


def test_region_aggregate_completes_with_its_schools(w: World) -> None:
    """The region's step 4 completes when the last of its schools has an admin."""
    w.through_step3()
    s = w.services
    for code in ("S1", "S2"):
        s.assign("school_admin", code, f"a@{code.lower()}.ru", "Админ", RC, w.now)
    assert w.status("region", "07")["state"] == "admins"
    s.assign("school_admin", "S2F", "a@s2f.ru", "Админ", RC, w.now)
    region = w.status("region", "07")
    assert region["steps"]["admins"] == "done"
    assert region["state"] == "teachers"


def test_region_share_lets_a_region_move_on_early(memory_services, tmp_path, clock) -> None:
    """With region_share 0.5 the region completes step 4 when half of its schools have."""
    from tests.conftest import make_services

    s = make_services("sqlite://", tmp_path, steps={"admins": {"region_share": 0.5}})
    w = World(s, tmp_path, clock).standard().through_step3()
    s.assign("school_admin", "S1", "a@s1.ru", "Админ", RC, w.now)
    assert w.status("region", "07")["state"] == "admins"
    s.assign("school_admin", "S2", "a@s2.ru", "Админ", RC, w.now)
    assert w.status("region", "07")["steps"]["admins"] == "done"


def test_reopen_makes_the_steps_after_it_pending(w: World) -> None:
    """Reopening a school's step makes it current and the steps that depend on it pending;
    steps beside it keep their status."""
    w.through_step3()
    s = w.services
    s.assign("school_admin", "S1", "a@s1.ru", "Админ", RC, w.now)
    w.metrics("S1", teachers=10, classes=5, parents=100, students=100)
    s.reopen("school", "S1", "teachers", "mc1@region07.ru", w.now, "неверный файл")
    steps = w.status("school", "S1")["steps"]
    assert steps["teachers"] == "current"
    assert [steps[x] for x in ("classes", "parents", "students")] == ["done"] * 3
    assert steps["adoption"] == "pending"
    s.reopen("school", "S1", "classes", "mc1@region07.ru", w.now, "классы перепутаны")
    steps = w.status("school", "S1")["steps"]
    assert [steps[x] for x in ("classes", "parents", "students", "adoption")] == [
        "current", "pending", "pending", "pending"]
    w.metrics("S1", teachers=10)  # the next file re-examines the evidence
    assert w.status("school", "S1")["state"] == "adoption"


def test_reopen_of_a_region_step_reaches_its_schools(w: World) -> None:
    """Reopening the region's registry step sends its schools back to that step too."""
    w.through_step3()
    w.services.reopen("region", "07", "registry", RC, w.now, "в реестре не хватает филиала")
    assert states(w, "S1", "S2F") == ["registry", "registry"]
    assert w.status("school", "S1")["steps"]["municipalities"] == "pending"


def test_reopen_refuses_a_step_not_done(w: World) -> None:
    """Only a done or skipped step can be reopened."""
    with pytest.raises(GuardRefused, match="not done"):
        w.services.reopen("region", "07", "registry", RC, w.now, "почему-то")


def test_mirror_steps_cannot_be_advanced_on_a_school(w: World) -> None:
    """A school's region steps are nobody's to advance: they follow the region."""
    with pytest.raises(PermissionDenied):
        w.services.advance("school", "S1", "coordinator", SUPPORT, w.now)


def test_new_school_in_a_region_that_moved_on_catches_up(w: World) -> None:
    """A school imported after the region finished steps 1-3 starts at step 4."""
    w.through_step3()
    w.school("S9", "07", "0701")
    assert states(w, "S9") == ["admins"]


def test_stale_version_is_a_conflict(w: World) -> None:
    """Writing a machine whose version moved meanwhile raises a conflict and writes nothing."""
    s = w.services
    with s.db.read() as conn:
        stale = repo.get_machine(conn, "region", "07")
    s.advance("region", "07", "coordinator", SUPPORT, w.now)
    stale.state = "done"
    with pytest.raises(ConflictError), s.db.write() as conn:
        repo.save_machines(conn, [stale], w.now)
    assert w.status("region", "07")["state"] == "registry"


def test_machine_built_fresh_matches_the_shared_one() -> None:
    """The diagram and the engine read the same definition: building it again is identical."""
    fresh, shared = build_machine(), MACHINE
    for name in ("open", "complete", "skip", "reopen", "block"):
        assert {(s, t.dest) for s, ts in fresh.events[name].transitions.items() for t in ts} == \
               {(s, t.dest) for s, ts in shared.events[name].transitions.items() for t in ts}

"""`unassign` removes a role: checked like an appointment, recorded, the steps stay done."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import history
from storage.models import assignments
from tests.builders import SUPPORT, World
from workflow import audit
from workflow.errors import InvalidInput, PermissionDenied
from workflow.people import unassign

RC = "rc@region07.ru"


@pytest.fixture
def staffed(world: World) -> World:
    """Region 07 through step 3; S1 (municipality 0701) has an admin, so its step 4 is done."""
    world.standard().through_step3()
    world.services.assign("school_admin", "S1", "adm@s1.ru", "Админ Школы", RC, world.now)
    return world


def roles(world: World, email: str) -> list[tuple[str, str]]:
    with world.services.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(assignments.c.role, assignments.c.scope)
                                               .where(assignments.c.email == email))]


def last_event(world: World, kind: str, code: str) -> dict[str, object]:
    with world.services.db.read() as conn:
        return audit.machine_log(conn, kind, code)[-1]


@pytest.mark.usefixtures("russian")
def test_coordinator_removes_an_admin_and_the_step_stays_done(staffed: World) -> None:
    """The regional coordinator removes S1's admin: the role is gone, step 4 stays done, the
    history says who and why, and the replayed state still matches."""
    message = unassign(staffed.services, "school_admin", "S1", "ADM@s1.ru", RC,
                       staffed.tick(hours=1), "уволился")
    assert "роль «администратор ОО» (школа S1) у adm@s1.ru снята" in message
    assert roles(staffed, "adm@s1.ru") == []
    assert staffed.status("school", "S1")["steps"]["admins"] == "done"
    e = last_event(staffed, "school", "S1")
    assert (e["event"], e["actor"], e["role"], e["reason"]) == (
        "PersonUnassigned", RC, "regional_coordinator", "school_admin adm@s1.ru: уволился")
    with staffed.services.db.snapshot() as conn:
        _, checked, _ = audit.verify(conn)
    assert checked.assignments == 6
    # a successor can be appointed, and the history replays again
    staffed.services.assign("school_admin", "S1", "new@s1.ru", "Новый Админ", RC, staffed.now)
    with staffed.services.db.snapshot() as conn:
        assert audit.verify(conn)[1].assignments == 7


@pytest.mark.usefixtures("russian")
def test_municipal_coordinator_removes_only_in_its_municipality(staffed: World) -> None:
    """Who may appoint may remove: mc1 (0701) may remove S1's admin, mc2 (0702) may not; the
    refusal is recorded and changes nothing."""
    with pytest.raises(PermissionDenied, match="mc2@region07.ru: нет прав назначить"):
        unassign(staffed.services, "school_admin", "S1", "adm@s1.ru", "mc2@region07.ru",
                 staffed.now)
    e = last_event(staffed, "school", "S1")
    assert (e["event"], e["actor"]) == ("ActionDenied", "mc2@region07.ru")
    assert roles(staffed, "adm@s1.ru") == [("school_admin", "S1")]
    unassign(staffed.services, "school_admin", "S1", "adm@s1.ru", "mc1@region07.ru", staffed.now)
    assert roles(staffed, "adm@s1.ru") == []


def test_a_school_admin_cannot_remove_anyone(staffed: World) -> None:
    """A school admin appoints nobody, so removes nobody: refused, recorded."""
    with pytest.raises(PermissionDenied):
        unassign(staffed.services, "municipal_coordinator", "0701", "mc1@region07.ru",
                 "adm@s1.ru", staffed.now)
    assert roles(staffed, "mc1@region07.ru") == [("municipal_coordinator", "0701")]
    assert last_event(staffed, "municipality", "0701")["event"] == "ActionDenied"


def test_support_removes_a_regional_coordinator(staffed: World) -> None:
    """support connects regional coordinators, so support disconnects them."""
    unassign(staffed.services, "regional_coordinator", "07", RC, SUPPORT, staffed.now)
    assert roles(staffed, RC) == []
    assert last_event(staffed, "region", "07")["event"] == "PersonUnassigned"


@pytest.mark.usefixtures("russian")
def test_removing_a_role_nobody_holds_writes_nothing(staffed: World) -> None:
    """A role the person does not hold: exit 6 naming it, not a single event written."""
    with staffed.services.db.read() as conn:
        before = history.count(conn)
    with pytest.raises(InvalidInput, match="у nobody@s1.ru нет роли «администратор ОО»"):
        unassign(staffed.services, "school_admin", "S1", "nobody@s1.ru", RC, staffed.now)
    with staffed.services.db.read() as conn:
        assert history.count(conn) == before

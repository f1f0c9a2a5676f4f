"""A people re-import removes roles when asked (`--remove-missing`); a person's upload is held
to what that person may appoint; both recorded in the history."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import assignments, events
from tests.builders import World
from workflow import audit
from workflow.errors import InvalidInput
from workflow.importing import import_file

RC = "rc@region07.ru"


@pytest.fixture
def staffed(world: World) -> World:
    """Region 07 through step 3; S1 and S2 each have an admin, municipality 0701 a coordinator."""
    world.standard().through_step3()
    world.load("people", [
        {"email": "adm1@s1.ru", "name": "Админ Один", "role": "school_admin", "scope": "S1"},
        {"email": "adm2@s2.ru", "name": "Админ Два", "role": "school_admin", "scope": "S2"},
        {"email": "mk@0701.ru", "name": "Коорд Муниц", "role": "municipal_coordinator",
         "scope": "0701"}])
    return world


def held(world: World, scope: str) -> list[tuple[str, str]]:
    with world.services.db.read() as conn:
        return sorted((r.email, r.role) for r in conn.execute(
            select(assignments.c.email, assignments.c.role).where(assignments.c.scope == scope)))


def test_remove_missing_replaces_the_admin_of_a_listed_school_only(staffed: World) -> None:
    """S1's admin left: the file lists the new one for S1; with the flag the old admin loses
    the role, S2 (not in the file) keeps its admin, the history names each removal, the
    replay still verifies."""
    path = staffed.write_csv([{"email": "new@s1.ru", "name": "Новый Админ",
                               "role": "school_admin", "scope": "S1"}])
    result = import_file(staffed.services, "people", path, now=staffed.tick(hours=1),
                         remove_missing=True)
    assert result.removed == ("school_admin S1 adm1@s1.ru",)
    assert held(staffed, "S1") == [("new@s1.ru", "school_admin")]
    assert held(staffed, "S2") == [("adm2@s2.ru", "school_admin")]
    with staffed.services.db.read() as conn:
        log = audit.machine_log(conn, "school", "S1")
    removal = next(e for e in log if e["event"] == "PersonUnassigned")
    assert removal["actor"] == "operator"
    assert removal["reason"] == f"school_admin adm1@s1.ru: not in {path.name}"
    with staffed.services.db.snapshot() as conn:
        audit.verify(conn)


def test_without_the_flag_a_reimport_only_adds(staffed: World) -> None:
    """The same file without the flag adds the new admin and removes nobody."""
    path = staffed.write_csv([{"email": "new@s1.ru", "name": "Новый Админ",
                               "role": "school_admin", "scope": "S1"}])
    result = import_file(staffed.services, "people", path, now=staffed.tick(hours=1))
    assert result.removed == ()
    assert held(staffed, "S1") == [("adm1@s1.ru", "school_admin"),
                                   ("new@s1.ru", "school_admin")]


def test_a_dry_run_lists_the_removals_and_keeps_the_roles(staffed: World) -> None:
    """The preview names who would lose a role; nothing is written."""
    path = staffed.write_csv([{"email": "other@0701.ru", "name": "Другой Коорд",
                               "role": "municipal_coordinator", "scope": "0701"}])
    result = import_file(staffed.services, "people", path, now=staffed.tick(hours=1),
                         remove_missing=True, dry_run=True)
    assert result.removed == ("municipal_coordinator 0701 mc1@region07.ru",
                              "municipal_coordinator 0701 mk@0701.ru")
    assert held(staffed, "0701") == [("mc1@region07.ru", "municipal_coordinator"),
                                     ("mk@0701.ru", "municipal_coordinator")]


def test_a_coordinators_upload_is_held_to_what_they_may_appoint(staffed: World) -> None:
    """A regional coordinator may appoint admins and municipal coordinators of its region; a
    support row, another region's school: each refused as ROW: column: problem, nothing
    written."""
    staffed.region("66", "Свердловская область")
    staffed.school("X1", "66")
    path = staffed.write_csv([
        {"email": "ok@s2.ru", "name": "Хороший", "role": "school_admin", "scope": "S2"},
        {"email": "me@support.ru", "name": "Самозванец", "role": "support", "scope": ""},
        {"email": "far@x1.ru", "name": "Дальний", "role": "school_admin", "scope": "X1"}],
        name="люди.csv")
    with pytest.raises(InvalidInput) as err:
        import_file(staffed.services, "people", path, now=staffed.tick(hours=1), actor=RC,
                    channel="web")
    lines = err.value.problems
    assert lines[0] == ("люди.csv:3: role: rc@region07.ru: глобальные роли назначает оператор "
                        "через импорт людей")
    assert lines[1] == "люди.csv:4: role: rc@region07.ru: нет прав назначить администратора ОО (X1)"
    assert len(lines) == 2
    assert held(staffed, "S2") == [("adm2@s2.ru", "school_admin")]


def test_a_web_import_is_recorded_with_the_person_and_the_channel(staffed: World) -> None:
    """Accepted, the Imported event names the coordinator and channel "web"; the removal is
    recorded in the coordinator's role."""
    path = staffed.write_csv([{"email": "new@s2.ru", "name": "Новый", "role": "school_admin",
                               "scope": "S2"}])
    import_file(staffed.services, "people", path, now=staffed.tick(hours=1), actor=RC,
                channel="web", remove_missing=True)
    with staffed.services.db.read() as conn:
        log = audit.machine_log(conn, "school", "S2")
        row = conn.execute(select(events.c.actor, events.c.data).where(
            events.c.event == "Imported").order_by(events.c.seq.desc())).first()
    removal = next(e for e in log if e["event"] == "PersonUnassigned")
    assert (removal["actor"], removal["role"]) == (RC, "regional_coordinator")
    assert row is not None and row.actor == RC and row.data["channel"] == "web"
    assert row.data["removed"] == 1

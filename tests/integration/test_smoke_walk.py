"""A whole school walked through the nine steps, on SQLite and PostgreSQL."""

from tests.builders import World


def test_school_walks_all_nine_steps(world: World) -> None:
    """Steps 1-3 flow down from the region, evidence steps complete alone, step 9 by hand."""
    world.standard().through_step3()
    s = world.services
    assert world.status("school", "S1")["state"] == "admins"
    s.assign("school_admin", "S1", "a1@s1.ru", "Админ", "mc1@region07.ru", world.now)
    assert world.status("school", "S1")["state"] == "teachers"
    world.metrics("S1", teachers=10, classes=5, parents=100, students=100)
    assert world.status("school", "S1")["state"] == "adoption"
    s.advance("school", "S1", "adoption", "a1@s1.ru", world.now)
    assert world.status("school", "S1")["state"] == "done"

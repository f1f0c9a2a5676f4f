"""Trends from the history: the burn-up's daily counts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from states import FINISHED, SLUGS
from states.graph import decode
from storage.models import machines
from tests.builders import World
from web import trends


def test_burnup_counts_done_steps_by_local_day_and_takes_back_reopened_ones(
        world: World) -> None:
    """Step 3 done by the three schools on 1 September, S1's step 4 on the 7th; the region
    reopens step 3 on the 9th: step 3 loses three schools and step 4 loses S1 (sent back to
    pending), not S2 or S2F (whose step 4 was open, not done). The last count of every step is
    the number of schools that have it finished now; days are Yekaterinburg's."""
    world.region("07", timezone="Asia/Yekaterinburg")
    world.standard().through_step3()  # Tuesday 1 September 2026, 12:00 in Yekaterinburg
    s = world.services
    s.assign("school_admin", "S1", "admin1@region07.ru", "Админова Анна", "mc1@region07.ru",
             world.now + timedelta(days=6, hours=13))  # 23:00 UTC: the 8th in Yekaterinburg
    assert s.reopen("region", "07", "municipalities", "rc@region07.ru",
                    world.now + timedelta(days=8), reason="муниципалитеты разделены неверно")
    with s.db.read() as conn:
        changes = trends.daily_changes(conn, "Asia/Yekaterinburg", "07")
        now_done = {slug: 0 for slug in SLUGS}
        for (statuses,) in conn.execute(select(machines.c.statuses)
                                        .where(machines.c.kind == "school")):
            for slug, v in decode(statuses).items():
                now_done[slug] += v in FINISHED
        lines = trends.burnup(conn, "Asia/Yekaterinburg", date(2026, 9, 10), 3,
                              s.config.steps, "07")
    assert dict(changes["municipalities"]) == {date(2026, 9, 1): 3, date(2026, 9, 9): -3}
    assert dict(changes["admins"]) == {date(2026, 9, 8): 1, date(2026, 9, 9): -1}
    assert {b["slug"]: b["done"] for b in lines} == now_done
    admins = next(b for b in lines if b["slug"] == "admins")
    assert admins["points"] == [(date(2026, 9, 8), 1), (date(2026, 9, 9), 0)]
    assert admins["start"] == date(2026, 9, 1) and admins["due"] == date(2026, 9, 8)

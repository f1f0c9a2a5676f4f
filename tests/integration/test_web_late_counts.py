"""Late schools per region, counted in SQL on open_steps, agree with a count school by school."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from notifications.calendar import business_days_open
from states import STATES, default_policies
from storage.models import municipalities, regions, schools
from storage.repo import insert_machines
from tests.mailkit import new_db, steps_at
from web.progress import SCHOOL_STEPS, late_by_region

NOW = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # Monday: 11:30 Moscow, 20:30 Kamchatka


def test_sql_late_count_matches_the_calendar_school_by_school(tmp_path: Path) -> None:
    """Zones of the region, of a municipality and of a school itself are all honoured."""
    rnd = random.Random(5)
    zones = {"01": "Europe/Moscow", "41": "Asia/Kamchatka", "39": "Europe/Kaliningrad"}
    muni_tz = {"01-1": None, "01-2": "Asia/Yekaterinburg", "41-1": None, "39-1": "Asia/Kamchatka"}
    states = [s for s in STATES if s in SCHOOL_STEPS]
    policies = default_policies()
    db = new_db(tmp_path)
    rows, mrows, expected = [], [], Counter()
    for i in range(400):
        muni = rnd.choice(sorted(muni_tz))
        region = muni.split("-")[0]
        own = rnd.choice([None, None, None, "Asia/Vladivostok", "Europe/Moscow"])
        state = rnd.choice(states + ["done"])
        since = NOW - timedelta(hours=rnd.randrange(0, 24 * 50))
        code = f"S{i:04d}"
        rows.append({"code": code, "region_code": region, "municipality_code": muni,
                     "name": code, "timezone": own})
        mrows.append({"kind": "school", "code": code, "region_code": region, "state": state,
                      "steps": steps_at(state, since),
                      "version": 1, "updated_at": since, "state_since": since})
        tz = own or muni_tz[muni] or zones[region]
        open_now = [k for k, v in mrows[-1]["steps"].items() if v["status"] == "current"]
        if any(business_days_open(since, NOW, tz) > policies[k].sla_days for k in open_now):
            expected[region] += 1
    with db.write() as conn:
        conn.execute(insert(regions), [{"code": c, "name": c, "timezone": tz}
                                       for c, tz in zones.items()])
        conn.execute(insert(municipalities), [
            {"code": m, "region_code": m.split("-")[0], "name": m, "timezone": tz}
            for m, tz in muni_tz.items()])
        conn.execute(insert(schools), rows)
        insert_machines(conn, mrows)
    with db.read() as conn:
        got = late_by_region(conn, NOW, policies)
    db.dispose()
    assert sum(expected.values()) > 50
    assert got == dict(expected)

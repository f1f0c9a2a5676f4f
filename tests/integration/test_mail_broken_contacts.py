"""Broken contacts per region: bounced people holding a role in the region, its municipalities
or its schools (the query the dashboard's country page and workflow use)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from storage.models import assignments, people, regions
from storage.outbox import bounces, broken_contacts_by_region
from tests.mailkit import T0, new_db, seed
from web.progress import broken_contacts


def test_bounced_coordinator_and_school_admin_show_under_their_region(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    seed(db, schools_n=2)  # region 77: rc@, mc@ (M1), admin1@ and admin2@ (S1, S2), pm@ global
    with db.write() as conn:
        conn.execute(insert(regions).values(code="50", name="Московская область",
                                            timezone="Europe/Moscow"))
        conn.execute(insert(people).values(email="rc50@example.org", name="Подмосковная Ольга"))
        conn.execute(insert(assignments).values(email="rc50@example.org",
                                                role="regional_coordinator", scope="50",
                                                since=T0))
        conn.execute(insert(bounces), [
            {"email": e, "at": T0, "error": "550 no such user"}
            for e in ("rc@example.org", "admin2@example.org", "pm@example.org",
                      "nobody@example.org")])
    with db.read() as conn:
        assert broken_contacts_by_region(conn) == {
            "77": ["admin2@example.org", "rc@example.org"]}
        assert broken_contacts(conn) == {"77": 2}
    db.dispose()

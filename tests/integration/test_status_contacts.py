"""A bounced address shows up in `status` as a broken contact."""

from __future__ import annotations

from sqlalchemy import insert

from storage.outbox import bounces
from tests.builders import World


def test_bounced_coordinator_is_a_broken_contact(world: World) -> None:
    """After a permanent failure, the region's status marks its coordinator's address broken."""
    world.standard()
    with world.services.db.write() as conn:
        conn.execute(insert(bounces).values(email="rc@region07.ru", at=world.now,
                                            error="550 5.1.1 mailbox unavailable"))
    status = world.status("region", "07")
    person = next(p for p in status["people"] if p["email"] == "rc@region07.ru")
    assert person["broken"] is True
    assert status["broken_contacts"] == [{"email": "rc@region07.ru",
                                          "since": world.now.isoformat(),
                                          "error": "550 5.1.1 mailbox unavailable"}]
    assert world.status("school", "S1")["broken_contacts"] == [
        {"email": "rc@region07.ru", "since": world.now.isoformat(),
         "error": "550 5.1.1 mailbox unavailable"}]


def test_report_lists_broken_contacts_per_region(world: World) -> None:
    """The national report names, per region, the addresses whose mail bounces."""
    from workflow import report

    world.standard()
    world.region("41", "Камчатский край", "Asia/Kamchatka")
    with world.services.db.write() as conn:
        conn.execute(insert(bounces).values(email="rc@region07.ru", at=world.now,
                                            error="550 no such user"))
    with world.services.db.read() as conn:
        data = report.national(conn)
        regional = report.regional(conn, "07")
    assert {r["code"]: r["broken_contacts"] for r in data["regions"]} == {
        "07": ["rc@region07.ru"], "41": []}
    assert regional["region"]["broken_contacts"] == ["rc@region07.ru"]

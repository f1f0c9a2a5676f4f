"""The weekly digest: one per program manager per week, with the progress and the late regions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from notifications.relay import deliver
from storage.outbox import outbox
from tests.builders import World
from tests.mailkit import mail_settings, smtp_server
from workflow import mail


def _digests(world: World) -> list[dict]:
    with world.services.db.read() as conn:
        q = select(outbox.c.recipients, outbox.c.subject, outbox.c.body_text).where(
            outbox.c.kind == "digest").order_by(outbox.c.id)
        return [dict(r._mapping) for r in conn.execute(q)]


def test_digest_once_a_week_with_late_regions(world: World) -> None:
    """Program managers (and auditors) get one digest a week naming the region whose schools
    are late."""
    world.standard().through_step3()
    monday = world.now + timedelta(days=27)  # 2026-09-28, four weeks on: step 4 is late
    assert mail.digest(world.services, monday) == 2  # the program manager and the auditor
    assert mail.digest(world.services, monday + timedelta(days=2)) == 0  # same week
    sent, _auditors = _digests(world)
    assert sent["recipients"]["to"][0][1] == "pm@minpros.ru"
    assert sent["subject"] == "Еженедельная сводка внедрения ФГИС «Моя школа» на 28.09.2026"
    body = sent["body_text"]
    assert "1 регион, 3 школы; все шаги завершили: 0 школ." in body
    assert "3. Деление школ по муниципалитетам и назначение муниципальных координаторов: 3 из 3" \
        in body
    assert ("Кабардино-Балкарская Республика (код 07): 3 школы с истёкшим сроком; регион на "
            "шаге «Назначение администраторов ОО»") in body
    assert mail.digest(world.services, monday + timedelta(days=7)) == 2  # the next week


def test_auditors_digest_carries_the_anchor(world: World) -> None:
    """The auditor's copy names the history's head, recorded in the anchors table; it verifies
    now and catches a later cut. The program manager's copy has no anchor."""
    from sqlalchemy import delete as sql_delete
    from sqlalchemy import update as sql_update

    from storage import ChainBroken
    from storage.models import anchors, chain_head, events
    from workflow import audit

    world.standard().through_step3()
    assert mail.digest(world.services, world.now) == 2
    manager, auditor = _digests(world)
    assert auditor["recipients"]["to"][0][1] == "auditor@minpros.ru"
    assert "Якорь истории" not in manager["body_text"]
    line = next(x for x in auditor["body_text"].splitlines() if x.startswith("Якорь истории"))
    kept = audit.parse_anchor(line.rsplit(" ", 1)[1], "digest")
    with world.services.db.read() as conn:
        assert conn.execute(select(anchors.c.actor, anchors.c.seq)).one() == (
            "weekly digest", kept.seq)
    with world.services.db.snapshot() as conn:
        assert audit.verify(conn, [kept])[0] == kept.seq
    with world.services.db.write() as conn:  # cut the last event, move the head, drop the table
        conn.execute(sql_delete(events).where(events.c.seq == kept.seq))
        prev = conn.execute(select(events.c.hash).where(events.c.seq == kept.seq - 1)).scalar()
        conn.execute(sql_update(chain_head).values(seq=kept.seq - 1, hash=prev))
        conn.execute(sql_delete(anchors))
    with world.services.db.snapshot() as conn, pytest.raises(ChainBroken, match="anchor|якор"):
        audit.verify(conn, [kept])


def test_digest_tells_the_weeks_changes(world: World) -> None:
    """The digest says what changed in the week: the steps the schools finished, the schools
    whose step fell late in the week, and the regions where nothing moved."""
    world.standard().through_step3()  # Tuesday 1 September: step 4 opens on the three schools
    s = world.services
    s.assign("school_admin", "S1", "admin1@region07.ru", "Админова Анна", "mc1@region07.ru",
             world.now + timedelta(days=6))  # Monday 7 September: S1 finishes step 4
    thursday = world.now + timedelta(days=9)  # 10 September: S2 and S2F are a day late
    assert mail.digest(s, thursday) == 2
    with smtp_server() as (handler, port):  # delivered through a real SMTP server
        deliver(s.db, mail_settings(world.tmp, port), thursday)
    manager = next(m for _, to, m in handler.received if to == ["pm@minpros.ru"])
    body = manager.get_body(("plain",)).get_content()
    html = manager.get_body(("html",)).get_content()
    assert "<li>срок шага истёк у 2 школ<ul>" in html
    assert "Изменения за неделю (03.09.2026 — 10.09.2026):" in body
    assert "- школы выполнили шагов: 1\n  4. Назначение администраторов ОО: 1\n" in body
    assert ("- срок шага истёк у 2 школ\n  Кабардино-Балкарская Республика (код 07): 2\n"
            in body)
    assert "- регионов без движения нет" in body
    # two weeks on: nothing finished since 7 September; S1's steps 5 and 6 fell late this week
    later = thursday + timedelta(days=14)
    assert mail.digest(s, later) == 2
    body = _digests(world)[2]["body_text"]
    assert "- школы не выполнили ни одного шага" in body
    assert "- срок шага истёк у 1 школы\n" in body
    assert ("- регионы без движения 5 рабочих дней и дольше (ни одного выполненного шага):\n"
            "  Кабардино-Балкарская Республика (код 07), последний шаг выполнен 07.09.2026\n"
            in body)

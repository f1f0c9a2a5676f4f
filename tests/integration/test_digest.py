"""The weekly digest: one per program manager per week, with the progress and the late regions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.outbox import outbox
from tests.builders import World
from workflow import mail


def _digests(world: World) -> list[dict]:
    with world.services.db.read() as conn:
        q = select(outbox.c.recipients, outbox.c.subject, outbox.c.body_text).where(
            outbox.c.kind == "digest").order_by(outbox.c.id)
        return [dict(r._mapping) for r in conn.execute(q)]


def test_digest_once_a_week_with_late_regions(world: World) -> None:
    """Program managers get one digest a week naming the region whose schools are late."""
    world.standard().through_step3()
    monday = world.now + timedelta(days=27)  # 2026-09-28, four weeks on: step 4 is late
    assert mail.digest(world.services, monday) == 1
    assert mail.digest(world.services, monday + timedelta(days=2)) == 0  # same week
    [sent] = _digests(world)
    assert sent["recipients"]["to"][0][1] == "pm@minpros.ru"
    assert sent["subject"] == "Еженедельная сводка внедрения ФГИС «Моя школа» на 28.09.2026"
    body = sent["body_text"]
    assert "1 регион, 3 школы; все шаги завершили: 0 школ." in body
    assert "3. Деление школ по муниципалитетам и назначение муниципальных координаторов: 3 из 3" \
        in body
    assert ("Кабардино-Балкарская Республика (код 07): 3 школы с истёкшим сроком; регион на "
            "шаге «Назначение администраторов ОО»") in body
    assert mail.digest(world.services, monday + timedelta(days=7)) == 1  # the next week

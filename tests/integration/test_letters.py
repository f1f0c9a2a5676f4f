"""Every letter kind, for a region, a municipality and a school, with and without optional data."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from notifications.deferred import Renderer
from storage.outbox import outbox
from tests.builders import SUPPORT, World
from workflow import mail
from workflow.errors import InvalidInput

# What the issue quoted from the first letters; none may come back.
BAD = ("от региона", "(код 07)", "не указан", "(ей)", "Эскалация", "подведомственных",
       "внести в систему", "Назначил(а)", "ждёт отметки о выполнении", "Здравствуйте, Тхагапсоева",
       "Не хватает")
DETAILS = {"position": "начальник отдела цифровизации",
           "organisation": "Министерство просвещения КБР", "phone": "+7 8662 40-12-34"}


def nested_quotes(text: str) -> bool:
    """True if a «…» opens inside another «…» (inner quotes must be „лапки“)."""
    depth = 0
    for ch in text:
        if ch == "«":
            depth += 1
            if depth > 1:
                return True
        elif ch == "»":
            depth = max(0, depth - 1)
    return False


def clean(text: str) -> None:
    text = re.sub(r"<[^>]+>", "", text)  # HTML: the words a reader sees
    for phrase in BAD:
        assert phrase not in text, phrase
    assert not nested_quotes(text), text
    assert not re.search(r"(Должность|Организация|Телефон|почта):[ \t]*(\n|$)", text)


def outbox_rows(world: World, kind: str) -> list[dict[str, Any]]:
    with world.services.db.read() as conn:
        q = select(outbox).where(outbox.c.kind == kind).order_by(outbox.c.id)
        rows = [dict(r._mapping) for r in conn.execute(q)]
    render = Renderer(world.services.config.mail)  # reminders are rendered when sent
    return [render(r) for r in rows]


def region_with_people(world: World, details: bool) -> World:
    """Region 07 whose regional coordinator is appointed by support (with or without details)."""
    world.region("07")
    world.municipality("0701", "07", "городской округ Нальчик")
    world.school("S1", "07", "0701")
    world.person(SUPPORT, "support", name="Служба технической поддержки")
    extra = DETAILS if details else {}
    world.services.assign("regional_coordinator", "07", "rc@kbr.ru", "Хашев Азамат Муратович",
                          SUPPORT, world.now, extra.get("position"), extra.get("phone"),
                          extra.get("organisation"))
    return world


@pytest.mark.parametrize("details", [True, False], ids=["details", "bare"])
def test_coordinator_letter_reads_as_the_ministry_writes(world: World, details: bool) -> None:
    """Declined region, Reply-To and Cc the coordinator, signature; a missing detail drops."""
    region_with_people(world, details)
    letter = mail.render_letter(world.services, "coordinator", "07")
    text = letter.rendered.text
    assert letter.rendered.subject == ("Заявка на подключение регионального координатора от "
                                       "Кабардино-Балкарской Республики")
    assert text.startswith("Уважаемые коллеги!\n")
    assert "внедрения от Кабардино-Балкарской Республики:" in text
    assert letter.to == [("", "vv.savchenko@mgou.ru")]
    assert letter.cc == letter.reply_to == [("Хашев Азамат Муратович", "rc@kbr.ru")]
    clean(text)
    clean(letter.rendered.html)
    if details:
        assert "Должность: начальник отдела цифровизации\n" in text
        assert "Телефон: +7 8662 40-12-34\n" in text
        assert text.endswith("С уважением,\nНачальник отдела цифровизации Министерства "
                             "просвещения КБР\nА.М. Хашев\nrc@kbr.ru, тел. +7 8662 40-12-34\n")
    else:
        assert "Должность" not in text and "Телефон" not in text and "Организация" not in text
        assert text.endswith("С уважением,\nА.М. Хашев\nrc@kbr.ru\n")


def test_registry_request_and_its_refusal_when_empty(memory_world: World) -> None:
    """The request to support lists the reconciliation's changes and is signed; without a
    reconciliation it is refused."""
    from workflow.reconcile.service import sample_list

    world = region_with_people(memory_world, True)
    with pytest.raises(InvalidInput, match="the registry has not been reconciled yet"):
        mail.render_letter(world.services, "registry", "07")
    listed = sample_list(world.services, "07", world.tmp / "list.xlsx")
    from workflow.reconcile.service import reconcile

    reconcile(world.services, "07", listed, world.now, actor="rc@kbr.ru")
    letter = mail.render_letter(world.services, "registry", "07")
    text = letter.rendered.text
    assert letter.rendered.subject == ("Сверка реестра ОО: запрос на изменение реестра "
                                       "Кабардино-Балкарской Республики")
    assert "По итогам сверки реестра образовательных организаций Кабардино-Балкарской " \
           "Республики (сверка № 1) просим внести изменения в реестр ФГИС «Моя школа»" in text
    assert "в ней 2 изменения:\n- добавить: МКОУ «СОШ № 7», ИНН 0790000008" in text
    assert "- удалить: Школа S1\n" in text
    assert letter.cc == letter.reply_to == [("Хашев Азамат Муратович", "rc@kbr.ru")]
    assert "А.М. Хашев" in text
    clean(text)
    world.region("66", "Свердловская область")
    world.services.assign("regional_coordinator", "66", "rc@sverdl.ru", "Белова Марина Сергеевна",
                          SUPPORT, world.now)
    with pytest.raises(InvalidInput, match="the registry has not been reconciled yet"):
        mail.render_letter(world.services, "registry", "66")


def test_appointment_notices_for_region_municipality_and_school(memory_world: World) -> None:
    """Greeting by name and patronymic, the place declined, first steps with due dates and
    links, the appointer as contact and Reply-To."""
    world = region_with_people(memory_world, True)
    s = world.services
    s.assign("municipal_coordinator", "0701", "mk@kbr.ru", "Тхагапсоева Лиана Хасановна",
             "rc@kbr.ru", world.now)
    s.assign("school_admin", "S1", "admin@s1.ru", "Коваленко Олег Ильич", "mk@kbr.ru", world.now,
             "директор", None, "МКОУ «СОШ № 1» г.о. Нальчик")
    region, muni, school = outbox_rows(world, "appointed")
    for row in (region, muni, school):
        clean(row["body_text"])
        clean(row["body_html"])
    assert region["subject"] == "О назначении региональным координатором внедрения ФГИС «Моя школа»"
    assert region["body_text"].startswith("Уважаемый Азамат Муратович!\n")
    assert "Вы назначены региональным координатором внедрения ФГИС «Моя школа» в " \
           "Кабардино-Балкарской Республике." in region["body_text"]
    # T0 is Tuesday 1 September 2026; step 2 has 10 business days
    assert "Шаг 2 «Внесение данных о школах в систему и сверка реестра ОО», срок до 15.09.2026 " \
           "(10 рабочих дней)." in region["body_text"]
    assert "https://myschool.guppros.ru/poleznye-materialy/shablony-faylov/" in region["body_text"]
    assert "Страница для работы: http://127.0.0.1:8080/regions/07" in region["body_text"]
    assert region["recipients"]["reply_to"] == [["Служба технической поддержки", SUPPORT]]

    text = muni["body_text"]
    assert text.startswith("Уважаемая Лиана Хасановна!\n")
    assert "муниципальным координатором внедрения ФГИС «Моя школа» в городском округе Нальчик " \
           "(Кабардино-Балкарская Республика)." in text
    assert "срок до 08.09.2026 (5 рабочих дней)" in text
    assert "/municipalities/0701" in text
    assert "По вопросам внедрения обращайтесь: Хашев Азамат Муратович, начальник отдела " \
           "цифровизации, rc@kbr.ru, тел. +7 8662 40-12-34. Ответ на это письмо получит " \
           "А.М. Хашев." in text
    assert muni["recipients"]["reply_to"] == [["Хашев Азамат Муратович", "rc@kbr.ru"]]

    text = school["body_text"]
    assert text.startswith("Уважаемый Олег Ильич!\n")
    assert school["subject"] == ("О назначении администратором образовательной организации в "
                                 "ФГИС «Моя школа»")
    assert "Вы назначены администратором образовательной организации Школа S1 (код ОО S1, " \
           "Кабардино-Балкарская Республика) в ФГИС «Моя школа»." in text
    assert "Первоочередные задачи:" in text and "Шаг 5 «" in text and "Шаг 6 «" in text
    assert "Шаблон файла импорта педагогов: https://" in text
    assert "/schools/S1" in text
    assert "Тхагапсоева" in text and "Л.Х. Тхагапсоева" in text  # the contact, not the greeting


def test_reminder_and_escalation_wording_by_role(memory_world: World) -> None:
    """A municipal coordinator reads about the schools of their municipality; the level above
    gets «Контроль исполнения»; plurals, due dates and the step's page are right."""
    world = memory_world.standard()
    world.school("S3", "07", "0701")
    world.through_step3()
    world.services.assign("school_admin", "S1", "admin1@region07.ru", "Коваленко Олег Ильич",
                          "mc1@region07.ru", world.now)
    at = world.now + timedelta(days=30)  # Thursday 1 October 2026, 10:00 in Moscow
    mail.remind(world.services, at)
    reminders = {r["recipients"]["to"][0][1]: r for r in outbox_rows(world, "reminder")}
    escalations = {r["recipients"]["to"][0][1]: r for r in outbox_rows(world, "escalation")}
    mc1 = reminders["mc1@region07.ru"]["body_text"]
    clean(mc1)
    assert "за который отвечаете Вы:\n\n1. Школа S3 (код ОО S3)\n" in mc1
    # S1's teachers and classes are open side by side, both late
    assert "Кроме того, истёк срок в школах Вашего муниципалитета (2 шага); напоминания " \
           "ответственным уже направлялись." in mc1
    assert mc1.index("Шаг 5 «Внесение или загрузка") < mc1.index("Шаг 6 «Внесение данных")
    assert "Не выполнено: у школы S3 не назначен администратор ОО." in mc1
    assert "Отвечает: администратор ОО (Коваленко Олег Ильич)." in mc1
    assert "Напоминание повторяется раз в 3 рабочих дня, пока шаги не выполнены." in mc1
    assert reminders["mc1@region07.ru"]["subject"] == (
        "Напоминание: истёк срок выполнения 3 шагов внедрения ФГИС «Моя школа»")
    admin = reminders["admin1@region07.ru"]["body_text"]
    assert admin.startswith("Уважаемый Олег Ильич!\n")
    assert "Срок: до 15.09.2026 (10 рабочих дней с 01.09.2026), просрочено на 12 рабочих дней." \
        in admin
    assert "Страница: http://127.0.0.1:8080/schools/S1" in admin
    rc = escalations["rc@region07.ru"]
    clean(rc["body_text"])
    assert rc["subject"].startswith("Контроль исполнения: истёк срок выполнения ")
    assert "в муниципалитетах и школах Вашего региона" in rc["body_text"]


def test_placeholder_addresses_are_warned_about(memory_world: World) -> None:
    """support.email left at example.org warns for the registry request, not the other letter."""
    assert mail.letter_warnings(memory_world.services, "coordinator") == []
    [warning] = mail.letter_warnings(memory_world.services, "registry")
    assert "support.email = support@example.org" in warning and "placeholder" in warning


def test_coordinator_letter_reaches_operator_and_coordinator_over_smtp(tmp_path: Path) -> None:
    """Through a real SMTP server: the coordinator is in the envelope and in Cc; Reply-To them."""
    from tests.conftest import T0, make_services
    from tests.mailkit import smtp_server

    with smtp_server() as (handler, port):
        services = make_services(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, mail={
            "transport": "smtp", "smtp": {"host": "127.0.0.1", "port": port, "timeout_s": 5}})
        region_with_people(World(services, tmp_path, T0), True)
        mail.queue_letter(services, "coordinator", "07", T0, "rc@kbr.ru")
        assert mail.deliver_outbox(services, T0).sent == 2  # the appointment and the letter
        services.db.dispose()
    [(sender, rcpts, msg)] = [m for m in handler.received if "Заявка" in m[2]["Subject"]]
    assert sorted(rcpts) == ["rc@kbr.ru", "vv.savchenko@mgou.ru"]
    assert msg["Cc"].addresses[0].addr_spec == msg["Reply-To"].addresses[0].addr_spec == \
        "rc@kbr.ru"
    assert "Кабардино-Балкарской Республики" in msg["Subject"]
    # the sender's Cyrillic name arrives whole (folding at 78 split «школа» into «школ а»)
    assert msg["From"].addresses[0].display_name == "Внедрение ФГИС «Моя школа»"

"""Russian for letters: declined names of all 89 regions, greetings, initials, plurals, quotes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from notifications import russian
from tests.unit.ru_regions import regions_89

REGIONS = regions_89()


def test_the_list_has_the_89_subjects_once_each() -> None:
    """The reference list is complete: 89 codes, 89 names, none repeated."""
    assert len(REGIONS) == 89
    assert len({r[0] for r in REGIONS}) == len({r[1] for r in REGIONS}) == 89


@pytest.mark.parametrize("code,name,genitive,prepositional", REGIONS,
                         ids=[r[0] for r in REGIONS])
def test_every_region_declines(code: str, name: str, genitive: str, prepositional: str) -> None:
    """«от Кабардино-Балкарской Республики», «в Свердловской области» for each of the 89."""
    assert russian.genitive(name) == genitive
    assert russian.prepositional(name) == prepositional


@pytest.mark.parametrize("name,genitive,prepositional", [
    ("Москва", "Москвы", "в Москве"),
    ("город Москва", "города Москвы", "в городе Москве"),
    ("Санкт-Петербург", "Санкт-Петербурга", "в Санкт-Петербурге"),
    ("Севастополь", "Севастополя", "в Севастополе"),
    ("Чувашская Республика - Чувашия", "Чувашской Республики — Чувашии",
     "в Чувашской Республике — Чувашии"),
    ("Ханты-Мансийский автономный округ – Югра", "Ханты-Мансийского автономного округа — Югры",
     "в Ханты-Мансийском автономном округе — Югре"),
    ("Республика Татарстан", "Республики Татарстан", "в Республике Татарстан"),
    ("  Кемеровская   область  -  Кузбасс ", "Кемеровской области — Кузбасса",
     "в Кемеровской области — Кузбассе"),
])
def test_names_as_coordinators_type_them(name: str, genitive: str, prepositional: str) -> None:
    """Short forms, hyphens or en dashes for the em dash and stray spaces come out right too."""
    assert russian.genitive(name) == genitive
    assert russian.prepositional(name) == prepositional


@pytest.mark.parametrize("name,prepositional", [
    ("городской округ Нальчик", "в городском округе Нальчик"),
    ("Баксанский муниципальный район", "в Баксанском муниципальном районе"),
    ("Ирбитский муниципальный округ", "в Ирбитском муниципальном округе"),
])
def test_municipalities_decline_with_their_names_kept(name: str, prepositional: str) -> None:
    """The kind of municipality declines; the name after it stays (apposition)."""
    assert russian.prepositional(name, "муниципальном образовании") == prepositional


def test_a_name_the_rules_cannot_decline_is_quoted_after_a_noun() -> None:
    """An abbreviation first is never mangled: it stays whole, in quotes after a noun."""
    assert russian.decline("ГАОУ ДПО «ИРО»", "gent") is None
    assert russian.prepositional("МО «Город»", "муниципальном образовании") == \
        "в муниципальном образовании «МО „Город“»"


@pytest.mark.parametrize("name,greeting", [
    ("Тхагапсоева Лиана Хасановна", "Уважаемая Лиана Хасановна!"),
    ("Коваленко Олег Ильич", "Уважаемый Олег Ильич!"),
    ("Кузьмина Анна Ильинична", "Уважаемая Анна Ильинична!"),
    ("Мамедов Али Гасан оглы", "Уважаемый Али Гасан оглы!"),
    ("Алиева Лейла Рашид кызы", "Уважаемая Лейла Рашид кызы!"),
    ("Ким Виктор Енхо", "Здравствуйте, Виктор Енхо!"),
    ("Петров Пётр", "Здравствуйте, Пётр Петров!"),
    ("Служба технической поддержки", "Уважаемые коллеги!"),
    ("", "Уважаемые коллеги!"),
    ("Админ 1", "Здравствуйте!"),
])
def test_greeting_from_the_patronymic(name: str, greeting: str) -> None:
    """Gender from the patronymic; without one, «Здравствуйте, Имя …!»; never the surname first."""
    assert russian.greeting(name) == greeting


def test_initials_and_signature_with_and_without_details() -> None:
    """Position with the organisation in the genitive, then «И.О. Фамилия»; missing lines drop."""
    full = {"name": "Хашев Азамат Муратович", "position": "начальник отдела цифровизации",
            "organisation": "Министерство просвещения КБР"}
    assert russian.signature(full) == [
        "Начальник отдела цифровизации Министерства просвещения КБР", "А.М. Хашев"]
    assert russian.signature({"name": "Хашев Азамат Муратович"}) == ["А.М. Хашев"]
    assert russian.signature({"name": "Хашев Азамат Муратович", "organisation": "ГАОУ ДПО «ИРО»"}
                             ) == ["ГАОУ ДПО «ИРО»", "А.М. Хашев"]
    already = {"name": "Белова Марина Сергеевна",
               "position": "Консультант Министерства образования Камчатского края",
               "organisation": "Министерство образования Камчатского края"}
    assert russian.signature(already)[0] == "Консультант Министерства образования Камчатского края"
    assert russian.initials("Мамедов Али Гасан оглы") == "А.Г. Мамедов"


@pytest.mark.parametrize("n,word,text", [
    (1, "шаг", "1 шаг"), (2, "шаг", "2 шага"), (5, "шаг", "5 шагов"), (11, "шаг", "11 шагов"),
    (21, "шаг", "21 шаг"), (3, "рабочий день", "3 рабочих дня"),
    (5, "рабочий день", "5 рабочих дней"), (22, "рабочий день", "22 рабочих дня"),
    (1, "шага", "1 шага"), (2, "шага", "2 шагов"), (0, "школа", "0 школ"),
])
def test_plurals_by_cldr(n: int, word: str, text: str) -> None:
    """Babel's CLDR categories pick the form: never «дня(ей)»."""
    assert russian.plural(n, word) == text


def test_quotes_nest_as_lapki_inside_yolochki() -> None:
    """МБОУ „Гимназия № 4“ inside «…»; straight quotes too; dates as «до ДД.ММ.ГГГГ»."""
    from datetime import date

    assert russian.quote("МБОУ «Гимназия № 4»") == "«МБОУ „Гимназия № 4“»"
    assert russian.quote('МБОУ "СОШ № 1"') == "«МБОУ „СОШ № 1“»"
    assert russian.due(date(2026, 10, 15)) == "до 15.10.2026"


def test_guard_reasons_read_as_one_line() -> None:
    """The step's title is dropped (the line names it) and the first colon becomes a dash."""
    assert russian.condition("педагоги: загружено 0 из 40, нужно 40") == \
        "педагоги — загружено 0 из 40, нужно 40"
    assert russian.condition("Назначение администраторов ОО: у школы 1 не назначен "
                             "администратор ОО", "Назначение администраторов ОО") == \
        "у школы 1 не назначен администратор ОО"


def test_morphology_loads_only_when_a_name_is_declined() -> None:
    """Rendering a reminder never loads pymorphy3 (a second and 25 MB); a region letter does."""
    code = (
        "import sys\n"
        "from notifications.render import templates\n"
        "from notifications import russian\n"
        "t = templates()\n"
        "ctx = {'person': {'name': 'Тхагапсоева Лиана Хасановна', 'email': 'a@b.ru',"
        " 'role': 'school_admin'}, 'own': [], 'escalated': [], 'repeat_every_days': 3,"
        " 'links': {'base_url': 'http://x', 'materials': {}}}\n"
        "assert 'Уважаемая Лиана Хасановна!' in t.render('reminder', ctx).text\n"
        "print('pymorphy3' in sys.modules, end=' ')\n"
        "russian.genitive('Свердловская область')\n"
        "print('pymorphy3' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False True"

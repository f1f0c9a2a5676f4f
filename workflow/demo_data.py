"""The demo's sample registry: three regions in different time zones, as coordinators send it."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

REGIONS = [
    # code, name, time zone
    ("07", "Кабардино-Балкарская Республика", "Europe/Moscow"),
    ("66", "Свердловская область", "Asia/Yekaterinburg"),
    ("41", "Камчатский край", "Asia/Kamchatka"),
]
MUNICIPALITIES = [
    ("07", "0701", "городской округ Нальчик"),
    ("07", "0702", "Баксанский муниципальный район"),
    ("07", "0703", "Чегемский муниципальный район"),
    ("66", "6601", "городской округ Екатеринбург"),
    ("66", "6602", "городской округ Нижний Тагил"),
    ("66", "6603", "Ирбитский муниципальный округ"),
]
# region, municipality, code, name, inn, kpp, parent, teachers, classes, students
SCHOOLS = [
    ("07", "0701", "070101", "МКОУ «СОШ № 1» г.о. Нальчик", "0711034448", "072501001", "", 48, 30, 720),
    ("07", "0701", "070102", "МКОУ «Гимназия № 4» г.о. Нальчик", "0711038925", "072501002", "", 55, 33, 810),
    ("07", "0701", "070103", "МКОУ «Лицей № 2» г.о. Нальчик", "", "", "", 41, 26, 600),
    ("07", "0702", "070201", "МКОУ «СОШ № 1» г. Баксан", "", "", "", 36, 22, 480),
    ("07", "0702", "070202", "МКОУ «СОШ с. Кишпек»", "", "", "", 18, 11, 190),
    ("07", "0702", "070202F", "Филиал МКОУ «СОШ с. Кишпек» в с. Псычох", "", "", "070202", 6, 4, 45),
    ("07", "0703", "070301", "МКОУ «СОШ № 1» г. Чегем", "", "", "", 30, 20, 420),
    ("07", "0703", "070302", "МКОУ «СОШ с. Шалушка»", "", "", "", 22, 14, 260),
    ("66", "6601", "660101", "МАОУ СОШ № 23 г. Екатеринбург", "", "", "", 70, 40, 1150),
    ("66", "6601", "660102", "МАОУ Гимназия № 9 г. Екатеринбург", "", "", "", 85, 45, 1300),
    ("66", "6601", "660103", "МАОУ Лицей № 110 г. Екатеринбург", "", "", "", 64, 36, 980),
    ("66", "6602", "660201", "МБОУ СОШ № 32 г. Нижний Тагил", "", "", "", 44, 27, 640),
    ("66", "6602", "660202", "МБОУ СОШ № 10 г. Нижний Тагил", "", "", "", 39, 24, 560),
    ("66", "6603", "660301", "МОУ «Пионерская СОШ»", "", "", "", 21, 12, 230),
    ("66", "6603", "660301F", "Филиал МОУ «Пионерская СОШ» — Дубская ООШ", "", "", "660301", 7, 5, 52),
    ("41", "", "410001", "МАОУ «СШ № 1» г. Петропавловск-Камчатский", "", "", "", 52, 31, 760),
    ("41", "", "410002", "МБОУ «Елизовская СШ № 3»", "", "", "", 38, 23, 540),
    ("41", "", "410003", "МБОУ «Мильковская СШ № 1»", "", "", "", 24, 15, 300),
    ("41", "", "410003F", "Филиал МБОУ «Мильковская СШ № 1» в с. Долиновка", "", "", "410003", 5, 4, 31),
]
SUPPORT = ("support@myschool-operator.ru", "Служба технической поддержки", "support", "")
PEOPLE = [
    SUPPORT,
    ("pm@minpros.example.ru", "Соколова Анна Викторовна", "program_manager", ""),
    ("audit@minpros.example.ru", "Кузнецов Олег Петрович", "auditor", ""),
    ("rc@kbr.example.ru", "Хашев Азамат Муратович", "regional_coordinator", "07"),
    ("rc@sverdl.example.ru", "Белова Марина Сергеевна", "regional_coordinator", "66"),
    ("rc@kamchatka.example.ru", "Петренко Илья Андреевич", "regional_coordinator", "41"),
]
# position, organisation (letters sign with the organisation in the genitive), phone
POSITIONS = {
    "rc@kbr.example.ru": ("Начальник отдела цифровизации", "Министерство просвещения КБР",
                          "+7 8662 40-12-34"),
    "rc@sverdl.example.ru": ("Заместитель директора",
                             "Институт развития образования Свердловской области",
                             "+7 343 369-29-01"),
    "rc@kamchatka.example.ru": ("Консультант", "Министерство образования Камчатского края",
                                "+7 4152 42-00-11"),
}
MUNICIPAL_COORDINATORS = {
    "0701": ("mk.nalchik@kbr.example.ru", "Тхагапсоева Лиана Хасановна"),
    "0702": ("mk.baksan@kbr.example.ru", "Жигунов Руслан Асланович"),
    "0703": ("mk.chegem@kbr.example.ru", "Кодзокова Мадина Борисовна"),
    "6601": ("mk.ekb@sverdl.example.ru", "Смирнов Дмитрий Олегович"),
    "6602": ("mk.ntagil@sverdl.example.ru", "Громова Елена Ивановна"),
    "6603": ("mk.irbit@sverdl.example.ru", "Ершов Николай Петрович"),
}


def write_files(data: Path) -> dict[str, Path]:
    """Write the sample files as coordinators send them: Excel CSV in Windows-1251 with ';'."""
    data.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[list[str], Sequence[Sequence[object]]]] = {
        "regions": (["Код", "Наименование", "Часовой пояс"], REGIONS),
        "municipalities": (["Регион", "Код", "Наименование"], MUNICIPALITIES),
        "schools": (["Регион", "Муниципалитет", "Код ОО", "Наименование", "ИНН", "КПП",
                     "Головная ОО", "Педагогов", "Классов", "Учащихся"], SCHOOLS),
        "people": (["Эл. почта", "ФИО", "Роль", "Область", "Должность", "Организация",
                    "Телефон"], [(*p, *POSITIONS.get(p[0], ("", "", ""))) for p in PEOPLE]),
    }
    paths = {}
    for kind, (header, rows) in files.items():
        path = data / f"{kind}.csv"
        with path.open("w", encoding="cp1251", newline="") as f:
            w = csv.writer(f, delimiter=";")
            w.writerow(header)
            w.writerows(rows)
        paths[kind] = path
    return paths


def write_metrics(data: Path, name: str,
                  shares: dict[str, float | tuple[float, float, float, float]]) -> Path:
    """A metrics file: each school's counts as a share of what is expected (UTF-8 with BOM).

    A share is one number (teachers run ahead of classes, classes of parents and students) or
    four, one per metric in that order.
    """
    path = data / name
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["Код ОО", "Педагоги", "Классы", "Законные представители", "Учащиеся"])
        for _, _, code, _, _, _, _, teachers, classes, students in SCHOOLS:
            share = shares.get(code, shares.get("*", 0.0))
            step_shares = ([min(1.0, share * k) for k in (1.6, 1.3, 1.0, 0.9)]
                           if isinstance(share, float) else list(share))
            expected = (teachers, classes, students, students)
            w.writerow([code, *(int(e * s) for e, s in zip(expected, step_shares, strict=True))])
    return path

"""A region's registry and its coordinator's own lists as they come (reconciliation tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.builders import SUPPORT, World

RC = "rc@region07.ru"
INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn(serial: int) -> str:
    """A school's ИНН in region 07 with a right check digit (the importer checks it)."""
    base = f"0711000{serial:02d}"
    return base + str(sum(int(d) * w for d, w in zip(base, INN_WEIGHTS, strict=True)) % 11 % 10)


def ogrn(serial: int) -> str:
    """An ОГРН with a right check digit (the first twelve digits mod 11, mod 10)."""
    base = f"1020700000{serial:02d}"
    return base + str(int(base) % 11 % 10)

MUNICIPALITIES = {"0701": "городской округ Нальчик", "0702": "Баксанский муниципальный район",
                  "0703": "Чегемский муниципальный район"}
# The registry as support entered it: code, name, ИНН, КПП, municipality, main school.
REGISTRY = [
    ("070101", "МБОУ «Гимназия № 4»", inn(1), "072501001", "0701", ""),
    ("070102", "МКОУ «СОШ № 1» с.п. Кишпек", inn(2), "071001001", "0702", ""),
    ("070103", "МКОУ «СОШ № 3» с. Исламей", inn(3), "071001001", "0702", ""),
    ("070104", "МОУ «Лицей № 2»", inn(4), "072501001", "0701", ""),
    ("070105", "Филиал МБОУ «Гимназия № 4» в с. Хасанья", inn(1), "072502001", "0701",
     "070101"),
    ("070106", "МКОУ «СОШ № 1» с. Чегем", "", "", "0703", ""),
]
LIST_HEADER = ["№ п/п", "ИНН", "КПП", "ОГРН", "Полное наименование", "Краткое наименование",
               "Муниципальное образование", "Головная организация (для филиалов)"]
# The region's own list: 070102 moved to Чегем, 070103 closed, 070104 renamed, 070106 gains its
# ИНН/КПП, a new school with its branch, and a row whose municipality is misspelt.
REGION_LIST = [
    ["1", inn(1), "072501001", ogrn(11),
     "Муниципальное бюджетное общеобразовательное учреждение «Гимназия № 4»",
     'МБОУ "Гимназия №4"', "городской округ Нальчик", ""],
    ["2", inn(2), "071001001", ogrn(22), "МКОУ «СОШ № 1» с.п. Кишпек", "",
     "Чегемский муниципальный район", ""],
    ["3", inn(4), "072501001", ogrn(44), "МБОУ «Лицей № 2 имени А.А. Котляровой»",
     "", "городской округ Нальчик", ""],
    ["4", inn(1), "072502001", "", "Филиал МБОУ «Гимназия № 4» в с. Хасанья", "",
     "городской округ Нальчик", "МБОУ «Гимназия № 4»"],
    ["5", inn(6), "070801001", ogrn(66), "МКОУ «СОШ № 1» с. Чегем", "",
     "Чегемский муниципальный район", ""],
    ["6", inn(7), "070801001", ogrn(77), "МКОУ «СОШ № 5» с. Чегем", "",
     "Чегемский муниципальный район", ""],
    ["7", inn(7), "070802001", "", "Филиал МКОУ «СОШ № 5» в с. Нартан", "",
     "Чегемский муниципальный район", inn(7) + "/070801001"],
    ["8", inn(9), "070101001", ogrn(99), "МКОУ «ООШ № 2» с. Заюково", "",
     "Баксанский р-н", ""],
]


def registry(world: World) -> World:
    """Region 07 with three municipalities, the registry above and its coordinator."""
    world.region("07")
    world.load("municipalities", [{"region": "07", "code": c, "name": n}
                                  for c, n in MUNICIPALITIES.items()])
    rows: list[dict[str, Any]] = []
    for code, name, inn, kpp, muni, parent in REGISTRY:
        rows.append({"region": "07", "municipality": muni, "code": code, "name": name,
                     "inn": inn, "kpp": kpp, "parent": parent, "teachers_expected": 10,
                     "classes_expected": 5, "students_expected": 100})
    world.load("schools", [r for r in rows if not r["parent"]])
    world.load("schools", [r for r in rows if r["parent"]])
    world.person(SUPPORT, "support")
    world.person(RC, "regional_coordinator", "07", name="Тхагапсоева Лиана Хасановна")
    return world


def cp1251_csv(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    """The list as Russian Excel saves «CSV (разделители — точка с запятой)»: Windows-1251, `;`."""
    lines = [";".join(header or LIST_HEADER)] + [";".join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    return path


def merged_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    """The list as a ministry keeps it in Excel: a title merged over the table, group headers
    merged over two rows, extra columns (address, phone), ИНН typed as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "Реестр общеобразовательных организаций Кабардино-Балкарской Республики"
    sheet.merge_cells("A1:J1")
    top = {"A2": "№ п/п", "B2": "Реквизиты", "E2": "Наименование ОО",
           "G2": "Муниципальное образование", "H2": "Головная организация (для филиалов)",
           "I2": "Адрес", "J2": "Телефон"}
    for ref, value in top.items():
        sheet[ref] = value
    for merged in ("A2:A3", "B2:D2", "E2:F2", "G2:G3", "H2:H3", "I2:I3", "J2:J3"):
        sheet.merge_cells(merged)
    for ref, value in {"B3": "ИНН", "C3": "КПП", "D3": "ОГРН", "E3": "полное",
                       "F3": "краткое"}.items():
        sheet[ref] = value
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path

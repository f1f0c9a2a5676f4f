"""A region's own list of schools as a coordinator would send it, made from the registry with
the differences real lists have (a school closed, a new one opened): for the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflow.reconcile.listfile import INN_WEIGHTS
from workflow.reconcile.service import registry_of

HEADER = ("№ п/п", "ИНН", "КПП", "Полное наименование", "Муниципальное образование",
          "Головная организация (для филиалов)", "Адрес")


def _inn(region: str, serial: int) -> str:
    base = f"{region[:2]:0>2}{serial:07d}"
    return base + str(sum(int(d) * w for d, w in zip(base, INN_WEIGHTS, strict=True)) % 11 % 10)


def sample_list(services: Any, region: str, path: Path, new_school: str = "МКОУ «СОШ № 7»"
                ) -> Path:
    """Write the region's list (XLSX, a title row above the header) to `path`: the registry's
    schools, less the last one that has no branches (closed), plus `new_school` (opened)."""
    from openpyxl import Workbook

    with services.db.read() as conn:
        schools, munis = registry_of(conn, region)
    parents = {s.parent for s in schools if s.parent}
    closed = next((s.code for s in reversed(schools) if s.code not in parents and not s.parent),
                  None)
    names = {s.code: s.name for s in schools}
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.append([f"Перечень общеобразовательных организаций (регион {region})"])
    sheet.append(list(HEADER))
    number = 0
    for s in schools:
        if s.code == closed:
            continue
        number += 1
        sheet.append([number, s.inn or "", s.kpp or "", s.name, munis.get(s.municipality or "", ""),
                      names.get(s.parent or "", ""), ""])
    first_muni = next((s.municipality for s in schools if s.municipality), None)
    sheet.append([number + 1, _inn(region, 9_000_000 + number), f"{region[:2]:0>2}0101001",
                  new_school, munis.get(first_muni or "", ""), "", ""])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path

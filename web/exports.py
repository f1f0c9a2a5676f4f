"""The country table as a spreadsheet: the rows on screen (same filters, search and order),
as XLSX or as CSV that Russian Excel opens (storage.spreadsheets writes both)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from starlette.responses import Response

from notifications.calendar import local
from states import STEPS
from storage.spreadsheets import CSV_MIME, XLSX_MIME, csv_text, write_table, xlsx_bytes
from web.lateness import NUMBER
from web.regions_grid import DISTRICTS

FORMATS = ("csv", "xlsx")
HEADER = ["Код", "Регион", "Федеральный округ", "Часовой пояс", "Текущий шаг региона",
          "Шаг региона просрочен, раб. дн.", "Школ", "Прошли все шаги",
          *[f"Шаг {s.number}: выполнили школ" for s in STEPS],
          "Просрочено школ", "Из них ждут регион", "Дольше всех просрочен шаг",
          "Дольше всех, раб. дн.", "Недоставка почты"]
TITLE = "Регионы"


def rows(regions: Sequence[dict[str, Any]]) -> Iterator[list[Any]]:
    """One line per region of the country table, numbers as numbers."""
    for r in regions:
        late = r["lateness"]
        yield [r["code"], r["name"], DISTRICTS.get(r["district"], r["district"]), r["timezone"],
               r["state_title"], late.step_days, r["schools"], r["schools_finished"],
               *[r["steps"].get(s.slug, 0) for s in STEPS],
               late.late, late.held,
               NUMBER[late.worst_step] if late.worst_step else "", late.worst_days,
               r["broken_contacts"]]


SCHOOL_HEADER = ["Код школы", "Школа", "Муниципалитет", "Открытые шаги", "Открыт с",
                 "Просрочен на, раб. дн.", "Что держит"]


def school_rows(group: dict[str, Any]) -> Iterator[list[Any]]:
    """One line per school of a region page's list (all of them, not a page)."""
    for s in group["blocking"]:
        yield [s["code"], s["name"], s["municipality"] or "", s["state_title"],
               local(s["since"], group["region_tz"]).date() if s["since"] else "", s["late_days"],
               "; ".join(s["reasons"])]


def response(header: Sequence[str], lines: Iterable[Sequence[Any]], fmt: str, name: str,
             title: str = TITLE) -> Response:
    """The download of a table as `fmt` (one of FORMATS), as the file `name`.`fmt`."""
    disposition = {"content-disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return Response(csv_text(header, lines).encode("utf-8"),
                        media_type=f"{CSV_MIME}; charset=utf-8", headers=disposition)
    return Response(xlsx_bytes(header, lines, title=title), media_type=XLSX_MIME,
                    headers=disposition)


def write(regions: Sequence[dict[str, Any]], out: Path) -> list[Path]:
    """Both files beside the static snapshot's index.html."""
    paths = []
    for fmt in FORMATS:
        path = out / f"regions.{fmt}"
        write_table(path, fmt, HEADER, rows(regions), title=TITLE)
        paths.append(path)
    return paths

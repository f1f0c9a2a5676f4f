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
from workflow.i18n import N_, _

FORMATS = ("csv", "xlsx")
# The visible column titles follow the reader's language (header()); the order is fixed.
STEP_DONE = N_("Step {number}: schools done")
HEADER = [N_("Code"), N_("Region"), N_("Federal district"), N_("Time zone"),
          N_("Region's current step"), N_("Region's step late, working days"),
          N_("Number of schools"),
          N_("Did all the steps"), *[STEP_DONE] * len(STEPS), N_("Late schools"),
          N_("Of which wait for the region"), N_("Step late the longest"),
          N_("The longest, working days"), N_("Mail not delivered")]
TITLE = N_("Regions")


def header() -> list[str]:
    """The country table's column titles in the reader's language."""
    steps = iter(STEPS)
    return [_(h, number=next(steps).number) if h == STEP_DONE else _(h) for h in HEADER]


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


SCHOOL_HEADER = [N_("School code"), N_("School"), N_("Municipality"), N_("Open steps"),
                 N_("Open since"), N_("Late by, working days"), N_("What holds it")]


def school_header() -> list[str]:
    return [_(h) for h in SCHOOL_HEADER]


def school_rows(group: dict[str, Any]) -> Iterator[list[Any]]:
    """One line per school of a region page's list (all of them, not a page)."""
    for s in group["blocking"]:
        yield [s["code"], s["name"], s["municipality"] or "", s["state_title"],
               local(s["since"], group["region_tz"]).date() if s["since"] else "", s["late_days"],
               "; ".join(s["reasons"])]


def response(header: Sequence[str], lines: Iterable[Sequence[Any]], fmt: str, name: str,
             title: str | None = None) -> Response:
    """The download of a table as `fmt` (one of FORMATS), as the file `name`.`fmt`."""
    disposition = {"content-disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return Response(csv_text(header, lines).encode("utf-8"),
                        media_type=f"{CSV_MIME}; charset=utf-8", headers=disposition)
    return Response(xlsx_bytes(header, lines, title=title or _(TITLE)), media_type=XLSX_MIME,
                    headers=disposition)


def write(regions: Sequence[dict[str, Any]], out: Path) -> list[Path]:
    """Both files beside the static snapshot's index.html."""
    paths = []
    for fmt in FORMATS:
        path = out / f"regions.{fmt}"
        write_table(path, fmt, header(), rows(regions), title=_(TITLE))
        paths.append(path)
    return paths

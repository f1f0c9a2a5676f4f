"""Issue 12 item 5 as regression tests: names typed as formulas come out of the report's CSV and
XLSX and out of the registry request's attachment as text, in the format Russian Excel opens."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from notifications.letters import render_region_letter
from storage import spreadsheets
from tests.builders import World
from workflow import render
from workflow import report as report_mod

FORMULAS = ['=HYPERLINK("http://evil.example","Открыть")', "+1+cmd|' /C calc'!A0", "@SUM(1)",
            "-2+3"]


def formula_schools(world: World) -> World:
    """Region 07 with a coordinator and one school per formula-shaped name."""
    world.region("07", name="=1+1 Республика")
    world.load("schools", [{"region": "07", "code": f"S{i}", "name": name,
                            "teachers_expected": 1, "classes_expected": 1,
                            "students_expected": 1} for i, name in enumerate(FORMULAS)])
    world.person("rc@region07.ru", "regional_coordinator", "07")
    return world


def test_the_registry_attachment_neutralises_formulas(world: World) -> None:
    """The XLSX request attached to the registry letter: every formula name is a text cell."""
    from workflow.reconcile.service import reconcile

    formula_schools(world)
    listed = world.tmp / "list.csv"  # the region's list has none of them: all to remove
    listed.write_text("ИНН;КПП;Наименование\n0790000008;070101001;МКОУ «СОШ № 7»\n",
                      encoding="utf-8-sig")
    reconcile(world.services, "07", listed, world.now, actor="rc@region07.ru")
    with world.services.db.read() as conn:
        letter = render_region_letter(conn, "registry", "07", world.services.config.mail)
    [attachment] = letter.rendered.attachments
    assert attachment.data is not None
    sheet = openpyxl.load_workbook(io.BytesIO(attachment.data)).active
    assert sheet is not None
    names = {r[5] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert {"'" + f for f in FORMULAS} <= names


def test_the_report_neutralises_formulas_in_csv_and_xlsx(world: World, tmp_path: Path) -> None:
    """`report --format csv|xlsx`: a region or school named like a formula is a text cell."""
    formula_schools(world)
    with world.services.db.read() as conn:
        national, regional = report_mod.national(conn), report_mod.regional(conn, "07")
    header, rows = render.national_rows(national)
    text = spreadsheets.csv_text(header, rows)
    parsed = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert parsed[1][:2] == ["07", "'=1+1 Республика"]
    header, rows = render.regional_rows(regional)
    spreadsheets.write_table(tmp_path / "r.xlsx", "xlsx", header, rows)
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert sheet is not None
    names = [r[2] for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "school"]
    assert names == ["'" + f for f in FORMULAS]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)

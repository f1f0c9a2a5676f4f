"""Every file the project writes for a spreadsheet: formula cells come out as text, CSV opens in
Russian Excel (UTF-8 with BOM, `;`), XLSX keeps numbers as numbers and codes as text."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from storage import spreadsheets

HOSTILE = ['=HYPERLINK("http://evil","нажми")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)",
           "\tтаб", "\rвозврат"]
HEADER = ["code", "name", "teachers"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_formula_cell_gets_a_leading_quote(cell: str) -> None:
    """Each of = + - @ tab CR at the start makes a cell a formula; it is written as text."""
    assert spreadsheets.safe_text(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["07", "МБОУ «СОШ № 1»", "a=b", "1-2", ""])
def test_ordinary_text_is_left_alone(cell: str) -> None:
    """Only the first character matters; ordinary text is written as it is."""
    assert spreadsheets.safe_text(cell) == cell


def test_csv_is_utf8_with_bom_and_semicolons(tmp_path: Path) -> None:
    """The CSV starts with a BOM, separates with `;`, and every hostile cell reads as text."""
    out = tmp_path / "t.csv"
    n = spreadsheets.write_table(out, "csv", HEADER,
                                 [["07", cell, -3] for cell in HOSTILE] + [["07", "Школа", 12]])
    raw = out.read_bytes()
    assert n == len(HOSTILE) + 1
    assert raw.startswith(b"\xef\xbb\xbfcode;name;teachers\r\n")
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert rows[0] == HEADER
    assert [r[1] for r in rows[1:-1]] == ["'" + c for c in HOSTILE]
    assert rows[1][2] == "-3"  # a negative number is a number, not a formula
    assert rows[-1] == ["07", "Школа", "12"]


def test_xlsx_cells_are_text_or_numbers_never_formulas(tmp_path: Path) -> None:
    """openpyxl would store a string starting with '=' as a formula; ours are text cells."""
    out = tmp_path / "t.xlsx"
    spreadsheets.write_table(out, "xlsx", HEADER, [["07", cell, 5] for cell in HOSTILE],
                             title="Отчёт")
    book = openpyxl.load_workbook(out)
    sheet = book["Отчёт"]
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0] == tuple(HEADER)
    # XML reads a stored CR back as LF; the quote in front is what matters
    assert [r[1] for r in cells[1:]] == ["'" + c.replace("\r", "\n") for c in HOSTILE]
    assert all(sheet.cell(row=i, column=2).data_type == "s" for i in range(2, len(cells) + 1))
    assert cells[1][0] == "07" and cells[1][2] == 5  # a code keeps its zero; a count is a number
    assert sheet.freeze_panes == "A2"


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    """A writer that fails half way leaves the previous file as it was and no part file."""
    out = tmp_path / "t.csv"
    out.write_text("old", encoding="utf-8")

    def rows() -> list[list[object]]:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        spreadsheets.write_table(out, "csv", HEADER, (r for r in rows()))
    assert out.read_text(encoding="utf-8") == "old"
    assert list(tmp_path.iterdir()) == [out]


def test_csv_text_for_an_attachment_is_the_same_format() -> None:
    """The in-memory CSV (a letter's attachment, stdout) is the same BOM, `;` and neutralising."""
    text = spreadsheets.csv_text(HEADER, [["07", "=1+1", 0]])
    assert text == "\ufeffcode;name;teachers\r\n07;'=1+1;0\r\n"

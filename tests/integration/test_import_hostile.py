"""Files as coordinators have them and as an attacker makes them (issues 9 and 12): mixed
encodings, UTF-16, workbooks with titles, extra columns, lost zeros, bombs, huge reports; the same
hostile file refused alike by SQLite and PostgreSQL, naming rows and columns, writing nothing."""

from __future__ import annotations

import itertools
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from storage.models import schools
from tests.builders import World
from tests.integration.test_import_files import (
    SCHOOL_HEADER,
    refused,
    rows_of,
    run,
    write_csv,
    write_xlsx,
)
from workflow.importing import validation
from workflow.importing.xlsx import xlsx_rows

HEAD = ["Регион", "Код ОО", "Наименование", "Педагогов", "Классов", "Учащихся"]


def school(code: str, name: str = "Школа", *counts: object) -> list[object]:
    return ["07", code, name, *(counts or (10, 5, 100))]


# -- encodings -----------------------------------------------------------------------------

@pytest.mark.usefixtures("russian")
def test_utf8_file_with_one_windows_1251_row_is_refused_naming_the_row(world: World) -> None:
    """Not decoded wholly as Windows-1251 (garbling every other row): the odd row is named."""
    world.region("07")
    lines = [";".join(HEAD)] + [";".join(map(str, school(f"S{i}", f"Школа № {i}")))
                                for i in range(1, 6)]
    data = b"".join((line + "\r\n").encode("utf-8") for line in lines[:4])
    data += (";".join(map(str, school("S9", "Гимназия"))) + "\r\n").encode("cp1251")
    data += b"".join((line + "\r\n").encode("utf-8") for line in lines[4:])
    path = world.tmp / "mixed.csv"
    path.write_bytes(data)
    problems = refused(world, "schools", path)
    assert len(problems) == 1 and problems[0].startswith("mixed.csv:5: строка не в UTF-8")


@pytest.mark.usefixtures("russian")
def test_windows_1251_file_with_one_utf8_row_is_refused_naming_the_row(world: World) -> None:
    """The other way round: the first Cyrillic line decides, a UTF-8 row after it is named."""
    world.region("07")
    path = world.tmp / "mixed.csv"
    path.write_bytes(";".join(HEAD).encode("cp1251") + b"\r\n"
                     + ";".join(map(str, school("S1", "Школа"))).encode("utf-8") + b"\r\n")
    assert refused(world, "schools", path) == [
        "mixed.csv:2: строка в UTF-8, а начало файла в Windows-1251 (смешанная кодировка); "
        "сохраните файл заново как «CSV UTF-8» или XLSX"]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_read(world: World, encoding: str) -> None:
    """A UTF-16 file with its BOM (either byte order) imports with Russian headers."""
    world.region("07")
    text = "\r\n".join(";".join(map(str, r)) for r in [HEAD, school("S1", "Школа № 1")])
    path = world.tmp / "u16.csv"
    path.write_bytes(("\ufeff" + text).encode(encoding))
    assert run(world, "schools", path).created == 1
    assert rows_of(world.services, schools)[0]["name"] == "Школа № 1"


@pytest.mark.usefixtures("russian")
def test_utf8_bom_on_windows_1251_text_is_refused_readably(world: World) -> None:
    """A BOM promising UTF-8 over Windows-1251 bytes: a message a person can act on."""
    world.region("07")
    path = world.tmp / "bom1251.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ";".join(HEAD).encode("cp1251") + b"\r\n")
    assert refused(world, "schools", path) == [
        "bom1251.csv:1: файл помечен как UTF-8 (BOM), но строка в Windows-1251; сохраните "
        "файл заново как «CSV UTF-8»"]


# -- workbooks and headers -----------------------------------------------------------------

def test_xlsx_without_its_sheet_part_is_invalid_input(world: World) -> None:
    """A workbook whose sheet XML is missing is refused (it was an IndexError, exit 1)."""
    good = write_xlsx(world.tmp / "good.xlsx", [HEAD, school("S1")])
    broken = world.tmp / "nosheet.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            if "worksheets/sheet" not in item.filename:
                dst.writestr(item, src.read(item.filename))
    problems = refused(world, "schools", broken)
    assert len(problems) == 1 and problems[0].startswith("nosheet.xlsx")


@pytest.mark.usefixtures("russian")
def test_a_title_merged_over_the_columns_is_skipped(world: World) -> None:
    """The header is found below a merged title row; rows keep the numbers Excel shows."""
    world.region("07")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Список общеобразовательных организаций КБР на 01.09.2026"])
    sheet.merge_cells("A1:H1")
    sheet.append([])
    for row in [[*HEAD, "ОГРН", "Адрес"], [*school("S1"), "1027700132195", "г. Нальчик"],
                [*school("S2", "Школа", 10, 5, "сто"), "", ""]]:
        sheet.append(row)
    book.save(world.tmp / "titled.xlsx")
    assert refused(world, "schools", world.tmp / "titled.xlsx") == [
        "titled.xlsx:5: students_expected: 'сто': нужно целое число ≥ 0"]
    sheet.delete_rows(5)
    book.save(world.tmp / "titled.xlsx")
    result = run(world, "schools", world.tmp / "titled.xlsx")
    assert result.created == 1
    assert result.notices == (
        "titled.xlsx: столбцы не используются и пропущены: ОГРН, Адрес",
        "titled.xlsx: заголовок найден в строке 3; строки выше пропущены")


def test_declared_sheet_dimensions_are_not_trusted(world: World) -> None:
    """A sheet claiming A1:XFD1048576 over three rows is read as its three rows (openpyxl would
    pad each row to 16,384 cells and add a million empty rows)."""
    world.region("07")
    good = write_xlsx(world.tmp / "good.xlsx", [HEAD, school("S1"), school("S2")])
    lying = world.tmp / "lying.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
                assert b"XFD1048576" in data
            dst.writestr(item, data)
    rows = list(itertools.islice(xlsx_rows(lying, lying.name), 10))
    assert [(n, len(cells)) for n, cells in rows] == [(1, 6), (2, 6), (3, 6)]
    assert run(world, "schools", lying).created == 2


@pytest.mark.usefixtures("russian")
def test_data_under_a_blank_header_is_refused_naming_the_column(world: World) -> None:
    """A value under a column without a name is not silently dropped: the letter is named."""
    world.region("07")
    path = write_csv(world.tmp / "blank.csv", [[*HEAD, "", "Примечание"],
                                               [*school("S1"), "", "ok"],
                                               [*school("S2"), "важно", ""]], delimiter=";")
    assert refused(world, "schools", path) == [
        "blank.csv:3: столбец G: данные под пустым заголовком; назовите столбец или удалите "
        "данные"]


# -- numbers as Excel keeps them -----------------------------------------------------------

@pytest.mark.usefixtures("russian")
def test_decimal_commas_are_whole_numbers_and_fractions_are_refused(world: World) -> None:
    """«35,0» is 35 and «7.0» is 7; «7,5» is refused, naming the row."""
    world.region("07")
    good = write_csv(world.tmp / "c.csv", [HEAD, school("S1", "Школа", "35,0", "7.0", "1 200")],
                     delimiter=";")
    assert run(world, "schools", good).created == 1
    row = rows_of(world.services, schools)[0]
    assert (row["teachers_expected"], row["classes_expected"], row["students_expected"]) == (
        35, 7, 1200)
    bad = write_csv(world.tmp / "f.csv", [HEAD, school("S2", "Школа", "7,5", 5, 100)],
                    delimiter=";")
    assert refused(world, "schools", bad) == [
        "f.csv:2: teachers_expected: '7,5': нужно целое число ≥ 0"]


def test_a_code_typed_as_a_number_gets_its_zeros_back_by_the_known_width(world: World
                                                                        ) -> None:
    """070101 typed into a number cell (70101) is 070101 when the file's other codes show
    six digits, and later when the registry's codes do."""
    world.region("07")
    path = write_xlsx(world.tmp / "n.xlsx", [HEAD, ["07", "070102", "Школа", 10, 5, 100],
                                             ["07", 70101, "Школа", 10, 5, 100]])
    assert run(world, "schools", path).created == 2
    later = write_xlsx(world.tmp / "later.xlsx", [HEAD, ["07", 70103, "Школа", 10, 5, 100]])
    assert run(world, "schools", later).created == 1
    assert sorted(r["code"] for r in rows_of(world.services, schools)) == [
        "070101", "070102", "070103"]


@pytest.mark.usefixtures("russian")
def test_a_number_code_without_a_known_width_is_refused(world: World) -> None:
    """An empty registry and no text codes in the file: the width is unknown, the row named."""
    world.region("07")
    path = write_xlsx(world.tmp / "n.xlsx", [HEAD, ["07", 70101, "Школа", 10, 5, 100]])
    assert refused(world, "schools", path) == [
        "n.xlsx:2: code: код 70101 записан в Excel как число: ведущие нули могли потеряться, а "
        "длина кода неизвестна; отформатируйте столбец как текст и введите код полностью"]


# -- limits --------------------------------------------------------------------------------

@pytest.mark.usefixtures("russian")
def test_a_shared_strings_bomb_is_refused_before_it_is_read(world: World) -> None:
    """A workbook whose shared strings unpack past the limit is refused from the zip's sizes."""
    good = write_xlsx(world.tmp / "good.xlsx", [["code", "name"], ["07", "x"]])
    bomb = world.tmp / "bomb.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if not item.filename.endswith("sharedStrings.xml"):
                dst.writestr(item, src.read(item.filename))
        with dst.open("xl/sharedStrings.xml", "w") as part:
            part.write(b"<sst><si><t>")
            for _ in range(validation.MAX_SHARED_STRINGS // 2**20 + 1):
                part.write(b"A" * 2**20)
            part.write(b"</t></si></sst>")
    assert bomb.stat().st_size < 2**20
    [problem] = refused(world, "regions", bomb)
    assert problem.startswith("bomb.xlsx: часть книги «xl/sharedStrings.xml» распаковывается в")


@pytest.mark.usefixtures("russian")
def test_a_long_cell_is_refused_and_never_echoed_whole(world: World) -> None:
    """A cell past the cap is named with its row and column, quoted to 80 characters."""
    world.region("07")
    path = write_csv(world.tmp / "long.csv", [HEAD, school("S1", "Я" * 100_000)])
    [problem] = refused(world, "schools", path)
    assert problem == (f"long.csv:2: name: ячейка длиннее {validation.MAX_CELL_CHARS} символов "
                       f"(100000): '{'Я' * 80}…'")


@pytest.mark.usefixtures("russian")
def test_the_error_report_shows_100_rows_and_counts_the_rest(world: World) -> None:
    """A file of many bad rows reports the first 100 problems and how many rows remain."""
    world.region("07")
    rows = [SCHOOL_HEADER[:4] + SCHOOL_HEADER[7:]]
    rows += [["07", "", f"S{i}", "Школа", 1, 1, "x"] for i in range(20_000)]
    problems = refused(world, "schools", write_csv(world.tmp / "many.csv", rows))
    assert len(problems) == 101
    assert problems[0] == "many.csv:2: students_expected: 'x': нужно целое число ≥ 0"
    assert problems[99].startswith("many.csv:101: ")
    assert problems[100] == "… и ещё 19900 строк с ошибками"


@pytest.mark.usefixtures("russian")
def test_a_device_is_not_read(world: World) -> None:
    """`/dev/zero` never ends: it is refused as not a regular file."""
    with pytest.raises(Exception) as info:
        run(world, "schools", Path("/dev/zero"))
    assert "не обычный файл" in str(info.value)


# -- one validation for both databases -----------------------------------------------------

HOSTILE_ROWS = [
    ["07", "S\x00NUL", "Школа", 1, 1, 1],
    ["07", "S2", "Школа\x00с нулём", 1, 1, 1],
    ["07", "S3", "Ш" * 501, 1, 1, 1],
    ["07", "S" * 33, "Школа", 1, 1, 1],
    ["07", "S5", "Школа", 2**31, 1, 1],
    ["07", "S\u200b6", "Школа", 1, 1, 1],
    ["07", "S²7", "Школа", 1, 1, 1],
    ["07", "S/8", "Школа", 1, 1, 1],
    ["07", "<S9>", "Школа", 1, 1, 1],
    ["07", "S10", "Школа\u200b", 1, 1, 1],
    ["07", "S11", "Школа", 2**63, 1, 1],
]


@pytest.mark.usefixtures("russian")
def test_the_same_hostile_file_is_refused_alike_by_both_databases(world: World) -> None:
    """NUL bytes, names past 500 characters, codes past 32, counts past 2³¹, zero-width
    spaces, superscript digits, `/` and `<` in codes: each row named, on SQLite as on
    PostgreSQL (this test runs on both), and nothing written."""
    world.region("07")
    path = write_csv(world.tmp / "hostile.csv", [HEAD, *HOSTILE_ROWS], delimiter=";")
    problems = refused(world, "schools", path)
    assert [p.split(":")[1] for p in problems] == [str(n) for n in range(2, 13)]
    assert problems[2] == "hostile.csv:4: name: длиннее 500 символов (501): «" + "Ш" * 80 + "…»"
    assert problems[3] == f"hostile.csv:5: code: длиннее 32 символов (33): «{'S' * 33}»"
    assert problems[4] == (f"hostile.csv:6: teachers_expected: '{2**31}': больше {2**31 - 1}; "
                           "проверьте число")
    assert "U+200B ZERO WIDTH SPACE" in problems[9]
    assert all("в коде допустимы только" in problems[i] for i in (0, 5, 6, 7, 8))

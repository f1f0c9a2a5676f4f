"""Imports of real files on SQLite and PostgreSQL: encodings, XLSX, every bad row, nothing
written on a rejection, dry runs, idempotent re-imports, references and cascades."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from storage import history
from storage.models import (
    assignments,
    events,
    machines,
    metrics,
    municipalities,
    people,
    regions,
    schools,
)
from tests.builders import World
from tests.conftest import make_services
from workflow.errors import InvalidInput
from workflow.importing import ImportResult, import_file
from workflow.services import Services

TABLES = (regions, municipalities, schools, people, assignments, metrics, machines, events)
SCHOOL_HEADER = ["region", "municipality", "code", "name", "inn", "kpp", "parent",
                 "teachers_expected", "classes_expected", "students_expected"]


def write_csv(path: Path, rows: list[list[Any]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    """A CSV file as Excel writes it: CRLF line ends, the given encoding and delimiter."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.create_sheet("Лист2").append(["ignored"])  # only the first sheet is read
    book.save(path)
    return path


def snapshot(services: Services) -> dict[str, list[str]]:
    """Every row of every table, to compare before and after."""
    with services.db.read() as conn:
        return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t))) for t in TABLES}


def event_count(services: Services) -> int:
    with services.db.read() as conn:
        return history.count(conn)


def rows_of(services: Services, table: Any, **where: Any) -> list[dict[str, Any]]:
    q = select(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with services.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def log(services: Services, kind: str, code: str) -> list[dict[str, Any]]:
    with services.db.read() as conn:
        return history.machine_log(conn, kind, code)


def imported_events(services: Services) -> list[dict[str, Any]]:
    return rows_of(services, events, event="Imported")


def run(world: World, kind: str, path: Path, **kw: Any) -> ImportResult:
    return import_file(world.services, kind, path, now=world.now, **kw)


def refused(world: World, kind: str, path: Path) -> list[str]:
    """Import a file that must be rejected; check nothing was written; return its problems."""
    before, count = snapshot(world.services), event_count(world.services)
    with pytest.raises(InvalidInput) as info:
        run(world, kind, path)
    assert snapshot(world.services) == before
    assert event_count(world.services) == count
    return info.value.problems


@pytest.fixture
def std(world: World) -> World:
    """Region 07 (municipalities 0701, 0702; schools S1, S2 and its branch S2F) and its people."""
    return world.standard()


# -- encodings and formats -----------------------------------------------------------------

def test_windows_1251_with_semicolons(world: World) -> None:
    """Excel's plain CSV (Windows-1251, ';', Russian headers) imports with its Cyrillic intact."""
    path = write_csv(world.tmp / "регионы.csv", [
        ["Код", "Наименование", "Часовой пояс"],
        ["7", "Кабардино-Балкарская Республика", ""],
        ["14", "Республика Саха (Якутия); центр — Якутск", "Asia/Yakutsk"],
    ], encoding="cp1251", delimiter=";")
    result = run(world, "regions", path)
    assert (result.rows, result.created, result.updated) == (2, 2, 0)
    assert result.summary() == "регионы.csv: 2 regions row(s): 2 created, 0 updated, 0 unchanged"
    assert {r["code"]: (r["name"], r["timezone"]) for r in rows_of(world.services, regions)} == {
        "07": ("Кабардино-Балкарская Республика", "Europe/Moscow"),
        "14": ("Республика Саха (Якутия); центр — Якутск", "Asia/Yakutsk")}
    assert world.status("region", "14")["state"] == "coordinator"


def test_utf8_with_bom(world: World) -> None:
    """Excel's "CSV UTF-8" (with a BOM) imports; the BOM is not part of the first header."""
    world.region("07")
    path = write_csv(world.tmp / "mun.csv", [
        ["Регион", "Код муниципалитета", "Муниципалитет"],
        ["07", "0701", "г.о. Нальчик"], ["07", "0702", "Баксанский муниципальный район"],
    ], encoding="utf-8-sig", delimiter=";")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = run(world, "municipalities", path)
    assert result.created == 2
    assert {r["code"]: r["name"] for r in rows_of(world.services, municipalities)} == {
        "0701": "г.о. Нальчик", "0702": "Баксанский муниципальный район"}


def test_plain_utf8_with_commas(std: World) -> None:
    """A plain UTF-8 CSV with ',' and a quoted comma imports people with their Russian roles."""
    path = write_csv(std.tmp / "people.csv", [
        ["Эл. почта", "ФИО", "Роль", "Зона ответственности", "Должность"],
        ["Admin1@S1.ru", "Иванова Мария Петровна", "Администратор ОО", "S1", "завуч, учитель"],
        ["mc1@region07.ru", "Петров Пётр", "Муниципальный координатор", "0701", ""],
    ])
    result = run(std, "people", path)
    assert result.created == 2
    assert rows_of(std.services, people, email="admin1@s1.ru")[0]["position"] == "завуч, учитель"
    held = {(r["email"], r["role"], r["scope"]) for r in rows_of(std.services, assignments)}
    assert {("admin1@s1.ru", "school_admin", "S1"),
            ("mc1@region07.ru", "municipal_coordinator", "0701")} <= held


def test_xlsx_with_numbers_typed_as_numbers(world: World) -> None:
    """An XLSX where Excel holds codes, INN and counts as numbers reads them back as typed."""
    world.region("07")
    world.municipality("0701")
    path = write_xlsx(world.tmp / "schools.xlsx", [
        ["Код региона", "Муниципалитет", "Код ОО", "Наименование", "ИНН", "КПП",
         "Педагогов", "Классов", "Учащихся"],
        [7, "0701", "S1", "МКОУ СОШ № 1", 7707083893, 773001001, 40, 12.0, 310],
        [7.0, None, "S2", "МКОУ СОШ № 2", 123456788, 77301001, 25, 9, 200],
    ])
    result = run(world, "schools", path)
    assert result.created == 2
    got = {r["code"]: r for r in rows_of(world.services, schools)}
    assert got["S1"]["region_code"] == "07" and got["S2"]["region_code"] == "07"
    assert (got["S1"]["inn"], got["S1"]["kpp"]) == ("7707083893", "773001001")
    assert (got["S2"]["inn"], got["S2"]["kpp"]) == ("0123456788", "077301001")
    assert (got["S1"]["teachers_expected"], got["S1"]["classes_expected"],
            got["S1"]["students_expected"], got["S1"]["parents_expected"]) == (40, 12, 310, 310)
    assert got["S2"]["municipality_code"] is None


@pytest.mark.usefixtures("russian")
def test_xlsx_mistakes_are_reported_on_spreadsheet_rows(world: World) -> None:
    """In an XLSX the header is row 1, so the third data row is row 4."""
    world.region("07")
    path = write_xlsx(world.tmp / "bad.xlsx", [
        SCHOOL_HEADER[:4] + SCHOOL_HEADER[7:],
        [7, None, "S1", "Школа 1", 10, 5, 100],
        [7, None, "S2", "Школа 2", 10, 5, 100],
        [7, None, "S3", "Школа 3", 10.5, 5, 100],
    ])
    assert refused(world, "schools", path) == [
        "bad.xlsx:4: teachers_expected: '10.5': нужно целое число ≥ 0"]


# -- a rejected file: every bad row, nothing written ---------------------------------------

@pytest.mark.usefixtures("russian")
def test_cell_mistakes_are_all_reported_and_nothing_is_written(std: World) -> None:
    """Every bad cell of every row is listed as FILE:ROW: column: problem; nothing is written."""
    path = write_csv(std.tmp / "schools.csv", [
        SCHOOL_HEADER,
        ["07", "0701", "N1", "Школа Н1", "7707083893", "", "", "10", "5", "100"],
        ["07", "0701", "N2", "Школа Н2", "7707083894", "", "", "10", "5", "100"],
        ["07", "0701", "N3", "", "", "", "", "-1", "5", "100"],
        ["07", "0701", "N4", "Школа Н4", "", "", "", "10", "5", "100"],
        ["5.02E+09", "0701", "N5", "Школа Н5", "123456789012", "", "", "10", "1,5", "100"],
    ])
    assert refused(std, "schools", path) == [
        "schools.csv:3: inn: 7707083894: неверная контрольная цифра ИНН (ожидалась 3 в конце); "
        "опечатка в номере?",
        "schools.csv:4: name: обязательная ячейка пуста",
        "schools.csv:4: teachers_expected: '-1': нужно целое число ≥ 0",
        "schools.csv:6: region: '5.02E+09' — число, которое Excel сократил до экспоненциальной "
        "записи; отформатируйте столбец как текст и выгрузите снова",
        "schools.csv:6: inn: 123456789012: 12 цифр — ИНН физического лица; у школы (юридического "
        "лица) ИНН из 10 цифр",
        "schools.csv:6: classes_expected: '1,5': нужно целое число ≥ 0",
    ]


@pytest.mark.usefixtures("russian")
def test_reference_mistakes_are_all_reported_and_nothing_is_written(std: World) -> None:
    """Rows naming an unknown region, municipality or головная ОО are all listed."""
    path = write_csv(std.tmp / "schools.csv", [
        SCHOOL_HEADER,
        ["07", "0701", "N1", "Школа Н1", "", "", "", "10", "5", "100"],
        ["99", "", "N2", "Школа Н2", "", "", "", "10", "5", "100"],
        ["07", "0799", "N3", "Школа Н3", "", "", "", "10", "5", "100"],
        ["07", "0701", "N4", "Школа Н4", "", "", "NOPE", "10", "5", "100"],
    ])
    assert refused(std, "schools", path) == [
        "schools.csv:3: region: неизвестный регион '99' (сначала импортируйте regions)",
        "schools.csv:4: municipality: неизвестный муниципалитет '0799'",
        "schools.csv:5: parent: неизвестная головная ОО 'NOPE' (нет ни в этом файле, ни в "
        "реестре)",
    ]


@pytest.mark.usefixtures("russian")
def test_cell_and_reference_mistakes_are_reported_together(std: World) -> None:
    """A bad cell on one row does not hide an unknown reference on another: one pass lists all."""
    path = write_csv(std.tmp / "schools.csv", [
        SCHOOL_HEADER,
        ["07", "0701", "N1", "Школа Н1", "7707083894", "", "", "10", "5", "100"],
        ["99", "", "N2", "Школа Н2", "", "", "", "10", "5", "100"],
        ["07", "0701", "N3", "Школа Н3", "", "", "", "ten", "5", "100"],
        ["07", "0701", "S1", "Школа С1", "", "", "", "10", "5", "100"],
        ["07", "0701", "S1", "Школа С1 ещё раз", "", "", "", "10", "5", "100"],
    ])
    assert refused(std, "schools", path) == [
        "schools.csv:2: inn: 7707083894: неверная контрольная цифра ИНН (ожидалась 3 в конце); "
        "опечатка в номере?",
        "schools.csv:3: region: неизвестный регион '99' (сначала импортируйте regions)",
        "schools.csv:4: teachers_expected: 'ten': нужно целое число ≥ 0",
        "schools.csv:6: code: повторяется: код школы S1 (уже в строке 5)",
    ]


@pytest.mark.usefixtures("russian")
def test_row_numbers_count_as_a_spreadsheet_shows_them(std: World) -> None:
    """A quoted cell spanning two lines is one spreadsheet row; a blank line is a row too."""
    path = write_csv(std.tmp / "regions.csv", [
        ["code", "name"],
        ["07", "Кабардино-Балкарская\nРеспублика"],
        [],
        ["77", "Москва"],
        ["7 7", "Москва ещё раз"],
    ])
    assert refused(std, "regions", path) == [
        "regions.csv:5: code: '7 7': в коде не бывает пробелов"]


@pytest.mark.usefixtures("russian")
def test_a_header_mistake_is_reported_on_row_1(world: World) -> None:
    """Unknown and missing columns are reported on row 1, and nothing is read or written."""
    path = write_csv(world.tmp / "r.csv", [["Код", "Население"], ["07", "1000"]])
    assert refused(world, "regions", path) == [
        "r.csv:1: столбец name: обязательный, но его нет",
        "r.csv:1: не распознаны столбцы: 'Население' (столбцы regions: code, name, timezone; "
        "русские названия перечислены в README)"]


# -- dry runs and re-imports ---------------------------------------------------------------

def test_dry_run_reports_counts_and_writes_nothing(std: World) -> None:
    """--dry-run checks the file and counts what would change, then writes nothing."""
    path = write_csv(std.tmp / "schools.csv", [
        SCHOOL_HEADER,
        ["07", "0701", "S1", "Школа S1", "", "", "", "10", "5", "100"],       # unchanged
        ["07", "0701", "S2", "Школа S2", "", "", "", "12", "5", "100"],       # moved, more
        ["07", "0702", "N1", "Новая школа", "7707083893", "", "", "3", "1", "20"],  # new
    ])
    before, count = snapshot(std.services), event_count(std.services)
    result = run(std, "schools", path, dry_run=True)
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 1, 1, 1)
    assert result.dry_run
    assert result.summary() == ("schools.csv: 3 schools row(s): 1 created, 1 updated, "
                                "1 unchanged  (dry run: nothing was written)")
    assert snapshot(std.services) == before
    assert event_count(std.services) == count
    # The same file for real does what the dry run announced.
    real = run(std, "schools", path)
    assert (real.created, real.updated, real.unchanged, real.dry_run) == (1, 1, 1, False)


def test_dry_run_of_metrics_counts_the_cascade_but_moves_nothing(std: World) -> None:
    """A dry run of metrics says how many steps would complete, and leaves the machines alone."""
    std.through_step3()
    std.services.assign("school_admin", "S1", "a1@s1.ru", "Админ", "mc1@region07.ru", std.now)
    path = std.write_csv([{"school": "S1", "teachers": 10, "classes": 5, "parents": 100,
                           "students": 100}])
    before = snapshot(std.services)
    result = run(std, "metrics", path, dry_run=True)
    assert result.transitions == 4 and result.summary().endswith(
        "; 4 step(s) completed as a result  (dry run: nothing was written)")
    assert snapshot(std.services) == before
    assert std.status("school", "S1")["state"] == "teachers"


FILES = {
    "regions": [{"code": "07", "name": "Кабардино-Балкарская Республика", "timezone": ""},
                {"code": "50", "name": "Московская область", "timezone": "Europe/Moscow"}],
    "municipalities": [{"region": "07", "code": "0701", "name": "Муниципалитет 0701"},
                       {"region": "07", "code": "0703", "name": "Новый муниципалитет"}],
    "schools": [{"region": "07", "municipality": "0701", "code": "S1", "name": "Школа S1",
                 "inn": "7707083893", "kpp": "773001001", "parent": "",
                 "teachers_expected": "10", "classes_expected": "5",
                 "students_expected": "100", "parents_expected": ""},
                {"region": "07", "municipality": "", "code": "N1", "name": "Новая",
                 "inn": "", "kpp": "", "parent": "S1", "teachers_expected": "1",
                 "classes_expected": "1", "students_expected": "1", "parents_expected": "2"}],
    "people": [{"email": "rc@region07.ru", "name": "Сотрудник rc", "role":
                "Региональный координатор", "scope": "07"},
               {"email": "new@s1.ru", "name": "Новый админ", "role": "school_admin",
                "scope": "S1"}],
    "metrics": [{"school": "S1", "teachers": "3", "classes": ""},
                {"school": "S2", "teachers": "1", "classes": "1"}],
}


def test_reimporting_the_same_file_changes_nothing(std: World) -> None:
    """The same file twice, for every kind: the second import creates and updates nothing, and
    records nothing."""
    for kind, rows in FILES.items():
        path = std.write_csv(rows)
        run(std, kind, path)
        before, count = snapshot(std.services), event_count(std.services)
        again = run(std, kind, path)
        assert (again.created, again.updated, again.unchanged, again.transitions) == (
            0, 0, len(rows), 0), kind
        assert again.summary().endswith(f"0 created, 0 updated, {len(rows)} unchanged"), kind
        assert snapshot(std.services) == before, kind
        assert event_count(std.services) == count, kind


def test_reimport_with_one_changed_row_updates_exactly_that_row(std: World) -> None:
    """Changing one cell of one row updates that school only, recorded as one import event."""
    rows = [{"region": "07", "municipality": m, "code": c, "name": f"Школа {c}",
             "teachers_expected": 10, "classes_expected": 5, "students_expected": 100}
            for m, c in (("0701", "S1"), ("0702", "S2"))]
    first = run(std, "schools", std.write_csv(rows))
    assert (first.created, first.updated, first.unchanged) == (0, 0, 2)
    rows[1]["teachers_expected"] = 12
    before = {r["code"]: r for r in rows_of(std.services, schools)}
    n_imports = len(imported_events(std.services))
    result = run(std, "schools", std.write_csv(rows, name="changed.csv"))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    after = {r["code"]: r for r in rows_of(std.services, schools)}
    assert after["S2"]["teachers_expected"] == 12
    assert {c: r for c, r in after.items() if c != "S2"} == {
        c: r for c, r in before.items() if c != "S2"}
    imports = imported_events(std.services)
    assert len(imports) == n_imports + 1
    assert imports[-1]["data"]["updated"] == 1 and imports[-1]["data"]["file"] == "changed.csv"
    assert imports[-1]["reason"] == ("changed.csv: 2 schools row(s): 0 created, 1 updated, "
                                     "1 unchanged")


def test_a_missing_optional_column_keeps_the_stored_values(std: World) -> None:
    """A file without the municipality column does not unlink schools from their municipality."""
    rows = [{"region": "07", "code": "S1", "name": "Школа S1 (новое имя)",
             "teachers_expected": 10, "classes_expected": 5, "students_expected": 100}]
    result = run(std, "schools", std.write_csv(rows))
    assert result.updated == 1
    s1 = rows_of(std.services, schools, code="S1")[0]
    assert (s1["name"], s1["municipality_code"]) == ("Школа S1 (новое имя)", "0701")


# -- references ----------------------------------------------------------------------------

def _school(code: str, region: str = "07", municipality: str = "", parent: str = "",
            inn: str = "", kpp: str = "") -> dict[str, Any]:
    return {"region": region, "municipality": municipality, "code": code, "name": f"Школа {code}",
            "inn": inn, "kpp": kpp, "parent": parent, "teachers_expected": 10,
            "classes_expected": 5, "students_expected": 100}


@pytest.mark.usefixtures("russian")
def test_school_references_must_hold(std: World) -> None:
    """Every broken reference of a schools file is named on its row, all in one report, and
    nothing is written."""
    std.region("50", "Московская область")
    std.municipality("5001", "50")
    std.school("X1", "50", "5001")
    rows = [
        _school("N1", region="99"),                              # 2
        _school("N2", municipality="0799"),                      # 3
        _school("N3", municipality="5001"),                      # 4
        _school("N4", parent="NOPE"),                            # 5
        _school("N5", parent="N5"),                              # 6
        _school("N6", parent="X1"),                              # 7
        _school("N7", parent="S2F"),                             # 8: S2F is a stored branch
        _school("A"), _school("B", parent="A"),                  # 9, 10
        _school("C", parent="B"),                                # 11: a branch of a branch
        _school("S2", municipality="0702", parent="A"),          # 12: S2 has the branch S2F
        _school("M", inn="7707083893", kpp="773001001"),         # 13
        _school("F", parent="M", inn="0123456788"),              # 14
        _school("S1", region="50"),                              # 15
        _school("G", parent="M", inn="7707083893", kpp="773001001"),  # 16
    ]
    assert refused(std, "schools", std.write_csv(rows, name="schools.csv")) == [
        "schools.csv:2: region: неизвестный регион '99' (сначала импортируйте regions)",
        "schools.csv:3: municipality: неизвестный муниципалитет '0799'",
        "schools.csv:4: municipality: муниципалитет 5001 относится к региону 50, а не 07",
        "schools.csv:5: parent: неизвестная головная ОО 'NOPE' (нет ни в этом файле, ни в "
        "реестре)",
        "schools.csv:6: parent: школа не может быть головной ОО для самой себя",
        "schools.csv:7: parent: головная ОО X1 относится к региону 50",
        "schools.csv:8: parent: S2F — сама филиал S2; привяжите филиал к головной ОО",
        "schools.csv:11: parent: B — сама филиал A; привяжите филиал к головной ОО",
        "schools.csv:12: parent: S2 — головная ОО для S2F; у филиала не может быть своих "
        "филиалов",
        "schools.csv:14: inn: филиал носит ИНН головной ОО (7707083893); у филиала свой КПП",
        "schools.csv:15: region: школа S1 относится к региону 07; перенос в другой регион не "
        "поддерживается",
        "schools.csv:16: kpp: повторяется: пара ИНН/КПП 7707083893 / 773001001 (уже в строке 13)",
    ]


@pytest.mark.usefixtures("russian")
def test_municipality_references_must_hold(std: World) -> None:
    """A municipality names a known region and stays in it."""
    std.region("50", "Московская область")
    path = std.write_csv([{"region": "99", "code": "9901", "name": "Где-то"},
                          {"region": "50", "code": "0701", "name": "Переезд"}], name="m.csv")
    assert refused(std, "municipalities", path) == [
        "m.csv:2: region: неизвестный регион '99' (сначала импортируйте regions)",
        "m.csv:3: region: муниципалитет 0701 относится к региону 07; перенос в другой регион "
        "не поддерживается"]


@pytest.mark.usefixtures("russian")
def test_metrics_name_known_schools(std: World) -> None:
    """Metrics for a school that is not in the registry are refused."""
    path = std.write_csv([{"school": "S1", "teachers": 1}, {"school": "S9", "teachers": 1}],
                         name="metrics.csv")
    assert refused(std, "metrics", path) == ["metrics.csv:3: school: неизвестная школа 'S9'"]


DUPLICATES = {
    "regions": ([{"code": "07", "name": "А"}, {"code": "7", "name": "Б"}],
                "code: повторяется: код региона 07 (уже в строке 2)"),
    "municipalities": ([{"region": "07", "code": "0703", "name": "А"},
                        {"region": "07", "code": "0703", "name": "Б"}],
                       "code: повторяется: код муниципалитета 0703 (уже в строке 2)"),
    "schools": ([_school("N1"), _school("N1")],
                "code: повторяется: код школы N1 (уже в строке 2)"),
    "people": ([{"email": "a@s1.ru", "name": "А", "role": "school_admin", "scope": "S1"},
                {"email": "A@S1.ru", "name": "А", "role": "Администратор ОО", "scope": "S1"}],
               "email: повторяется: человек и роль a@s1.ru / school_admin / S1 (уже в строке "
               "2)"),
    "metrics": ([{"school": "S1", "teachers": 1}, {"school": "S1", "teachers": 2}],
                "school: повторяется: школа S1 (уже в строке 2)"),
}


@pytest.mark.usefixtures("russian")
def test_duplicate_codes_within_a_file_are_refused(std: World) -> None:
    """A code that appears twice in one file (as written or as read) is refused on its second
    row, for every kind."""
    for kind, (rows, problem) in DUPLICATES.items():
        assert refused(std, kind, std.write_csv(rows, name="f.csv")) == [f"f.csv:3: {problem}"]


@pytest.mark.usefixtures("russian")
def test_people_need_a_scope_of_their_roles_kind_and_one_name(std: World) -> None:
    """A person's scope must name a region, municipality or school as the role requires (none for
    a global role), and one address has one name."""
    rows = [{"email": f"x{i}@s.ru", "name": "Икс", "role": role, "scope": scope}
            for i, (role, scope) in enumerate([
                ("school_admin", "07"), ("school_admin", "0701"),
                ("municipal_coordinator", "S1"), ("regional_coordinator", "0701"),
                ("regional_coordinator", ""), ("support", "07"), ("auditor", "S1")])]
    rows += [{"email": "y@s.ru", "name": "Иванов", "role": "school_admin", "scope": "S1"},
             {"email": "y@s.ru", "name": "Петров", "role": "school_admin", "scope": "S2"}]
    assert refused(std, "people", std.write_csv(rows, name="p.csv")) == [
        "p.csv:2: scope: неизвестный код '07' для роли school_admin (нужен код школы)",
        "p.csv:3: scope: неизвестный код '0701' для роли school_admin (нужен код школы)",
        "p.csv:4: scope: неизвестный код 'S1' для роли municipal_coordinator (нужен код "
        "муниципалитета)",
        "p.csv:5: scope: неизвестный код '0701' для роли regional_coordinator (нужен код "
        "региона)",
        "p.csv:6: scope: для роли regional_coordinator нужен код региона",
        "p.csv:7: scope: support — общая роль; оставьте scope пустым",
        "p.csv:8: scope: auditor — общая роль; оставьте scope пустым",
        "p.csv:10: name: y@s.ru в строке 9 записан как 'Иванов'",
    ]


# -- cascades ------------------------------------------------------------------------------
def test_metrics_complete_evidence_steps_and_the_log_names_the_import(std: World) -> None:
    """Metrics that meet the evidence complete steps 5-8 at once; the log names the import."""
    std.through_step3()
    std.services.assign("school_admin", "S1", "a1@s1.ru", "Админ", "mc1@region07.ru", std.now)
    assert std.status("school", "S1")["state"] == "teachers"
    result = std.metrics("S1", teachers=10, classes=5, parents=100, students=100)
    assert result.transitions == 4
    assert std.status("school", "S1")["state"] == "adoption"
    completed = [e for e in log(std.services, "school", "S1") if e["event"] == "StepCompleted"]
    last = completed[-4:]
    assert [e["step"] for e in last] == ["teachers", "classes", "parents", "students"]
    assert all(e["actor"] == "system" and e["trigger"].startswith("import metrics: ") for e in last)
    assert last[0]["data"]["evidence"][0]["message"] == "teachers: 10 of 10 loaded, 10 needed"
    imports = imported_events(std.services)
    assert imports[-1]["trigger"].startswith("import metrics ")
    assert imports[-1]["reason"].endswith("; 4 step(s) completed as a result")
    # The region waits for its other schools.
    assert std.status("region", "07")["state"] == "admins"


def test_metrics_short_of_the_evidence_leave_the_step_open_with_figures(std: World) -> None:
    """Metrics below the threshold complete nothing; status names the figures."""
    std.through_step3()
    std.services.assign("school_admin", "S1", "a1@s1.ru", "Админ", "mc1@region07.ru", std.now)
    result = std.metrics("S1", teachers=9)
    assert result.transitions == 0
    status = std.status("school", "S1")
    assert status["state"] == "teachers"
    assert status["blocking"][0]["message"] == "teachers: 9 of 10 loaded, 10 needed"
    assert status["blocking"][0]["message_ru"] == "педагоги: загружено 9 из 10, нужно 10"


def test_metrics_before_the_step_is_current_wait_for_it(std: World) -> None:
    """Evidence loaded early completes the steps as soon as the school reaches them."""
    std.metrics("S1", teachers=10, classes=5, parents=100, students=100)
    assert std.status("school", "S1")["state"] == "coordinator"
    std.through_step3()
    std.services.assign("school_admin", "S1", "a1@s1.ru", "Админ", "mc1@region07.ru", std.now)
    assert std.status("school", "S1")["state"] == "adoption"


def test_a_threshold_below_one_counts_with_rounding_up(db_url: str, tmp_path: Path,
                                                       clock: datetime) -> None:
    """With threshold 0.95 a school expecting 40 teachers needs 38: 37 is short, 38 enough."""
    services = make_services(db_url, tmp_path, steps={"teachers": {"threshold": 0.95}})
    try:
        world = World(services, tmp_path, clock).standard()
        world.school("T1", "07", "0701", teachers=40)
        world.through_step3()
        services.assign("school_admin", "T1", "a@t1.ru", "Админ", "rc@region07.ru", world.now)
        world.metrics("T1", teachers=37)
        status = world.status("school", "T1")
        assert status["blocking"][0]["message"] == "teachers: 37 of 40 loaded, 38 needed"
        world.metrics("T1", teachers=38)
        assert world.status("school", "T1")["state"] == "classes"
    finally:
        services.db.dispose()


def test_importing_a_school_admin_completes_step_4(std: World) -> None:
    """A school admin appointed by `import people` completes step 4, naming the import."""
    std.through_step3()
    std.person("a2@s2.ru", "school_admin", "S2")
    assert std.status("school", "S2")["state"] == "teachers"
    admins = [e for e in log(std.services, "school", "S2")
              if e["event"] == "StepCompleted" and e["step"] == "admins"]
    assert admins[-1]["trigger"].startswith("import people: ")


@pytest.mark.usefixtures("russian")
def test_inn_kpp_pair_of_a_stored_school_is_refused(world: World) -> None:
    """A new school cannot take the пара ИНН/КПП of a school already in the registry."""
    world.standard()
    world.load("schools", [{"region": "07", "code": "K1", "name": "Школа К1",
                            "inn": "7707083893", "kpp": "070101001", "teachers_expected": 1,
                            "classes_expected": 1, "students_expected": 1}])
    with pytest.raises(InvalidInput) as exc:
        world.load("schools", [{"region": "07", "code": "K2", "name": "Школа К2",
                                "inn": "7707083893", "kpp": "070101001", "teachers_expected": 1,
                                "classes_expected": 1, "students_expected": 1}])
    assert "kpp: пара ИНН/КПП 7707083893 / 070101001 уже принадлежит школе K1" in str(exc.value)


def test_metrics_cascade_names_the_file_and_stamps_the_change(world: World) -> None:
    """Steps completed by a metrics file name it as the trigger; changed counts get a new time."""
    from storage.models import metrics
    from workflow import audit

    world.standard().through_step3()
    world.services.assign("school_admin", "S1", "a@s1.ru", "Админ", "rc@region07.ru", world.now)
    path = world.write_csv([{"school": "S1", "teachers": 10}], "week1.csv")
    from workflow.importing import import_file

    import_file(world.services, "metrics", path, now=world.now)
    first = world.now
    with world.services.db.read() as conn:
        log = audit.machine_log(conn, "school", "S1")
    assert log[-1]["step"] == "teachers" and log[-1]["trigger"] == "import metrics: week1.csv"
    world.tick(days=1)
    world.metrics("S1", teachers=10, classes=5)
    with world.services.db.read() as conn:
        stamped = conn.execute(select(metrics.c.updated_at)).scalar_one()
    assert stamped == world.now != first

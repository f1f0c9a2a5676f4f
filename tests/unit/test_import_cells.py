"""Reading import cells and headers: INN, KPP, codes, counts, e-mails, zones, roles, aliases."""

from __future__ import annotations

import pytest

from workflow.errors import InvalidInput
from workflow.importing import parse_rows
from workflow.importing.columns import (
    COLUMNS,
    CellError,
    code,
    count,
    email,
    inn,
    kpp,
    normalise_header,
    resolve,
    resolve_header,
    role,
    timezone,
)
from workflow.importing.reader import Table

# These tests read the Russian texts people see (the default language).
pytestmark = pytest.mark.usefixtures("russian")

# -- INN -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "value"), [
    ("7707083893", "7707083893"),     # the reference example of a valid legal-entity INN
    ("  7707083893 ", "7707083893"),
    ("7707083893.0", "7707083893"),   # a number cell read back as a float
    ("123456788", "0123456788"),      # Excel dropped the leading zero
    ("0123456788", "0123456788"),
    ("0270000001", "0270000001"),
])
def test_a_valid_inn_is_read(cell: str, value: str) -> None:
    """A 10-digit INN with the right check digit is kept, a lost leading zero restored."""
    assert inn(cell) == value


@pytest.mark.parametrize(("cell", "message"), [
    ("7707083894", "7707083894: неверная контрольная цифра ИНН (ожидалась 3 в конце); "
                   "опечатка в номере?"),
    ("770708389", "0770708389: неверная контрольная цифра ИНН (ожидалась 5 в конце); "
                  "опечатка в номере?"),
    ("123456789012", "123456789012: 12 цифр — ИНН физического лица; у школы (юридического "
                     "лица) ИНН из 10 цифр"),
    ("77070838931", "'77070838931': ИНН юридического лица — 10 цифр"),
    ("12345678", "'12345678': ИНН юридического лица — 10 цифр"),
    ("770708389A", "'770708389A': ИНН юридического лица — 10 цифр"),
    ("7.707083893E+09", "'7.707083893E+09' — число, которое Excel сократил до экспоненциальной "
                        "записи; отформатируйте столбец как текст и выгрузите снова"),
])
def test_a_bad_inn_is_refused_saying_why(cell: str, message: str) -> None:
    """A wrong check digit, a person's 12-digit INN or a wrong length is refused, explained."""
    with pytest.raises(CellError) as info:
        inn(cell)
    assert str(info.value) == message


# -- KPP -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "value"), [
    ("773001001", "773001001"), ("77301001", "077301001"), (" 773001001 ", "773001001"),
    ("7730AB001", "7730AB001"), ("7730ab001", "7730AB001"), ("773001001.0", "773001001"),
])
def test_a_valid_kpp_is_read(cell: str, value: str) -> None:
    """A KPP has 9 characters; 8 digits lost their leading zero; letters go to capitals."""
    assert kpp(cell) == value


@pytest.mark.parametrize("cell", ["7730010011", "7730010", "77A001001", "7730ЖЖ001", "7730-1001"])
def test_a_bad_kpp_is_refused(cell: str) -> None:
    """Anything but 4 digits, 2 digits or capital letters, 3 digits is refused, explained."""
    with pytest.raises(CellError, match="КПП — 9 знаков: 4 цифры, 2 цифры или заглавные "
                                        "латинские буквы, 3 цифры"):
        kpp(cell)


# -- codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "width", "value"), [
    ("7", 2, "07"), ("7.0", 2, "07"), ("7.00", 2, "07"), ("07", 2, "07"), ("77", 2, "77"),
    ("  7 ", 2, "07"), ("7", None, "7"), ("0701", None, "0701"), ("S1", None, "S1"),
    ("S1", 2, "S1"), ("123", 2, "123"),
])
def test_codes_are_strings_with_lost_zeros_restored(cell: str, width: int | None,
                                                    value: str) -> None:
    """A region code typed as the number 7 (or read back as 7.0) is "07"; other codes stay text."""
    assert code(width)(cell) == value


@pytest.mark.parametrize("cell", ["5.02E+09", "5,02E+09", "1e5", "7.5E-3"])
def test_scientific_notation_is_refused(cell: str) -> None:
    """A code Excel shortened to scientific notation cannot be recovered: say how to fix it."""
    with pytest.raises(CellError) as info:
        code()(cell)
    assert str(info.value) == (f"{cell!r} — число, которое Excel сократил до экспоненциальной "
                               "записи; отформатируйте столбец как текст и выгрузите снова")


def test_a_code_has_no_spaces() -> None:
    """Inner spaces in a code are refused rather than guessed away."""
    with pytest.raises(CellError, match="'07 01': в коде не бывает пробелов"):
        code()("07 01")


# -- counts --------------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "value"), [
    ("12", 12), ("12.0", 12), ("0", 0), ("007", 7), (" 1 200 ", 1200),
    (" 1\u00a0200 ", 1200),   # Excel's thousands separator in a Russian locale (NBSP)
    ("1\u202f200", 1200),     # a narrow no-break space, the same separator elsewhere
    ("18 000 000", 18_000_000),
])
def test_counts_are_whole_numbers(cell: str, value: int) -> None:
    """Counts accept number cells read back as floats and thousands separators."""
    assert count(cell) == value


@pytest.mark.parametrize("cell", ["-1", "1,5", "1.5", "abc", "1e3", "12 шт.", "+3"])
def test_a_bad_count_is_refused(cell: str) -> None:
    """Negative, fractional and non-numeric counts are refused, quoting the cell."""
    with pytest.raises(CellError) as info:
        count(cell)
    assert str(info.value) == f"{cell.strip()!r}: нужно целое число ≥ 0"


# -- e-mail, time zone, role ---------------------------------------------------------------

@pytest.mark.parametrize(("cell", "value"), [
    ("ivan.petrov@school.ru", "ivan.petrov@school.ru"),
    (" Ivan.Petrov@School14.RU ", "ivan.petrov@school14.ru"),
    ("rc+07@region07.gov.ru", "rc+07@region07.gov.ru"),
])
def test_an_email_is_read_in_lower_case(cell: str, value: str) -> None:
    """Addresses are stripped and compared in lower case."""
    assert email(cell) == value


@pytest.mark.parametrize("cell", ["ivan", "ivan@", "@school.ru", "ivan@school", "iv an@school.ru",
                                  "Иван <ivan@school.ru>", "a@b@c.ru", "ivan@school.ru;pm@x.ru"])
def test_a_bad_email_is_refused(cell: str) -> None:
    """Anything but one plain address is refused, quoting the cell."""
    with pytest.raises(CellError) as info:
        email(cell)
    assert str(info.value).startswith(f"{cell.strip()!r}: не адрес электронной почты (")


@pytest.mark.parametrize("cell", ["Europe/Moscow", "Europe/Kaliningrad", "Asia/Yekaterinburg",
                                  "Asia/Yakutsk", "Asia/Kamchatka", " Europe/Samara "])
def test_iana_time_zones_are_accepted(cell: str) -> None:
    """Russia's IANA zones, Kaliningrad to Kamchatka, are read as given (stripped)."""
    assert timezone(cell) == cell.strip()


@pytest.mark.parametrize("cell", ["MSK", "UTC+3", "Moscow", "Europe/Moskva", "../etc/passwd",
                                  "/etc/localtime"])
def test_a_bad_time_zone_is_refused(cell: str) -> None:
    """Abbreviations, offsets and paths are refused with an example of a good zone."""
    with pytest.raises(CellError) as info:
        timezone(cell)
    assert str(info.value) == (f"{cell!r}: не часовой пояс IANA (например, Europe/Moscow или "
                               "Asia/Yekaterinburg)")


@pytest.mark.parametrize(("cell", "value"), [
    ("СТП", "support"), ("Служба технической поддержки", "support"),
    ("Руководитель программы", "program_manager"),
    ("Руководитель программы внедрения", "program_manager"), ("Аудитор", "auditor"),
    ("Региональный координатор", "regional_coordinator"),
    ("  муниципальный   координатор ", "municipal_coordinator"),
    ("Администратор ОО", "school_admin"), ("администратор", "school_admin"),
    ("school_admin", "school_admin"), ("REGIONAL_COORDINATOR", "regional_coordinator"),
])
def test_roles_are_read_by_slug_or_russian_name(cell: str, value: str) -> None:
    """A role is its slug or its Russian name, in any case and spacing."""
    assert role(cell) == value


def test_an_unknown_role_lists_the_roles() -> None:
    """An unknown role is refused, listing the roles there are."""
    with pytest.raises(CellError) as info:
        role("Директор")
    assert str(info.value) == ("'Директор': роли — support, program_manager, auditor, "
                               "regional_coordinator, municipal_coordinator, school_admin")


# -- headers -------------------------------------------------------------------------------

def _names(kind: str, header: list[str]) -> list[str]:
    columns, problems = resolve_header(kind, header)
    assert problems == []
    return [columns[i].name for i in sorted(columns)]


@pytest.mark.parametrize("kind", sorted(COLUMNS))
def test_every_column_is_known_by_its_own_name(kind: str) -> None:
    """The English column names of the contract are accepted as they are."""
    header = [c.name for c in COLUMNS[kind]]
    assert _names(kind, header) == header


@pytest.mark.parametrize("kind", sorted(COLUMNS))
def test_no_alias_names_two_columns(kind: str) -> None:
    """Within a kind, every header name (after normalising) points to one column only."""
    seen: dict[str, str] = {}
    for col in COLUMNS[kind]:
        for alias in {normalise_header(a) for a in (col.name, *col.aliases)}:
            assert seen.setdefault(alias, col.name) == col.name, alias


@pytest.mark.parametrize(("kind", "header", "names"), [
    ("regions", ["Код", "Наименование", "Часовой пояс"], ["code", "name", "timezone"]),
    ("municipalities", ["Регион", "Код муниципалитета", "Муниципалитет"],
     ["region", "code", "name"]),
    ("schools", ["Код региона*", "Муниципалитет", "Код ОО *", "Полное наименование", "ИНН",
                 "КПП", "Головная ОО", "Кол-во педагогов", "Классов", "Учащихся", "Родителей"],
     ["region", "municipality", "code", "name", "inn", "kpp", "parent", "teachers_expected",
      "classes_expected", "students_expected", "parents_expected"]),
    ("people", ["ЭЛ. ПОЧТА", "ФИО", "Роль", "Зона  ответственности", "Должность", "Телефон"],
     ["email", "name", "role", "scope", "position", "phone"]),
    ("metrics", ["Код ОО", "Педагоги", "Классы", "Законные представители", "Обучающиеся"],
     ["school", "teachers", "classes", "parents", "students"]),
])
def test_russian_headers_are_aliases(kind: str, header: list[str], names: list[str]) -> None:
    """Russian column names, in any case, with extra spaces or a '*' mark, are accepted."""
    assert _names(kind, header) == names


def test_headers_compare_without_yo_case_star_or_spaces() -> None:
    """ё is е, case and extra spaces do not matter, a trailing '*' marks a required column."""
    assert normalise_header("  Объём   работ * ") == "объем работ"
    assert normalise_header("КОД*") == "код"


def test_blank_header_cells_are_ignored() -> None:
    """An empty column (Excel's trailing columns) is not an unknown column."""
    columns, problems = resolve_header("regions", ["code", "", "name", "  "])
    assert problems == [] and sorted(columns) == [0, 2]


def test_duplicate_and_missing_columns_are_reported_unknown_ones_only_named() -> None:
    """One pass names every repeated and missing column; an unknown column (ОГРН, Адрес in a
    coordinator's file) is not a problem, only named so that a notice can list it."""
    header = resolve("schools", ["region", "Код", "code", "население", "name", "ОГРН"])
    assert header.problems == [
        "столбец 'code': тот же столбец, что и 'Код'",
        "столбец teachers_expected: обязательный, но его нет",
        "столбец classes_expected: обязательный, но его нет",
        "столбец students_expected: обязательный, но его нет",
        "не распознаны столбцы: 'население', 'ОГРН' (столбцы schools: region, municipality, "
        "code, name, inn, kpp, parent, teachers_expected, classes_expected, students_expected, "
        "parents_expected, timezone; русские названия перечислены в README)",
    ]
    assert header.ignored == ["население", "ОГРН"]
    assert resolve("schools", ["Регион", "Код", "Наименование", "Педагогов", "Классов",
                               "Учащихся", "ОГРН", "Адрес"]).problems == []


# -- rows ----------------------------------------------------------------------------------

def test_parse_rows_reports_every_bad_cell_with_its_row() -> None:
    """Every bad or missing required cell is reported as FILE:ROW: column: problem."""
    table = Table("schools.csv", ["region", "code", "name", "inn", "teachers_expected",
                                  "classes_expected", "students_expected"], [
        (2, ["7", "S1", "Школа 1", "7707083893", "10", "5", "100"]),
        (3, ["7", "S2", "", "7707083894", "-1", "5", "100"]),
        (5, ["5.02E+09", "S3", "Школа 3", "", "10", "5", "1,5"]),
    ])
    with pytest.raises(InvalidInput) as info:
        parse_rows("schools", table)
    assert info.value.problems == [
        "schools.csv:3: name: обязательная ячейка пуста",
        "schools.csv:3: inn: 7707083894: неверная контрольная цифра ИНН (ожидалась 3 в конце); "
        "опечатка в номере?",
        "schools.csv:3: teachers_expected: '-1': нужно целое число ≥ 0",
        "schools.csv:5: region: '5.02E+09' — число, которое Excel сократил до экспоненциальной "
        "записи; отформатируйте столбец как текст и выгрузите снова",
        "schools.csv:5: students_expected: '1,5': нужно целое число ≥ 0",
    ]


def test_parse_rows_reads_a_good_table() -> None:
    """A good table gives one record per row, empty optional cells as None."""
    table = Table("regions.csv", ["Код", "Наименование", "Часовой пояс"], [
        (2, ["7", "Кабардино-Балкарская Республика", ""]),
        (3, ["14", "Республика Саха (Якутия)", "Asia/Yakutsk"])])
    records, present = parse_rows("regions", table)
    assert records == [
        (2, {"code": "07", "name": "Кабардино-Балкарская Республика", "timezone": None}),
        (3, {"code": "14", "name": "Республика Саха (Якутия)", "timezone": "Asia/Yakutsk"})]
    assert present == {"code", "name", "timezone"}


def test_header_problems_are_reported_on_row_1() -> None:
    """A bad header is reported on row 1, before any row is read."""
    with pytest.raises(InvalidInput) as info:
        parse_rows("regions", Table("r.csv", ["code"], [(2, ["7"])]))
    assert info.value.problems == ["r.csv:1: столбец name: обязательный, но его нет"]


def test_a_file_with_only_a_header_is_refused() -> None:
    """A file with no rows below its header is refused rather than imported as nothing."""
    with pytest.raises(InvalidInput, match="r.csv: под заголовком нет строк; импортировать нечего"):
        parse_rows("regions", Table("r.csv", ["code", "name"], []))

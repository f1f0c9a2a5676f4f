"""The limits every import cell and argument keeps: code shapes, hidden characters, widths,
whole numbers with decimal commas, ОГРН, the capped error report and the arguments' check."""

from __future__ import annotations

import re

import pytest

from storage.models import assignments, people
from workflow.errors import InvalidInput
from workflow.importing.columns import COLUMNS, CellError, code, count, ogrn, region_code
from workflow.importing.reader import column_letter
from workflow.importing.validation import ErrorLog, check_argument, hidden_character, shorten

# These tests read the Russian texts people see (the default language).
pytestmark = pytest.mark.usefixtures("russian")


@pytest.mark.parametrize("cell", ["a/b", "<S1>", "S²", "S\u200b1", "S\x00", "S;1", "S#1",
                                  "№1", "S\u00ad1"])
def test_a_code_has_only_letters_digits_dash_underscore_and_dot(cell: str) -> None:
    """`/` (a code with it cannot be opened on the dashboard), `<`, superscripts, zero-width and
    control characters are refused in codes."""
    with pytest.raises(CellError, match="в коде допустимы только буквы, цифры"):
        code()(cell)


@pytest.mark.parametrize("cell", ["S1", "0701", "ОО-12", "s_1.2", "07-01"])
def test_ordinary_codes_are_kept(cell: str) -> None:
    """Latin and Cyrillic letters, digits, `-`, `_` and `.` make a code."""
    assert code()(cell) == cell


@pytest.mark.parametrize(("cell", "value"), [("7", "07"), ("7,0", "07"), ("07", "07"),
                                             ("123", "123")])
def test_a_region_code_is_digits(cell: str, value: str) -> None:
    """A region code is digits, two at least: Excel's 7 (or 7,0) is 07."""
    assert region_code(cell) == value


def test_a_region_code_with_letters_is_refused() -> None:
    """Letters are never a region code (the contract's shape)."""
    with pytest.raises(CellError, match="код региона состоит из цифр"):
        region_code("KB")


@pytest.mark.parametrize(("cell", "value"), [("35,0", 35), ("7.0", 7), ("35,00", 35),
                                             ("1 200,0", 1200), (str(2**31 - 1), 2**31 - 1)])
def test_decimal_commas_are_whole_numbers(cell: str, value: int) -> None:
    """«35,0» and «7.0» are whole; a Russian thousands separator is dropped."""
    assert count(cell) == value


@pytest.mark.parametrize(("cell", "message"), [
    ("7,5", "'7,5': нужно целое число ≥ 0"),
    ("1,000", "'1,000': неоднозначно (1 или 1000?)"),
    (str(2**31), f"'{2**31}': больше {2**31 - 1}"),
    (str(2**63), f"'{2**63}': больше {2**31 - 1}"),
    ("²", "'²': нужно целое число ≥ 0"),
])
def test_counts_out_of_range_or_not_whole_are_refused(cell: str, message: str) -> None:
    """Fractions, ambiguous thousands and counts past PostgreSQL's INTEGER are refused."""
    with pytest.raises(CellError) as info:
        count(cell)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("cell", "value"), [("1027700132195", "1027700132195"),
                                             ("1027700132195.0", "1027700132195")])
def test_a_valid_ogrn_is_read(cell: str, value: str) -> None:
    """13 digits, the last the first twelve mod 11 mod 10."""
    assert ogrn(cell) == value


@pytest.mark.parametrize(("cell", "message"), [
    ("1027700132194", "неверная контрольная цифра ОГРН (ожидалась 5 в конце)"),
    ("10277001321", "ОГРН юридического лица — 13 цифр"),
])
def test_a_bad_ogrn_is_refused(cell: str, message: str) -> None:
    """A wrong check digit or length is refused saying which."""
    with pytest.raises(CellError, match=re.escape(message)):
        ogrn(cell)


def test_text_cells_keep_their_columns_width() -> None:
    """A name past its column's width (storage.models) is refused: PostgreSQL would refuse it."""
    name = next(c for c in COLUMNS["schools"] if c.name == "name")
    assert name.read("Ш" * 500) == "Ш" * 500
    with pytest.raises(CellError, match="длиннее 500 символов"):
        name.read("Ш" * 501)
    with pytest.raises(CellError, match="U\\+0000"):
        name.read("Школа\x00")


def test_hidden_characters_are_named() -> None:
    """A zero-width space is named with its code point and position; ordinary text passes."""
    assert hidden_character("Школа № 1") is None
    assert hidden_character("Шк\u200bола") == "U+200B ZERO WIDTH SPACE (символ 3)"


def test_a_quoted_cell_is_cut_to_80_characters() -> None:
    """A message never echoes a whole cell."""
    assert shorten("x" * 81) == "«" + "x" * 80 + "…»"
    assert shorten("a\x00b") == "«a�b»"


def test_the_error_log_keeps_the_first_100_rows_and_counts_the_rest() -> None:
    """Problems added in any order come out by row; the rows beyond are counted, not listed."""
    log = ErrorLog("f.csv", limit=3)
    for row in (9, 2, 7, 2, 5, 11):
        log.add(row, "code", f"bad {row}")
    assert log.lines() == ["f.csv:2: code: bad 2", "f.csv:2: code: bad 2",
                           "f.csv:5: code: bad 5", "… и ещё 3 строки с ошибками"]
    with pytest.raises(InvalidInput):
        log.raise_if_any()


def test_arguments_keep_the_same_limits() -> None:
    """`--as` of 300 characters, a NUL in `--reason`, `/` in a code: exit 6 naming the option."""
    assert check_argument("--as", "rc@region07.ru", people.c.email) == "rc@region07.ru"
    with pytest.raises(InvalidInput, match="^--as: длиннее 254 символов"):
        check_argument("--as", "a" * 290 + "@x.ru", people.c.email)
    with pytest.raises(InvalidInput, match="^--reason: недопустимый"):
        check_argument("--reason", "ok\x00", width=2000)
    with pytest.raises(InvalidInput, match="^--scope: .*в коде допустимы"):
        check_argument("--scope", "07/01", assignments.c.scope, code=True)


@pytest.mark.parametrize(("index", "letter"), [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"),
                                               (701, "ZZ"), (702, "AAA")])
def test_column_letters_as_a_spreadsheet_names_them(index: int, letter: str) -> None:
    """Data under a blank header is named by the column's letter."""
    assert column_letter(index) == letter

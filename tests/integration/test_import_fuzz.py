"""Fuzzing the importers: random bytes, random CSV and XLSX tables of hostile cells, broken
workbooks. Every input is imported or refused (InvalidInput: exit 6) with its rows named; none
raises anything else (exit 1). A fixed budget here; ROLLOUT_FUZZ_EXAMPLES=5000 for a long run."""

from __future__ import annotations

import io
import itertools
import os
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.builders import World
from tests.conftest import make_services
from workflow.errors import InvalidInput
from workflow.importing import KINDS, import_file
from workflow.importing.columns import COLUMNS

EXAMPLES = int(os.environ.get("ROLLOUT_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get(
    "ROLLOUT_FUZZ_RANDOM"), suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                    HealthCheck.too_slow])
NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
HOSTILE = ["", " ", "07", "7", "070101", "S1", "S2F", "0701", "7707083893", "773001001",
           "35,0", "7,5", "1 200", "7.0", "-1", "2147483648", "9" * 25, "5.02E+09", "1,000",
           "=HYPERLINK(\"x\")", "+1+cmd|'/C calc'!A0", "@SUM(1)", "S\x00", "S\u200b1", "S²",
           "a/b", "<script>", "Ш" * 600, "x" * 40, "support", "региональный координатор",
           "school_admin", "rc@region07.ru", "иван@школа.рф", "Europe/Moscow", "Mars/Olympus",
           "\"", "'", ";", ",", "\n", "\r\n", "\t", "\ufeff", "ё",
           "МБОУ «СОШ № 1»", "0" * 2001]
NAMES = sorted({a for cols in COLUMNS.values() for c in cols for a in (c.name, *c.aliases)})


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One SQLite registry (region 07, schools, people) that every example imports into."""
    tmp = tmp_path_factory.mktemp("fuzz")
    services = make_services(f"sqlite:///{tmp / 'fuzz.db'}", tmp)
    world = World(services, tmp, NOW).standard()
    yield world
    services.db.dispose()


_n = itertools.count()


def attempt(world: World, kind: str, data: bytes, suffix: str) -> None:
    """Import `data`: it must be imported or refused naming the file (never another error)."""
    path = world.tmp / f"f{next(_n)}{suffix}"
    path.write_bytes(data)
    try:
        import_file(world.services, kind, path, now=NOW)
    except InvalidInput as exc:
        assert exc.problems, "a refusal says why"
        assert all(p.startswith(path.name) or p.startswith(str(path)) for p in exc.problems), \
            exc.problems
        assert all(len(p) < 1200 for p in exc.problems), "a message never echoes a whole cell"
        assert len(exc.problems) <= 101
    finally:
        path.unlink()


def cells() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30))


def table(kind: str) -> st.SearchStrategy[list[list[str]]]:
    known = [c.name for c in COLUMNS[kind]]
    header = st.lists(st.one_of(st.sampled_from(known), st.sampled_from(NAMES), cells()),
                      min_size=1, max_size=9)
    return header.flatmap(lambda h: st.lists(
        st.lists(cells(), min_size=0, max_size=len(h) + 2), max_size=12).map(lambda rows: [
            h, *rows]))


def encode(rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    text = buf.getvalue()
    if encoding == "utf-8-sig+":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    return text.encode(encoding, "replace")


@FUZZ
@given(kind=st.sampled_from(KINDS), data=st.binary(max_size=3000),
       prefix=st.sampled_from([b"", b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe",
                               b"code,name\r\n"]))
def test_random_bytes_are_imported_or_refused(fuzz_world: World, kind: str, data: bytes,
                                               prefix: bytes) -> None:
    """Any bytes at all, as a CSV or as an XLSX, end in a result or a named refusal."""
    attempt(fuzz_world, kind, prefix + data, ".xlsx" if prefix.startswith(b"PK") else ".csv")


@FUZZ
@given(data=st.data(), kind=st.sampled_from(KINDS), delimiter=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16", "utf-8-sig+"]))
def test_random_csv_tables_are_imported_or_refused(fuzz_world: World, data: st.DataObject,
                                                   kind: str, delimiter: str,
                                                   encoding: str) -> None:
    """Tables of hostile cells under known, aliased and unknown headers, in every encoding."""
    rows = data.draw(table(kind))
    attempt(fuzz_world, kind, encode(rows, delimiter, encoding), ".csv")


xlsx_cells = st.one_of(cells(), st.integers(min_value=-2**70, max_value=2**70),
                       st.floats(allow_nan=True), st.booleans(), st.none(),
                       st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)))


@FUZZ
@given(kind=st.sampled_from(KINDS), title=st.booleans(),
       rows=st.lists(st.lists(xlsx_cells, max_size=10), max_size=10), data=st.data())
def test_random_workbooks_are_imported_or_refused(fuzz_world: World, kind: str, title: bool,
                                                  rows: list[list[object]],
                                                  data: st.DataObject) -> None:
    """Workbooks with numbers, dates, booleans and hostile text, a title row or not."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    if title:
        sheet.append(["Список"])
    sheet.append(data.draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8)))
    illegal = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
    for row in rows:
        sheet.append([illegal.sub("", v) if isinstance(v, str) else v for v in row])
    buf = io.BytesIO()
    book.save(buf)
    attempt(fuzz_world, kind, buf.getvalue(), ".xlsx")


@FUZZ
@given(kind=st.sampled_from(KINDS), cut=st.integers(min_value=0, max_value=4000),
       flips=st.lists(st.tuples(st.integers(min_value=0, max_value=6000),
                                st.integers(min_value=0, max_value=255)), max_size=8),
       drop=st.sampled_from(["", "xl/worksheets/sheet1.xml", "xl/workbook.xml",
                             "[Content_Types].xml", "xl/_rels/workbook.xml.rels"]))
def test_broken_workbooks_are_refused_cleanly(fuzz_world: World, kind: str, cut: int,
                                              flips: list[tuple[int, int]], drop: str) -> None:
    """A valid workbook with a part dropped, bytes flipped or the end cut off."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [["code", "name", "region"], ["07", "Кабардино-Балкария", "07"], [7, 7.5, None]]:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    raw = buf.getvalue()
    if drop:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                if item.filename != drop:
                    dst.writestr(item, src.read(item.filename))
        raw = out.getvalue()
    data = bytearray(raw)
    for at, value in flips:
        data[at % len(data)] = value
    if cut:
        data = data[: max(1, len(data) - cut)]
    attempt(fuzz_world, kind, bytes(data), ".xlsx")


def test_fuzzing_reaches_the_database(fuzz_world: World, tmp_path: Path) -> None:
    """The fuzzed importer is the real one: a clean file through the same path is imported."""
    path = tmp_path / "ok.csv"
    path.write_text("code;name\n42;Новая область\n", encoding="utf-8")
    assert import_file(fuzz_world.services, "regions", path, now=NOW).created == 1

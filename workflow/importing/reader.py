"""Reading coordinators' files: CSV (UTF-8, UTF-8 with BOM or Windows-1251; `,` or `;`) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from workflow.errors import InvalidInput


@dataclass
class Table:
    """A file's header and rows; row numbers count as a spreadsheet shows them (header = 1)."""

    name: str
    header: list[str]
    rows: list[tuple[int, list[str]]]


def read_table(path: Path) -> Table:
    """Read a CSV or XLSX file into text cells; InvalidInput names the file and the problem."""
    name = path.name
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    data = path.read_bytes()
    if path.suffix.lower() in (".xlsx", ".xlsm") or data[:2] == b"PK":
        header, rows = _xlsx(path)
    else:
        header, rows = _csv(name, data)
    if not header or not any(h.strip() for h in header):
        raise InvalidInput(f"{name}:1: the file has no header row")
    width = len(header)
    table_rows = []
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank lines, often at the end of an Excel export
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise InvalidInput(f"{name}:{number}: the row has {len(cells)} cells but the header "
                               f"has {width} (a delimiter inside an unquoted value?)")
        table_rows.append((number, (cells + [""] * width)[:width]))
    return Table(name, [h.strip() for h in header], table_rows)


def decode(name: str, data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then Windows-1251 — Excel's two CSV encodings."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: neither UTF-8 nor Windows-1251 text (byte {exc.start}); "
                           "save it as CSV UTF-8 or as XLSX") from None


def _csv(name: str, data: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    text = decode(name, data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput(f"{name}: the file is empty") from None
    except csv.Error as exc:
        raise InvalidInput(f"{name}:1: {exc}") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            # Count records, not lines: a quoted cell may span lines, yet it is one row in a
            # spreadsheet (a blank line is a record of its own, so it still counts).
            yield from enumerate(reader, start=2)
        except csv.Error as exc:
            raise InvalidInput(f"{name}:{reader.line_num}: {exc}") from None

    return header, rows()


def _xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    import openpyxl  # defusedxml is installed, so openpyxl parses without entity expansion

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors: not a workbook we can read
        raise InvalidInput(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    try:
        header = [_cell(v) for v in next(it)]
    except StopIteration:
        book.close()
        raise InvalidInput(f"{path.name}: the first sheet is empty") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(it, start=2):
                yield number, [_cell(v) for v in values]
        finally:
            book.close()

    return header, rows()


def _cell(value: Any) -> str:
    """A cell as the text a person typed: 7.0 → "7", dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)

"""Every CSV and XLSX the project writes: formula cells neutralised, CSV as Russian Excel opens it.

One place for it, so that a report, the audit export and a letter's attachment cannot differ:
a text cell starting with `= + - @`, a tab or a carriage return is run by a spreadsheet as a
formula (CSV injection: `=HYPERLINK(…)`, `+1+cmd|…`), so it gets a leading `'` and is shown as
text. Numbers stay numbers. CSV is UTF-8 with a BOM and `;` between cells, CRLF line ends:
Russian Excel opens that as columns of Cyrillic, where plain UTF-8 with `,` is one column of
mojibake. XLSX goes through openpyxl's write-only mode (constant memory for long exports).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
DELIMITER = ";"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
_XLSX_MAX_TEXT = 32_767  # Excel's limit for one cell; openpyxl would write a broken file


def safe_text(value: Any) -> str:
    """A value as the text of a cell, neutralised if a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_cell(value: Any) -> Any:
    """A cell for XLSX: numbers (not booleans) as numbers, everything else as neutralised text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return safe_text(value)


def _csv_cell(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # -3 is a number, not a formula
    return safe_text(value)


def write_csv_rows(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a BOM, the header and the rows to a text stream; returns the number of rows."""
    stream.write(BOM)
    writer = csv.writer(stream, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow([_csv_cell(h) for h in header])
    n = 0
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        n += 1
    return n


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole CSV as a string (for stdout or a letter's attachment)."""
    buf = io.StringIO()
    write_csv_rows(buf, header, rows)
    return buf.getvalue()


def write_xlsx_rows(target: str | Path | IO[bytes], header: Sequence[str],
                    rows: Iterable[Sequence[Any]], *, title: str = "Лист1") -> int:
    """Write one sheet (header in bold, frozen) to a path or a binary stream; returns rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for h in header:
        cell = WriteOnlyCell(sheet, value=_xlsx_value(h))
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    n = 0
    for row in rows:
        sheet.append([_xlsx_value(v) for v in row])
        n += 1
    book.save(target)
    return n


def _xlsx_value(value: Any) -> Any:
    v = safe_cell(value)
    if isinstance(v, str):
        # openpyxl refuses control characters in cells; drop them rather than fail an export
        v = "".join(ch for ch in v if ch >= " " or ch in "\t\n\r")[:_XLSX_MAX_TEXT]
    return v


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *,
               title: str = "Лист1") -> bytes:
    buf = io.BytesIO()
    write_xlsx_rows(buf, header, rows, title=title)
    return buf.getvalue()


def write_table(path: str | Path, fmt: str, header: Sequence[str],
                rows: Iterable[Sequence[Any]], *, title: str = "Лист1") -> int:
    """Write `rows` as `fmt` (csv or xlsx) to `path`: aside first, then moved into place, so a
    failure never leaves half a file where the old one was."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        if fmt == "csv":
            with tmp.open("w", encoding="utf-8", newline="") as f:
                n = write_csv_rows(f, header, rows)
        elif fmt == "xlsx":
            n = write_xlsx_rows(tmp, header, rows, title=title)
        else:
            raise ValueError(f"unknown table format {fmt!r}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return n


__all__ = ["CSV_MIME", "FORMULA_STARTS", "XLSX_MIME", "csv_text", "safe_cell", "safe_text",
           "write_csv_rows", "write_table", "write_xlsx_rows", "xlsx_bytes"]

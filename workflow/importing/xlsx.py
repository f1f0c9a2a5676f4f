"""Reading the first sheet of an XLSX workbook, after checking that it cannot blow up in memory."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from workflow.errors import InvalidInput
from workflow.i18n import _
from workflow.importing.columns import Number
from workflow.importing.validation import (
    MAX_COLUMNS,
    MAX_SHARED_STRINGS,
    MAX_XLSX_BYTES,
    MAX_XLSX_PART,
    MAX_XLSX_UNPACKED,
    shorten,
)

MB = 2**20


def check_archive(path: Path, name: str) -> None:
    """Refuse a workbook whose parts would not fit in memory, before openpyxl opens it.

    openpyxl reads the whole shared-strings table into memory even in read-only mode: a
    310 KB file holding one 300 MB string took 2.4 GB. The sizes in the zip's directory are
    what zipfile will decompress at most (it stops at the declared size), so checking them
    is enough.
    """
    size = path.stat().st_size
    if size > MAX_XLSX_BYTES:
        raise InvalidInput(_("{file}: the XLSX workbook is larger than {limit} MB ({size} MB); "
                             "split it or save it as CSV", file=name,
                             limit=MAX_XLSX_BYTES // MB, size=size // MB))
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput(_("{file}: not an XLSX workbook (cannot be read as a zip: {error})",
                             file=name, error=exc)) from None
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNPACKED:
        raise InvalidInput(_("{file}: the XLSX workbook unpacks to {size} MB (more than "
                             "{limit} MB): it is not read", file=name, size=total // MB,
                             limit=MAX_XLSX_UNPACKED // MB))
    for info in infos:
        limit = (MAX_SHARED_STRINGS if info.filename.lower().endswith("sharedstrings.xml")
                 else MAX_XLSX_PART)
        if info.file_size > limit:
            raise InvalidInput(_("{file}: the workbook's part {part} unpacks to {size} MB "
                                 "(more than {limit} MB): it is not read", file=name,
                                 part=shorten(info.filename), size=info.file_size // MB,
                                 limit=limit // MB))
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise InvalidInput(_("{file}: not an XLSX workbook (the archive has no "
                             "xl/workbook.xml)", file=name))


def xlsx_rows(path: Path, name: str) -> Iterator[tuple[int, list[str]]]:
    """Every row of the first sheet as text cells, numbered as the spreadsheet shows them."""
    check_archive(path, name)
    import openpyxl  # defusedxml is installed, so openpyxl parses without entity expansion

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors: not a workbook we can read
        error = f"{type(exc).__name__}: {shorten(exc)}"
        raise InvalidInput(_("{file}: the XLSX workbook cannot be read ({error})", file=name,
                             error=error)) from None
    number = 0
    try:
        if not book.worksheets:
            raise InvalidInput(_("{file}: the workbook has no sheets", file=name))
        sheet = book.worksheets[0]
        # The sheet's declared dimensions are not trusted: "A1:XFD1048576" over three rows would
        # have openpyxl pad every row to 16,384 cells and add a million empty rows at the end.
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in values[:MAX_COLUMNS]]
    except InvalidInput:
        raise
    except Exception as exc:  # a missing sheet part, broken XML: name where it stopped
        error = f"{type(exc).__name__}: {shorten(exc)}"
        raise InvalidInput(_("{file}:{row}: the workbook's sheet cannot be read ({error})",
                             file=name, row=number + 1, error=error)) from None
    finally:
        book.close()


def _cell(value: Any) -> str:
    """A cell as the text a person typed: 7.0 → "7", dates as ISO; a number is a `Number`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return Number(value)
    if isinstance(value, float):
        return Number(int(value)) if value.is_integer() else Number(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)

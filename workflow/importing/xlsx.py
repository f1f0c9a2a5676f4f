"""Reading the first sheet of an XLSX workbook, after checking that it cannot blow up in memory."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from workflow.errors import InvalidInput
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
        raise InvalidInput(f"{name}: книга XLSX больше {MAX_XLSX_BYTES // MB} МБ "
                           f"({size // MB} МБ); разделите её или сохраните как CSV")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput(f"{name}: не книга XLSX (не читается как zip: {exc})") from None
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNPACKED:
        raise InvalidInput(f"{name}: книга XLSX распаковывается в {total // MB} МБ (больше "
                           f"{MAX_XLSX_UNPACKED // MB} МБ): её не читаем")
    for info in infos:
        limit = (MAX_SHARED_STRINGS if info.filename.lower().endswith("sharedstrings.xml")
                 else MAX_XLSX_PART)
        if info.file_size > limit:
            raise InvalidInput(f"{name}: часть книги {shorten(info.filename)} распаковывается в "
                               f"{info.file_size // MB} МБ (больше {limit // MB} МБ): "
                               "её не читаем")
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise InvalidInput(f"{name}: не книга XLSX (в архиве нет xl/workbook.xml)")


def xlsx_rows(path: Path, name: str) -> Iterator[tuple[int, list[str]]]:
    """Every row of the first sheet as text cells, numbered as the spreadsheet shows them."""
    check_archive(path, name)
    import openpyxl  # defusedxml is installed, so openpyxl parses without entity expansion

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors: not a workbook we can read
        raise InvalidInput(f"{name}: книга XLSX не читается "
                           f"({type(exc).__name__}: {shorten(exc)})") from None
    number = 0
    try:
        if not book.worksheets:
            raise InvalidInput(f"{name}: в книге нет листов")
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
        raise InvalidInput(f"{name}:{number + 1}: лист книги не читается "
                           f"({type(exc).__name__}: {shorten(exc)})") from None
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

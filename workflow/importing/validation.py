"""The limits every import and argument keeps, so that SQLite and PostgreSQL accept the same data.

SQLite stores what PostgreSQL refuses (text past a VARCHAR's width, NUL bytes, integers past
2³¹ in an INTEGER column): checking here, before either database sees a value, makes both
accept exactly the same files. The limits on files, cells and error reports keep an import's
memory bounded whatever the file holds.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from typing import Any

from sqlalchemy import Column

from workflow.errors import InvalidInput
from workflow.i18n import _, ngettext

MAX_CSV_BYTES = 512 * 2**20  # a national registry is ~10 MB; past this a file is not a registry
MAX_XLSX_BYTES = 20 * 2**20  # the upload limit for a workbook, compressed
MAX_XLSX_UNPACKED = 600 * 2**20  # all its parts together, uncompressed (XML packs ~15:1)
MAX_XLSX_PART = 500 * 2**20  # one part (a sheet's XML), uncompressed: it is streamed
MAX_SHARED_STRINGS = 24 * 2**20  # openpyxl holds the whole table in memory: ~6x its XML size
MAX_LINE_BYTES = 2**20  # one CSV line; /dev/zero or a binary file has none shorter
MAX_CELL_CHARS = 2000  # the widest column is 500 characters; a longer cell is never right
MAX_COLUMNS = 256  # cells past this column of a spreadsheet are not read
MAX_ERRORS = 100  # shown; the rest are counted
INT_MAX = 2**31 - 1  # PostgreSQL's INTEGER
SHOWN_CHARS = 80  # of a cell quoted in a message

REGION_CODE = re.compile(r"[0-9]{2}")
CODE = re.compile(r"[0-9A-Za-zА-Яа-яЁё_.\-]+")
# Control characters, format characters (zero-width space, BOM, bidi marks), surrogates and
# private use: invisible in a spreadsheet, so two codes that look the same would differ.
_HIDDEN = frozenset(("Cc", "Cf", "Cs", "Co", "Cn"))


def shorten(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A cell quoted in a message: never more than `limit` characters, cut with «…»."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return "«" + "".join(ch if unicodedata.category(ch) not in _HIDDEN else "�"
                         for ch in text) + "»"


def hidden_character(value: str) -> str | None:
    """A description of the first invisible or control character in `value`, if any."""
    if value.isprintable():  # the usual case, in C: no control, format or unassigned character
        return None
    for i, ch in enumerate(value):
        if unicodedata.category(ch) in _HIDDEN and ch not in "\t\n\r":
            name = unicodedata.name(ch, "")
            code = f"U+{ord(ch):04X}{' ' + name if name else ''}"
            return _("{code} (character {n})", code=code, n=i + 1)
    return None


def check_text(value: str, width: int | None) -> str:
    """`value` unless it has hidden characters or passes the column's width (ValueError)."""
    bad = hidden_character(value)
    if bad:
        raise ValueError(_("an invisible or control character is not allowed: {what}",
                           what=bad))
    if width is not None and len(value) > width:
        raise ValueError(ngettext("longer than {n} character ({length}): {value}",
                                  "longer than {n} characters ({length}): {value}", width,
                                  length=len(value), value=shorten(value)))
    return value


def width_of(column: Column[Any]) -> int | None:
    """The declared width of a text column (storage.models), None for unbounded."""
    return getattr(column.type, "length", None)


def check_argument(name: str, value: str | None, column: Column[Any] | None = None, *,
                   width: int | None = None, code: bool = False) -> str | None:
    """A command-line argument (`--as`, `--reason`, `--email`, `--scope`): the same limits as an
    import cell, InvalidInput (exit 6) naming the option. For workflow.services and the CLI."""
    if value is None:
        return None
    limit = width if width is not None else (width_of(column) if column is not None else None)
    try:
        check_text(value, limit)
        if code and not CODE.fullmatch(value):
            raise ValueError(_("{value}: a code may hold only letters, digits, «-», «_» and "
                               "«.»", value=shorten(value)))
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}") from None
    return value


class ErrorLog:
    """The problems of one import: the first MAX_ERRORS by row are kept, the rest counted.

    A file of a million bad rows must not become a million lines of report (137 MB was seen):
    a heap keeps the earliest rows, a bitmap counts the rows with problems.
    """

    def __init__(self, name: str, limit: int = MAX_ERRORS) -> None:
        self.name, self.limit = name, limit
        self._heap: list[tuple[int, int, str, str]] = []  # (-row, -seq, column, text): max-heap
        self._seq = 0
        self._rows = bytearray()
        self.count = 0

    def add(self, row: int, column: str, text: str) -> None:
        self.count += 1
        byte = row >> 3
        if byte >= len(self._rows):
            self._rows.extend(bytes(byte + 1 - len(self._rows) + 4096))
        self._rows[byte] |= 1 << (row & 7)
        self._seq += 1
        item = (-row, -self._seq, column, text)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def __bool__(self) -> bool:
        return self.count > 0

    def bad_rows(self) -> int:
        return sum(bin(b).count("1") for b in self._rows)

    def lines(self) -> list[str]:
        kept = sorted((-r, -s, c, t) for r, s, c, t in self._heap)
        out = [f"{self.name}:{row}: {col}: {text}" if col else f"{self.name}:{row}: {text}"
               for row, _, col, text in kept]
        more = self.bad_rows() - len({row for row, *_ in kept})
        if more > 0:
            out.append(ngettext("… and {n} more row with errors", "… and {n} more rows with errors",
                                more))
        return out

    def raise_if_any(self) -> None:
        if self.count:
            raise InvalidInput(self.lines())


__all__ = ["ErrorLog", "check_argument", "check_text", "hidden_character", "shorten"]

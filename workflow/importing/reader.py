"""Reading coordinators' files as a stream of rows: CSV (UTF-8 with or without BOM, UTF-16 with
BOM, or Windows-1251; `,` or `;`) or XLSX (the first sheet), the header found among the first rows.

Rows are read one at a time, never the whole file: an import's memory does not grow with the
file. Each CSV line is decoded on its own, so a file that is UTF-8 but for one Windows-1251 row
is refused naming that row instead of being decoded wholly as Windows-1251 and imported garbled.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from workflow.errors import InvalidInput
from workflow.i18n import _
from workflow.importing.validation import MAX_CSV_BYTES, MAX_LINE_BYTES, shorten
from workflow.importing.xlsx import xlsx_rows

HEADER_SEARCH_ROWS = 10  # a title (merged over the columns) may sit above the header
MB = 2**20
Score = Callable[[list[str]], int]


@dataclass
class Table:
    """A file's header and rows; row numbers count as a spreadsheet shows them (header = 1).

    `rows` is read once, as it streams from the file (a list will do in tests)."""

    name: str
    header: list[str]
    rows: Iterable[tuple[int, list[str]]]
    header_row: int = 1


def check_source(path: Path) -> None:
    """A regular file, not a device, a pipe or a folder (`/dev/zero` never ends)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InvalidInput(_("{file}: no such file", file=path)) from None
    except OSError as exc:
        raise InvalidInput(_("{file}: cannot be read ({error})", file=path,
                             error=exc.strerror)) from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(_("{file}: not a regular file (a device, a pipe or a folder); give "
                             "a CSV or XLSX file", file=path))


def is_xlsx(path: Path) -> bool:
    with path.open("rb") as f:
        return path.suffix.lower() in (".xlsx", ".xlsm") or f.read(2) == b"PK"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(MB), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: Path, score: Score | None = None) -> Table:
    """The file's header and a stream of its rows; InvalidInput names the file and the problem.

    `score(cells)` says how many known column names a row holds: the best of the first
    HEADER_SEARCH_ROWS rows is the header (row 1 without it, or when no row names any).
    """
    name = path.name
    check_source(path)
    raw = xlsx_rows(path, name) if is_xlsx(path) else csv_rows(path, name)
    head = list(itertools.islice(raw, HEADER_SEARCH_ROWS))
    filled = [(n, cells) for n, cells in head if any(c.strip() for c in cells)]
    if not filled:
        raise InvalidInput(_("{file}:1: the file has no header row", file=name))
    best = filled[0]
    if score is not None:
        scored = max(filled, key=lambda nc: (score(nc[1]), -nc[0]))
        if score(scored[1]) > 0:
            best = scored
    number, header = best
    rest = itertools.chain((nc for nc in head if nc[0] > number), raw)
    return Table(name, [h.strip() for h in header], _data(rest), number)


def _data(rows: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    for number, cells in rows:
        if any(map(str.strip, cells)):  # blank lines, often at the end of an Excel export
            yield number, cells


class _BadLine(Exception):
    """A CSV line that cannot be decoded; the caller knows which row it belongs to."""


def csv_rows(path: Path, name: str) -> Iterator[tuple[int, list[str]]]:
    """Every record of a CSV file, numbered from 1, decoded line by line."""
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InvalidInput(_("{file}: the CSV file is larger than {limit} MB ({size} MB)",
                             file=name, limit=MAX_CSV_BYTES // MB, size=size // MB))
    with path.open("rb") as f:
        start = f.read(4)
        f.seek(0)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            lines: Iterator[str] = _utf16_lines(f)
        else:
            bom = start.startswith(codecs.BOM_UTF8)
            f.seek(3 if bom else 0)
            lines = _decoded_lines(f, bom)
        number = 0
        first, held = _sample(lines)
        try:
            sample = "".join(first)
            delimiter = ";" if sample.count(";") > sample.count(",") else ","
            reader = csv.reader(_resume(first, held, lines), delimiter=delimiter)
            # Count records, not lines: a quoted cell may span lines, yet it is one row in a
            # spreadsheet (a blank line is a record of its own, so it still counts).
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except _BadLine as exc:
            raise InvalidInput(f"{name}:{number + 1}: {exc}") from None
        except csv.Error as exc:
            raise InvalidInput(f"{name}:{number + 1}: {shorten(exc)}") from None
        if number == 0:
            raise InvalidInput(_("{file}: the file is empty", file=name))


def _sample(lines: Iterator[str]) -> tuple[list[str], _BadLine | None]:
    """The first lines (to choose the delimiter), and a decoding error met among them, kept
    until the reader reaches its row so that the message names that row."""
    first: list[str] = []
    try:
        for line in lines:
            first.append(line)
            if len(first) >= HEADER_SEARCH_ROWS:
                break
    except _BadLine as exc:
        return first, exc
    return first, None


def _resume(first: list[str], held: _BadLine | None, lines: Iterator[str]) -> Iterator[str]:
    yield from first
    if held is not None:
        raise held
    yield from lines


def _raw_lines(f: BinaryIO) -> Iterator[bytes]:
    while line := f.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES:
            raise _BadLine(_("a line longer than {mb} MB: this is not a CSV table",
                             mb=MAX_LINE_BYTES // MB))
        yield line


def _decoded_lines(f: BinaryIO, bom: bool) -> Iterator[str]:
    """UTF-8, or Windows-1251 (Excel's two CSV encodings), decided by the first line that is
    not ASCII and then held to for every line."""
    encoding = "utf-8" if bom else None
    for line in _raw_lines(f):
        if line.isascii():
            yield line.decode("ascii")
            continue
        as_utf8 = _try(line, "utf-8")
        if encoding is None:
            encoding = "utf-8" if as_utf8 is not None else "cp1251"
        if encoding == "utf-8":
            if as_utf8 is None:
                if bom and _try(line, "cp1251") is not None:
                    raise _BadLine(_("the file is marked as UTF-8 (BOM), but this line is in "
                                     "Windows-1251; save the file again as «CSV UTF-8»"))
                raise _BadLine(_("this line is not in UTF-8, unlike the start of the file (mixed "
                                 "encodings); save the file again as «CSV UTF-8» or XLSX"))
            yield as_utf8
        else:
            if as_utf8 is not None:
                raise _BadLine(_("this line is in UTF-8, but the start of the file is in "
                                 "Windows-1251 (mixed encodings); save the file again as «CSV "
                                 "UTF-8» or XLSX"))
            as_1251 = _try(line, "cp1251")
            if as_1251 is None:
                raise _BadLine(_("this line is neither UTF-8 nor Windows-1251; save the file as "
                                 "«CSV UTF-8» or XLSX"))
            yield as_1251


def _utf16_lines(f: BinaryIO) -> Iterator[str]:
    """A UTF-16 file (Excel's «Unicode text»), decoded incrementally, lines capped."""
    decoder = codecs.getincrementaldecoder("utf-16")(errors="strict")
    pending = ""
    try:
        for block in iter(lambda: f.read(64 * 1024), b""):
            pending += decoder.decode(block)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
            if len(pending) > MAX_LINE_BYTES:
                raise _BadLine(_("a line longer than {mb} MB: this is not a CSV table",
                             mb=MAX_LINE_BYTES // MB))
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _BadLine(_("the file is marked as UTF-16 (BOM), but does not decode as UTF-16")
                       ) from None
    if pending:
        yield pending


def _try(line: bytes, encoding: str) -> str | None:
    try:
        return line.decode(encoding)
    except UnicodeDecodeError:
        return None


def column_letter(index: int) -> str:
    """A 0-based column position as a spreadsheet names it: 0 → A, 27 → AB."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


__all__ = ["Table", "check_source", "column_letter", "read_table", "sha256"]

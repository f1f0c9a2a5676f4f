"""The coordinator's own list of schools, as they have it: Russian headers (found below title and
group rows), ИНН, КПП, ОГРН, full and short name, municipality, main school of a branch."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from workflow.errors import InvalidInput
from workflow.i18n import _, ngettext
from workflow.importing.cells import inn_check_digit, ogrn_check_digit
from workflow.importing.reader import read_table

HEADER_SEARCH_ROWS = 10  # title and group rows above the real header, as exports have them
MAX_ROWS = 20_000  # the largest region has about 1,500 schools and branches
MAX_PROBLEMS = 100  # a report a person can read; the rest would only repeat it
FIELDS = ("code", "inn", "kpp", "ogrn", "name", "short_name", "municipality", "parent",
          "parent_inn", "parent_kpp")
FIELD_TITLES = {"inn": "ИНН", "kpp": "КПП", "ogrn": "ОГРН", "name": "наименование",
                "short_name": "краткое наименование", "parent_inn": "ИНН головной организации",
                "parent_kpp": "КПП головной организации"}
WIDTHS = {"inn": 10, "kpp": 9, "ogrn": 13, "parent_inn": 10, "parent_kpp": 9}


@dataclass(frozen=True)
class ListRow:
    """One school of the coordinator's list; `row` as the spreadsheet numbers it."""

    row: int
    name: str
    inn: str | None = None
    kpp: str | None = None
    ogrn: str | None = None
    short_name: str | None = None
    municipality: str | None = None  # a name or a code, as written
    parent: str | None = None  # the main school: a name, an ИНН or «ИНН/КПП», as written
    code: str | None = None  # rollout's school code, when the list came from our own report


@dataclass(frozen=True)
class CoordinatorList:
    file: str
    header_row: int
    columns: dict[str, str]  # field -> the header as written
    has_parent: bool
    rows: list[ListRow]


def _words(text: str) -> str:
    return re.sub(r"[^\wё№]+", " ", text.casefold().replace("ё", "е")).strip()


_PARENT = re.compile(r"\bголовн|\bосновн\w*\s+(школ|организац|учрежден|оо\b)")


def field_of(header: str) -> str | None:
    """Which field a header names: by the words it holds, as Russian registries title them."""
    h = _words(header)
    if not h:
        return None
    words = set(h.split())
    parent = bool(_PARENT.search(h)) or h == "parent"
    if "инн" in words or h == "inn":
        return "parent_inn" if parent else "inn"
    if "кпп" in words or h == "kpp":
        return "parent_kpp" if parent else "kpp"
    if "огрн" in words or h == "ogrn":
        return None if parent else "ogrn"
    if parent:
        return "parent"
    if any(w.startswith("муницип") for w in words) or h in ("municipality", "мо", "район",
                                                           "городской округ"):
        return "municipality"
    if any(w.startswith(("кратк", "сокращ")) for w in words) or h == "short_name":
        return "short_name"
    if any(w.startswith("наименован") for w in words) or h in ("name", "full_name", "название"):
        return "name"
    if h in ("код", "код оо", "code", "код школы"):
        return "code"
    return None


def _columns(cells: list[str], above: list[str]) -> dict[int, str]:
    """Field per column index of a header row, read with the row above it: a group title
    merged over several columns holds its value in its first cell only, and a header merged
    down over both rows holds it in the upper one."""
    out: dict[int, str] = {}
    group = ""
    # a row may stop short of the one above it (its last cells are merged down from there)
    cells = cells + [""] * (len(above) - len(cells))
    for i, raw in enumerate(cells):
        top = above[i].strip() if i < len(above) else ""
        group = top or group
        cell = raw.strip()
        if cell:
            found = (field_of(f"{group} {cell}") if group else None) or field_of(cell)
        else:
            found = field_of(top) if top else None
        if found and found not in out.values():
            out[i] = found
    return out


def read_list(path: Path) -> CoordinatorList:
    """Read and check the list; InvalidInput names every bad row and column (nothing recorded).

    Rows stream from the importer's reader; only the first few are held to find the header.
    """
    table = read_table(path)
    stream = iter(table.rows)
    # the reader's header row (1 unless it skipped blank lines above it) and what follows
    lines = [(getattr(table, "header_row", 1), table.header)]
    lines += list(itertools.islice(stream, HEADER_SEARCH_ROWS - 1))
    best: tuple[int, int, dict[int, str]] | None = None
    for pos in range(len(lines)):
        above = lines[pos - 1][1] if pos else []
        cols = _columns(lines[pos][1], above)
        named = set(cols.values())
        if ("name" in named or "short_name" in named) and (
                best is None or len(cols) > len(best[2])):
            best = (pos, lines[pos][0], cols)
    if best is None:
        raise InvalidInput(_("{file}: no header row with the schools' names found (expected "
                             "the columns «ИНН», «КПП», «Полное наименование», "
                             "«Муниципалитет», «Головная организация»)", file=table.name))
    pos, header_row, cols = best
    problems: list[str] = []
    rows: list[ListRow] = []
    for number, cells in itertools.chain(lines[pos + 1:], stream):
        values = {f: cells[i].strip() for i, f in cols.items() if i < len(cells)}
        if not any(values.values()):
            continue
        if len(rows) + len(problems) >= MAX_ROWS:
            raise InvalidInput(_("{file}:{row}: more than {limit} rows: this is not the list "
                                 "of one region's schools", file=table.name, row=number,
                                 limit=MAX_ROWS))
        row = _row(table.name, number, values, problems)
        if row is not None:
            rows.append(row)
        if len(problems) >= MAX_PROBLEMS:
            problems.append(_("{file}: checking stopped after {n} errors", file=table.name,
                              n=MAX_PROBLEMS))
            break
    if problems:
        raise InvalidInput(problems)
    if not rows:
        raise InvalidInput(_("{file}: not a single school under the header (row {row})",
                             file=table.name, row=header_row))
    header, above = lines[pos][1], lines[pos - 1][1] if pos else []
    titles = {f: (header[i] if i < len(header) and header[i].strip() else above[i])
              for i, f in cols.items()}
    return CoordinatorList(table.name, header_row, titles,
                           "parent" in cols.values() or "parent_inn" in cols.values(), rows)


def _digits(file: str, number: int, field: str, raw: str, problems: list[str]) -> str | None:
    """ИНН, КПП, ОГРН as digits of their width; Excel's lost leading zero put back."""
    if not raw:
        return None
    text = raw.replace(" ", "").replace("\u00a0", "")
    if re.fullmatch(r"\d+[.,]0+", text):
        text = re.split(r"[.,]", text)[0]
    width = WIDTHS[field]
    if not text.isdigit() or len(text) > width or len(text) < width - 1:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        problems.append(f"{file}:{number}: {FIELD_TITLES[field]}: " + _(
            "{width} digits expected, the cell holds «{shown}»", width=width, shown=shown))
        return None
    text = text.zfill(width)  # a number cell drops one leading zero (ИНН 07… of region 07)
    if _check_digit(field, text) not in (None, text[-1]):
        problems.append(f"{file}:{number}: {FIELD_TITLES[field]}: " + _(
            "{value}: wrong check digit ({digit} expected), a typo?", value=text,
            digit=_check_digit(field, text)))
        return None
    return text


def _check_digit(field: str, text: str) -> str | None:
    """The check digit an ИНН (legal entity) or ОГРН must end with; None where there is none."""
    if field in ("inn", "parent_inn"):
        return str(inn_check_digit(text))
    if field == "ogrn":
        return str(ogrn_check_digit(text))
    return None


def _row(file: str, number: int, v: dict[str, str], problems: list[str]) -> ListRow | None:
    before = len(problems)
    digits = {f: _digits(file, number, f, v.get(f, ""), problems) for f in WIDTHS}
    name = v.get("name") or v.get("short_name") or ""
    if not name:
        problems.append(f"{file}:{number}: {FIELD_TITLES['name']}: "
                        + _("empty, but the row is not"))
    for f in ("name", "short_name", "municipality", "parent"):
        if len(v.get(f, "")) > 500:
            problems.append(f"{file}:{number}: {FIELD_TITLES.get(f, f)}: "
                            + ngettext("longer than {n} character",
                                       "longer than {n} characters", 500))
    if len(problems) > before:
        return None
    parent = v.get("parent") or None
    if digits["parent_inn"]:
        parent = digits["parent_inn"] + (f"/{digits['parent_kpp']}" if digits["parent_kpp"]
                                         else "")
    return ListRow(row=number, name=name, inn=digits["inn"], kpp=digits["kpp"],
                   ogrn=digits["ogrn"], short_name=v.get("short_name") or None,
                   municipality=v.get("municipality") or None, parent=parent,
                   code=v.get("code") or None)

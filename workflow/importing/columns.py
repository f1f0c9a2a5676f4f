"""The columns of each import kind: names, Russian aliases, how a cell is read, the header."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Column as DbColumn

from storage.models import assignments, metrics, municipalities, people, regions, schools
from workflow.i18n import _
from workflow.importing.cells import (
    ROLE_ALIASES,
    CellError,
    Number,
    code,
    count,
    email,
    inn,
    kpp,
    ogrn,
    q,
    region_code,
    role,
    text,
    timezone,
)
from workflow.importing.validation import check_text, width_of


@dataclass(frozen=True)
class Column:
    """An import column: its name, Russian aliases, how a cell is read, and what it is stored
    in (whose width bounds it); `family` names the kind of code a code column holds."""

    name: str
    parse: Callable[[str], Any]
    required: bool = False
    aliases: tuple[str, ...] = ()
    db: DbColumn[Any] | None = None
    family: str | None = None
    # The stored column's width, looked up once: `read` runs for every cell of a file.
    width: int | None = field(init=False, repr=False, compare=False, default=None)
    # `read` as one function built once (the parse and the check together, no attribute
    # looked up per cell): what stage_rows calls for each cell.
    reader: Callable[[str], Any] = field(init=False, repr=False, compare=False,
                                         default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.db is not None:
            object.__setattr__(self, "width", width_of(self.db))
        object.__setattr__(self, "reader", _reader(self.parse, self.width))

    def read(self, raw: str) -> Any:
        """The cell's value; CellError names what is wrong (hidden characters, width too)."""
        return self.reader(raw)


def _reader(parse: Callable[[str], Any], width: int | None) -> Callable[[str], Any]:
    if parse is count:  # an int, or CellError: nothing to check after it
        return parse

    def read(raw: str) -> Any:
        value = parse(raw)
        # check_text only where it may refuse: a printable value within the width passes
        if isinstance(value, str) and (not value.isprintable() or (
                width is not None and len(value) > width)):
            try:
                check_text(value, width)
            except ValueError as exc:
                raise CellError(str(exc)) from None
        return value

    return read


def _c(name: str, parse: Callable[[str], Any], required: bool, *aliases: str,
       db: DbColumn[Any] | None = None, family: str | None = None) -> Column:
    return Column(name, parse, required, aliases, db, family)


TZ = ("часовой пояс", "временная зона", "таймзона")
REGION = ("регион", "код региона", "субъект")
COLUMNS: dict[str, tuple[Column, ...]] = {
    "regions": (
        _c("code", region_code, True, "код", "код региона", "код субъекта", db=regions.c.code,
           family="region"),
        _c("name", text, True, "наименование", "название", "регион", "наименование региона",
           "субъект рф", db=regions.c.name),
        _c("timezone", timezone, False, *TZ, db=regions.c.timezone),
    ),
    "municipalities": (
        _c("region", region_code, True, *REGION, db=regions.c.code, family="region"),
        _c("code", code(), True, "код", "код муниципалитета", "октмо", db=municipalities.c.code,
           family="municipality"),
        _c("name", text, True, "наименование", "название", "муниципалитет",
           "наименование муниципалитета", db=municipalities.c.name),
        _c("timezone", timezone, False, *TZ, db=municipalities.c.timezone),
    ),
    "schools": (
        _c("region", region_code, True, *REGION, db=regions.c.code, family="region"),
        _c("municipality", code(), False, "муниципалитет", "код муниципалитета",
           db=municipalities.c.code, family="municipality"),
        _c("code", code(), True, "код", "код оо", "код школы", db=schools.c.code,
           family="school"),
        _c("name", text, True, "наименование", "название", "наименование оо", "школа",
           "полное наименование", db=schools.c.name),
        _c("inn", inn, False, "инн", db=schools.c.inn),
        _c("kpp", kpp, False, "кпп", db=schools.c.kpp),
        _c("parent", code(), False, "головная оо", "код головной оо", "головная организация",
           "основная школа", db=schools.c.parent_code, family="school"),
        _c("teachers_expected", count, True, "педагогов", "педагоги", "число педагогов",
           "кол-во педагогов", "учителей"),
        _c("classes_expected", count, True, "классов", "классы", "число классов",
           "кол-во классов"),
        _c("students_expected", count, True, "учащихся", "учащиеся", "обучающихся",
           "число учащихся", "кол-во учащихся"),
        _c("parents_expected", count, False, "родителей", "законных представителей",
           "число родителей", "кол-во родителей"),
        _c("timezone", timezone, False, *TZ, db=schools.c.timezone),
    ),
    # People: optional contact columns (position, organisation, phone...) go at the end.
    "people": (
        _c("email", email, True, "эл. почта", "эл.почта", "электронная почта", "e-mail",
           "почта", "адрес электронной почты", db=people.c.email),
        _c("name", text, True, "фио", "ф.и.о.", "ф. и. о.", "имя", db=people.c.name),
        _c("role", role, True, "роль"),
        _c("scope", code(), False, "область", "код области", "зона ответственности", "объект",
           db=assignments.c.scope, family="scope"),
        _c("position", text, False, "должность", db=people.c.position),
        _c("organisation", text, False, "организация", "место работы", "ведомство",
           db=people.c.organisation),
        _c("phone", text, False, "телефон", "тел.", "контактный телефон", db=people.c.phone),
    ),
    "metrics": (
        _c("school", code(), True, "школа", "код оо", "код школы", "оо",
           db=metrics.c.school_code, family="school"),
        _c("teachers", count, False, "педагоги", "педагогов"),
        _c("classes", count, False, "классы", "классов"),
        _c("parents", count, False, "законные представители", "родители", "родителей"),
        _c("students", count, False, "учащиеся", "учащихся", "обучающиеся"),
    ),
}


def normalise_header(name: str) -> str:
    """Compare headers without case, ё, extra spaces or a trailing '*' (Excel templates mark
    required columns that way)."""
    name = name.replace("\ufeff", "")  # a BOM stuck to the first header cell
    return " ".join(name.strip().rstrip("*").strip().lower().replace("ё", "е").split())


@cache
def _by_name(kind: str) -> Mapping[str, Column]:
    """The kind's columns by normalised name and alias (built once: the header search asks
    for each of the first rows)."""
    by_name: dict[str, Column] = {}
    for c in COLUMNS[kind]:
        for alias in (c.name, *c.aliases):
            by_name[normalise_header(alias)] = c
    return by_name


def header_score(kind: str, cells: list[str]) -> int:
    """How many cells of a row name a column of `kind`: the header row is the best of the
    first rows (titles and merged captions above it name none)."""
    by_name = _by_name(kind)
    return len({by_name[n].name for n in map(normalise_header, cells) if n in by_name})


@dataclass
class Header:
    """A resolved header: columns by position, the ignored names, the blank positions."""

    columns: dict[int, Column]
    problems: list[str]
    ignored: list[str]
    blank: list[int]


def resolve(kind: str, header: list[str]) -> Header:
    """Map header positions to columns. Unknown names are ignored (an ОГРН or an address
    column is normal in a coordinator's file) and listed; repeated and missing columns are
    problems; blank positions are kept so that data under them can be refused."""
    by_name = _by_name(kind)
    found: dict[int, Column] = {}
    seen: dict[str, str] = {}
    problems, ignored, blank = [], [], []
    for i, raw in enumerate(header):
        if not raw.strip():
            blank.append(i)
            continue
        col = by_name.get(normalise_header(raw))
        if col is None:
            ignored.append(raw.strip())
        elif col.name in seen:
            problems.append(_("column {column}: the same column as {other}", column=q(raw),
                              other=q(seen[col.name])))
        else:
            found[i] = col
            seen[col.name] = raw
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in seen]
    problems += [_("column {column}: required, but missing", column=name) for name in missing]
    if missing and ignored:  # a misspelt name, perhaps: say which were not recognised
        known = ", ".join(c.name for c in COLUMNS[kind])
        problems.append(_("columns not recognised: {names} (the columns of {kind}: {known}; "
                          "their Russian names are listed in the README)",
                          names=", ".join(q(n) for n in ignored), kind=kind, known=known))
    return Header(found, problems, ignored, blank)


def resolve_header(kind: str, header: list[str]) -> tuple[dict[int, Column], list[str]]:
    """`resolve` as (columns, problems), the unknown columns left out of both."""
    h = resolve(kind, header)
    return h.columns, h.problems


__all__ = ["COLUMNS", "ROLE_ALIASES", "CellError", "Column", "Header", "Number", "code", "count",
           "email", "header_score", "inn", "kpp", "normalise_header", "ogrn", "q", "region_code",
           "resolve", "resolve_header", "role", "text", "timezone"]

"""The columns of each import kind: names, Russian aliases, and how a cell is read."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Column as DbColumn

from states import ROLES
from storage.models import assignments, metrics, municipalities, people, regions, schools
from workflow.config import EMAIL_RE
from workflow.importing.validation import (
    CODE,
    INT_MAX,
    SHOWN_CHARS,
    check_text,
    width_of,
)

SCIENTIFIC = re.compile(r"^[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+$")
FLOAT_ZERO = re.compile(r"[0-9]+[.,]0+")
SPACE = re.compile(r"\s")
COUNT = re.compile(r"([0-9]+)(?:([.,])([0-9]+))?")
DIGITS = re.compile(r"[0-9]+")
KPP = re.compile(r"^[0-9]{4}[0-9A-Z]{2}[0-9]{3}$")
INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
ROLE_ALIASES = {
    "стп": "support", "служба технической поддержки": "support",
    "руководитель программы": "program_manager",
    "руководитель программы внедрения": "program_manager", "аудитор": "auditor",
    "региональный координатор": "regional_coordinator",
    "муниципальный координатор": "municipal_coordinator",
    "администратор оо": "school_admin", "администратор": "school_admin",
}


class CellError(ValueError):
    """A cell that cannot be read; the message says what is wrong and how to fix it."""


class Number(str):
    """The text of a spreadsheet cell that held a number: a code in it may have lost its
    leading zeros (Excel shows 070101 typed into a number cell as 70101)."""

    __slots__ = ()


def q(value: str) -> str:
    """A cell quoted in a message, cut to SHOWN_CHARS: a message never echoes a whole cell."""
    return repr(value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…")


def text(value: str) -> str:
    return " ".join(value.split())


def code(width: int | None = None) -> Callable[[str], str]:
    """A code is a string of letters, digits, `-`, `_` and `.`; Excel's lost leading zeros
    come back where the width is known (a region code: 2 digits)."""

    def parse(value: str) -> str:
        v = value.strip()
        if not DIGITS.fullmatch(v):  # digits alone (most codes) need none of these checks
            if SCIENTIFIC.match(v):
                raise CellError(f"{q(v)} looks like a number Excel shortened to scientific "
                                "notation; format the column as text and export again")
            if FLOAT_ZERO.fullmatch(v):  # a number cell typed as 7.0 (or 7,0)
                v = re.split("[.,]", v)[0]
            elif SPACE.search(v):
                raise CellError(f"{q(v)}: a code has no spaces")
            elif not CODE.fullmatch(v):
                raise CellError(f"{q(v)}: в коде допустимы только буквы, цифры, «-», «_» и «.»")
        if width and len(v) < width and DIGITS.fullmatch(v):
            v = v.zfill(width)
        return v

    return parse


def region_code(value: str) -> str:
    """A region's code: digits, two at least (Excel's 7 is 07)."""
    v = code(2)(value)
    if not DIGITS.fullmatch(v):
        raise CellError(f"{q(v)}: код региона состоит из цифр (например, 07)")
    return v


def inn(value: str) -> str:
    v = code()(value)
    if DIGITS.fullmatch(v) and len(v) == 9:
        v = v.zfill(10)  # Excel dropped the leading zero
    if len(v) == 12 and DIGITS.fullmatch(v):
        raise CellError(f"{v}: 12 digits is a person's INN; a school's (a legal entity's) has 10")
    if not (len(v) == 10 and DIGITS.fullmatch(v)):
        raise CellError(f"{q(v)}: an INN of a legal entity has 10 digits")
    check = sum(int(d) * w for d, w in zip(v, INN_WEIGHTS, strict=False)) % 11 % 10
    if check != int(v[9]):
        raise CellError(f"{v}: the check digit is wrong (expected {check} at the end); "
                        "a typo in the number?")
    return v


def kpp(value: str) -> str:
    v = code()(value).upper()
    if DIGITS.fullmatch(v) and len(v) == 8:
        v = v.zfill(9)
    if not KPP.match(v):
        raise CellError(f"{q(v)}: a KPP has 9 characters: 4 digits, 2 digits or capital Latin "
                        "letters, 3 digits")
    return v


def ogrn(value: str) -> str:
    """A legal entity's ОГРН: 13 digits, the last one the first twelve mod 11 mod 10."""
    v = code()(value)
    if DIGITS.fullmatch(v) and len(v) == 12:
        v = v.zfill(13)  # Excel dropped the leading zero
    if not (len(v) == 13 and DIGITS.fullmatch(v)):
        raise CellError(f"{q(v)}: ОГРН юридического лица — 13 цифр")
    check = int(v[:12]) % 11 % 10
    if check != int(v[12]):
        raise CellError(f"{v}: неверная контрольная цифра ОГРН (ожидалась {check} в конце); "
                        "опечатка в номере?")
    return v


def count(value: str) -> int:
    """A whole number ≥ 0 and within PostgreSQL's INTEGER; 35,0 and 7.0 are whole, thousands
    separators (space, NBSP, narrow NBSP) are dropped."""
    if value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    v = "".join(value.split())
    m = COUNT.fullmatch(v)
    if m is None:
        raise CellError(f"{q(value.strip())}: expected a whole number ≥ 0")
    whole, sep, frac = m.groups()
    if frac and frac.strip("0"):
        raise CellError(f"{q(value.strip())}: expected a whole number ≥ 0")
    if sep == "," and len(frac) == 3:  # 1,000: a decimal comma or an English thousands mark?
        raise CellError(f"{q(value.strip())}: неоднозначно (1 или 1000?); уберите «,000» или "
                        "разделитель тысяч")
    n = int(whole)
    if n > INT_MAX:
        raise CellError(f"{q(value.strip())}: больше {INT_MAX}; проверьте число")
    return n


def email(value: str) -> str:
    v = value.strip().lower()
    if not EMAIL_RE.match(v):
        raise CellError(f"{q(value.strip())} is not an e-mail address")
    return v


def timezone(value: str) -> str:
    v = value.strip()
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise CellError(f"{q(v)} is not an IANA time zone (say Europe/Moscow or "
                        "Asia/Yekaterinburg)") from None
    return v


def role(value: str) -> str:
    v = text(value).lower()
    v = ROLE_ALIASES.get(v, v)
    if v not in ROLES:
        raise CellError(f"{q(value.strip())}: roles are {', '.join(ROLES)}")
    return v


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

    def read(self, raw: str) -> Any:
        """The cell's value; CellError names what is wrong (hidden characters, width too)."""
        value = self.parse(raw)
        if isinstance(value, str):
            try:
                check_text(value, width_of(self.db) if self.db is not None else None)
            except ValueError as exc:
                raise CellError(str(exc)) from None
        return value


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
        _c("phone", text, False, "телефон", "тел.", db=people.c.phone),
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
HEADER_SEARCH_ROWS = 10  # a title merged over the columns may sit above the header row


def normalise_header(name: str) -> str:
    """Compare headers without case, ё, extra spaces or a trailing '*' (Excel templates mark
    required columns that way)."""
    name = name.replace("\ufeff", "")  # a BOM stuck to the first header cell
    return " ".join(name.strip().rstrip("*").strip().lower().replace("ё", "е").split())


def _by_name(kind: str) -> dict[str, Column]:
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
            problems.append(f"column {q(raw)}: the same column as {q(seen[col.name])}")
        else:
            found[i] = col
            seen[col.name] = raw
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in seen]
    problems += [f"column {name}: required but missing" for name in missing]
    if missing and ignored:  # a misspelt name, perhaps: say which were not recognised
        known = ", ".join(c.name for c in COLUMNS[kind])
        problems.append(f"не распознаны столбцы: {', '.join(q(n) for n in ignored)} "
                        f"(столбцы {kind}: {known}; русские названия перечислены в README)")
    return Header(found, problems, ignored, blank)


def resolve_header(kind: str, header: list[str]) -> tuple[dict[int, Column], list[str]]:
    """`resolve` as (columns, problems), the unknown columns left out of both."""
    h = resolve(kind, header)
    return h.columns, h.problems

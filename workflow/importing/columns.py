"""The columns of each import kind: names, Russian aliases, and how a cell is read."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications.addresses import BadAddress, normalize
from states import ROLES

SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE][+-]?\d+$")
FLOAT_ZERO = re.compile(r"\d+\.0+")
SPACE = re.compile(r"\s")
COUNT = re.compile(r"\d+(\.0+)?")
KPP = re.compile(r"^\d{4}[0-9A-Z]{2}\d{3}$")
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


def text(value: str) -> str:
    return " ".join(value.split())


def code(width: int | None = None) -> Callable[[str], str]:
    """A code is a string; Excel's lost leading zeros come back where the width is known."""

    def parse(value: str) -> str:
        v = value.strip()
        if not v.isdigit():  # digits alone (most codes) need none of these checks
            if SCIENTIFIC.match(v):
                raise CellError(f"{v!r} looks like a number Excel shortened to scientific "
                                "notation; format the column as text and export again")
            if FLOAT_ZERO.fullmatch(v):  # a number cell typed as 7.0
                v = v.split(".")[0]
            elif SPACE.search(v):
                raise CellError(f"{v!r}: a code has no spaces")
        if width and len(v) < width and v.isdigit():
            v = v.zfill(width)
        return v

    return parse


def inn(value: str) -> str:
    v = code()(value)
    if v.isdigit() and len(v) == 9:
        v = v.zfill(10)  # Excel dropped the leading zero
    if len(v) == 12 and v.isdigit():
        raise CellError(f"{v}: 12 digits is a person's INN; a school's (a legal entity's) has 10")
    if not (len(v) == 10 and v.isdigit()):
        raise CellError(f"{v!r}: an INN of a legal entity has 10 digits")
    check = sum(int(d) * w for d, w in zip(v, INN_WEIGHTS, strict=False)) % 11 % 10
    if check != int(v[9]):
        raise CellError(f"{v}: the check digit is wrong (expected {check} at the end); "
                        "a typo in the number?")
    return v


def kpp(value: str) -> str:
    v = code()(value).upper()
    if v.isdigit() and len(v) == 8:
        v = v.zfill(9)
    if not KPP.match(v):
        raise CellError(f"{v!r}: a KPP has 9 characters: 4 digits, 2 digits or capital Latin "
                        "letters, 3 digits")
    return v


def count(value: str) -> int:
    if value.isascii() and value.isdigit():
        return int(value)
    v = "".join(value.split())  # thousands separators: space, NBSP, narrow NBSP (U+202F)
    if COUNT.fullmatch(v):
        return int(v.split(".")[0])
    raise CellError(f"{value.strip()!r}: expected a whole number ≥ 0")


def email(value: str) -> str:
    try:
        return normalize(value)  # the one rule (notifications/addresses.py), as mail uses it
    except BadAddress:
        raise CellError(f"{value.strip()!r} is not an e-mail address") from None


def timezone(value: str) -> str:
    v = value.strip()
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise CellError(f"{v!r} is not an IANA time zone (say Europe/Moscow or "
                        "Asia/Yekaterinburg)") from None
    return v


def role(value: str) -> str:
    v = text(value).lower()
    v = ROLE_ALIASES.get(v, v)
    if v not in ROLES:
        raise CellError(f"{value.strip()!r}: roles are {', '.join(ROLES)}")
    return v


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    required: bool = False
    aliases: tuple[str, ...] = ()


def _c(name: str, parse: Callable[[str], Any], required: bool, *aliases: str) -> Column:
    return Column(name, parse, required, aliases)


TZ = ("часовой пояс", "временная зона", "таймзона")
REGION = ("регион", "код региона", "субъект")
COLUMNS: dict[str, tuple[Column, ...]] = {
    "regions": (
        _c("code", code(2), True, "код", "код региона", "код субъекта"),
        _c("name", text, True, "наименование", "название", "регион", "наименование региона",
           "субъект рф"),
        _c("timezone", timezone, False, *TZ),
    ),
    "municipalities": (
        _c("region", code(2), True, *REGION),
        _c("code", code(), True, "код", "код муниципалитета", "октмо"),
        _c("name", text, True, "наименование", "название", "муниципалитет",
           "наименование муниципалитета"),
        _c("timezone", timezone, False, *TZ),
    ),
    "schools": (
        _c("region", code(2), True, *REGION),
        _c("municipality", code(), False, "муниципалитет", "код муниципалитета"),
        _c("code", code(), True, "код", "код оо", "код школы"),
        _c("name", text, True, "наименование", "название", "наименование оо", "школа",
           "полное наименование"),
        _c("inn", inn, False, "инн"),
        _c("kpp", kpp, False, "кпп"),
        _c("parent", code(), False, "головная оо", "код головной оо", "головная организация",
           "основная школа"),
        _c("teachers_expected", count, True, "педагогов", "педагоги", "число педагогов",
           "кол-во педагогов", "учителей"),
        _c("classes_expected", count, True, "классов", "классы", "число классов",
           "кол-во классов"),
        _c("students_expected", count, True, "учащихся", "учащиеся", "обучающихся",
           "число учащихся", "кол-во учащихся"),
        _c("parents_expected", count, False, "родителей", "законных представителей",
           "число родителей", "кол-во родителей"),
        _c("timezone", timezone, False, *TZ),
    ),
    "people": (
        _c("email", email, True, "эл. почта", "эл.почта", "электронная почта", "e-mail",
           "почта", "адрес электронной почты"),
        _c("name", text, True, "фио", "ф.и.о.", "ф. и. о.", "имя"),
        _c("role", role, True, "роль"),
        _c("scope", code(), False, "область", "код области", "зона ответственности", "объект"),
        _c("position", text, False, "должность"),
        _c("organisation", text, False, "организация", "место работы", "ведомство"),
        _c("phone", text, False, "телефон", "тел.", "контактный телефон"),
    ),
    "metrics": (
        _c("school", code(), True, "школа", "код оо", "код школы", "оо"),
        _c("teachers", count, False, "педагоги", "педагогов"),
        _c("classes", count, False, "классы", "классов"),
        _c("parents", count, False, "законные представители", "родители", "родителей"),
        _c("students", count, False, "учащиеся", "учащихся", "обучающиеся"),
    ),
}


def normalise_header(name: str) -> str:
    """Compare headers without case, ё, extra spaces or a trailing '*' (Excel templates mark
    required columns that way)."""
    return " ".join(name.strip().rstrip("*").strip().lower().replace("ё", "е").split())


def resolve_header(kind: str, header: list[str]) -> tuple[dict[int, Column], list[str]]:
    """Map header positions to columns; problems for unknown, repeated and missing columns."""
    by_name: dict[str, Column] = {}
    for c in COLUMNS[kind]:
        for alias in (c.name, *c.aliases):
            by_name[normalise_header(alias)] = c
    found: dict[int, Column] = {}
    seen: dict[str, str] = {}
    problems = []
    for i, raw in enumerate(header):
        if not raw.strip():
            continue
        col = by_name.get(normalise_header(raw))
        if col is None:
            known = ", ".join(c.name for c in COLUMNS[kind])
            problems.append(f"column {raw!r}: unknown for {kind} (columns: {known}; Russian "
                            "names are listed in the README)")
        elif col.name in seen:
            problems.append(f"column {raw!r}: the same column as {seen[col.name]!r}")
        else:
            found[i] = col
            seen[col.name] = raw
    for c in COLUMNS[kind]:
        if c.required and c.name not in seen:
            problems.append(f"column {c.name}: required but missing")
    return found, problems

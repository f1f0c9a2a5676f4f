"""Reading one import cell: codes, INN, KPP, ОГРН, counts, e-mails, zones, roles."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifications.addresses import BadAddress, normalize
from states import ROLES
from workflow.i18n import _, translate
from workflow.importing.validation import CODE, INT_MAX, SHOWN_CHARS

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
        # digits alone (most codes) need none of these checks; ASCII isdigit() is [0-9]+
        if not (v.isascii() and v.isdigit()):
            if SCIENTIFIC.match(v):
                raise CellError(_("{value} is a number Excel shortened to scientific "
                                  "notation; format the column as text and export again",
                                  value=q(v)))
            if FLOAT_ZERO.fullmatch(v):  # a number cell typed as 7.0 (or 7,0)
                v = re.split("[.,]", v)[0]
            elif SPACE.search(v):
                raise CellError(_("{value}: a code has no spaces", value=q(v)))
            elif not CODE.fullmatch(v):
                raise CellError(_("{value}: a code may hold only letters, digits, «-», «_» and "
                                  "«.»", value=q(v)))
        if width and len(v) < width and DIGITS.fullmatch(v):
            v = v.zfill(width)
        return v

    return parse


# The parsers of the code-like cells, built once (not per cell)
_code = code()
_code2 = code(2)


def region_code(value: str) -> str:
    """A region's code: digits, two at least (Excel's 7 is 07)."""
    v = _code2(value)
    if not DIGITS.fullmatch(v):
        raise CellError(_("{value}: a region's code is digits (for example, 07)", value=q(v)))
    return v


def inn(value: str) -> str:
    v = _code(value)
    digits = v.isascii() and v.isdigit()  # DIGITS.fullmatch, once
    if digits and len(v) == 9:
        v = v.zfill(10)  # Excel dropped the leading zero
    if len(v) == 12 and digits:
        raise CellError(_("{value}: 12 digits is a person's ИНН; a school (a legal entity) "
                          "has an ИНН of 10 digits", value=v))
    if not (len(v) == 10 and digits):
        raise CellError(_("{value}: a legal entity's ИНН is 10 digits", value=q(v)))
    check = inn_check_digit(v)
    if check != int(v[9]):
        raise CellError(_("{value}: wrong check digit of the ИНН ({check} expected at the "
                          "end); a typo in the number?", value=v, check=check))
    return v


def inn_check_digit(digits: str) -> int:
    """The check digit of a legal entity's ИНН, from its first nine digits."""
    head = digits[:9]
    if len(head) != len(INN_WEIGHTS):
        raise ValueError(f"nine digits are needed, not {len(head)}")
    return sum(map(operator.mul, map(int, head), INN_WEIGHTS)) % 11 % 10


def ogrn_check_digit(digits: str) -> int:
    """The check digit of an ОГРН: its first twelve digits as a number, mod 11, mod 10."""
    return int(digits[:12]) % 11 % 10


def kpp(value: str) -> str:
    v = _code(value).upper()
    if DIGITS.fullmatch(v) and len(v) == 8:
        v = v.zfill(9)
    if not KPP.match(v):
        raise CellError(_("{value}: a КПП is 9 characters: 4 digits, 2 digits or capital "
                          "Latin letters, 3 digits", value=q(v)))
    return v


def ogrn(value: str) -> str:
    """A legal entity's ОГРН: 13 digits, the last one the first twelve mod 11 mod 10."""
    v = _code(value)
    if DIGITS.fullmatch(v) and len(v) == 12:
        v = v.zfill(13)  # Excel dropped the leading zero
    if not (len(v) == 13 and DIGITS.fullmatch(v)):
        raise CellError(_("{value}: a legal entity's ОГРН is 13 digits", value=q(v)))
    check = ogrn_check_digit(v)
    if check != int(v[12]):
        raise CellError(_("{value}: wrong check digit of the ОГРН ({check} expected at the "
                          "end); a typo in the number?", value=v, check=check))
    return v


def count(value: str) -> int:
    """A whole number ≥ 0 and within PostgreSQL's INTEGER; 35,0 and 7.0 are whole, thousands
    separators (space, NBSP, narrow NBSP) are dropped."""
    if value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    v = "".join(value.split())
    m = COUNT.fullmatch(v)
    if m is None:
        raise CellError(_("{value}: a whole number ≥ 0 is needed", value=q(value.strip())))
    whole, sep, frac = m.groups()
    if frac and frac.strip("0"):
        raise CellError(_("{value}: a whole number ≥ 0 is needed", value=q(value.strip())))
    if sep == "," and len(frac) == 3:  # 1,000: a decimal comma or an English thousands mark?
        raise CellError(_("{value}: ambiguous (1 or 1000?); remove «,000» or the thousands "
                          "separator", value=q(value.strip())))
    n = int(whole)
    if n > INT_MAX:
        raise CellError(_("{value}: more than {max}; check the number", value=q(value.strip()),
                          max=INT_MAX))
    return n


def email(value: str) -> str:
    try:
        return normalize(value)  # the one rule (notifications/addresses.py), as mail uses it
    except BadAddress as exc:
        raise CellError(_("{value}: not an e-mail address ({detail})", value=q(value.strip()),
                          detail=translate(exc.detail))) from None


def timezone(value: str) -> str:
    v = value.strip()
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise CellError(_("{value}: not an IANA time zone (for example, Europe/Moscow or "
                          "Asia/Yekaterinburg)", value=q(v))) from None
    return v


def role(value: str) -> str:
    v = text(value).lower()
    v = ROLE_ALIASES.get(v, v)
    if v not in ROLES:
        raise CellError(_("{value}: the roles are {roles}", value=q(value.strip()),
                          roles=", ".join(ROLES)))
    return v

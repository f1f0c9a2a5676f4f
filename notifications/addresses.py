"""What an e-mail address is: one rule for imports, `assign`, the configuration and sending."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import idna

from notifications.errors import BadAddress

__all__ = ["BadAddress", "Mailbox", "is_address", "normalize", "parse", "split_named"]

# RFC 5322 atext: what a dot-atom local part may hold without quoting. Quoted strings,
# comments ("a(b)@x.ru") and IP literals are refused: no mail client of a school needs them,
# and they are where header and envelope parsers disagree.
_ATEXT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~")
_DOT_ATOM = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LDH = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Letters, marks and digits of any script: RFC 6532 lets UTF-8 into the local part, but not
# spaces, format characters (zero-width joiners) or controls, which people cannot see.
_WORD_CATEGORIES = ("L", "M", "N")


@dataclass(frozen=True)
class Mailbox:
    """A checked address: the stored form (Unicode domain) and the form SMTP speaks."""

    local: str  # lower-cased; may hold Cyrillic (then delivery needs SMTPUTF8)
    domain: str  # lower-cased, Unicode labels (школа.рф), as people write and read it
    ascii_domain: str  # IDNA 2008 A-labels (xn--80ajfbh.xn--p1ai), for DNS and SMTP

    @property
    def text(self) -> str:
        """The canonical form: stored, compared, shown."""
        return f"{self.local}@{self.domain}"

    @property
    def smtp(self) -> str:
        """The envelope form: the domain in A-labels."""
        return f"{self.local}@{self.ascii_domain}"

    @property
    def needs_smtputf8(self) -> bool:
        """A non-ASCII local part cannot be written in ASCII: the server must offer SMTPUTF8."""
        return not self.local.isascii()


@lru_cache(maxsize=65536)  # a reminder pass and its delivery parse the same addresses twice
def parse(text: str) -> Mailbox:
    """The Mailbox for `text`, or BadAddress saying what is wrong with it."""
    raw = text.strip() if isinstance(text, str) else ""
    if not raw:
        raise BadAddress(str(text), "пустой адрес")
    if raw.count("@") != 1:
        raise BadAddress(raw, "в адресе должен быть ровно один знак @")
    local, domain = raw.lower().split("@")
    _check_local(raw, local)
    ascii_domain, unicode_domain = _domain(raw, domain)
    box = Mailbox(local, unicode_domain, ascii_domain)
    if len(box.smtp.encode("utf-8")) > 254:
        raise BadAddress(raw, "адрес длиннее 254 байт")
    return box


def normalize(text: str) -> str:
    """The canonical form of an address (lower case, Unicode domain), or BadAddress."""
    return parse(text).text


def is_address(text: str) -> bool:
    try:
        parse(text)
    except BadAddress:
        return False
    return True


def split_named(text: str) -> tuple[str, str]:
    """`Name <address>` or a bare address, as (name, address).

    Not email.utils.parseaddr: it drops comments and quotes silently, so `<a(b)@x.ru>` would
    become a@x.ru; here the address is exactly what is between the angle brackets.
    """
    t = " ".join(str(text).split())
    if t.endswith(">") and "<" in t:
        name, _, addr = t[:-1].rpartition("<")
        return name.strip().strip('"').strip(), addr.strip()
    return "", t


def _check_local(raw: str, local: str) -> None:
    if not local:
        raise BadAddress(raw, "нет имени ящика перед @")
    if len(local.encode("utf-8")) > 64:
        raise BadAddress(raw, "имя ящика длиннее 64 байт")
    if _DOT_ATOM.fullmatch(local):
        return
    for atom in local.split("."):
        if not atom:
            raise BadAddress(raw, "точка в начале, в конце или две точки подряд перед @")
        for ch in atom:
            if ch in _ATEXT:
                continue
            if ch.isascii() or not unicodedata.category(ch).startswith(_WORD_CATEGORIES):
                raise BadAddress(raw, f"недопустимый символ {_shown(ch)} перед @")


def _domain(raw: str, domain: str) -> tuple[str, str]:
    """(A-label form, Unicode form) of a domain; IDNA 2008 with the UTS 46 mapping."""
    if not domain:
        raise BadAddress(raw, "нет домена после @")
    if domain.startswith("[") or domain.endswith("."):
        raise BadAddress(raw, "домен должен быть именем вроде school.ru")
    labels = domain.split(".")
    if domain.isascii() and "xn--" not in domain and all(map(_LDH.fullmatch, labels)):
        ascii_domain = unicode_domain = domain  # the common case, without the IDNA tables
    else:
        ascii_domain, unicode_domain = _idna(raw, domain)
        labels = ascii_domain.split(".")
    if len(labels) < 2:
        raise BadAddress(raw, "в домене нужна хотя бы одна точка (school.ru)")
    for label in labels:
        if not _LDH.fullmatch(label):
            raise BadAddress(raw, f"часть домена {label!r} не годится")
    if labels[-1].isdigit():
        raise BadAddress(raw, "домен верхнего уровня не может состоять из цифр")
    if len(ascii_domain) > 253:
        raise BadAddress(raw, "домен длиннее 253 символов")
    return ascii_domain, unicode_domain


def _idna(raw: str, domain: str) -> tuple[str, str]:
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
        unicode_domain = idna.decode(ascii_domain)
    except (idna.IDNAError, UnicodeError) as exc:
        raise BadAddress(raw, f"домен {domain!r} не годится ({exc})") from None
    return ascii_domain, unicode_domain


def _shown(ch: str) -> str:
    return repr(ch) if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"

"""The one rule for what an e-mail address is (notifications/addresses.py)."""

from __future__ import annotations

import pytest

from notifications.addresses import is_address, normalize, parse
from notifications.errors import BadAddress


@pytest.mark.parametrize("given,stored", [
    ("Ivan.Petrov@Example.ORG", "ivan.petrov@example.org"),
    ("  o'brien+rollout@school-1.ru ", "o'brien+rollout@school-1.ru"),
    ("ivan@школа.рф", "ivan@школа.рф"),
    ("иван@ШКОЛА.РФ", "иван@школа.рф"),
    ("ivan@xn--80atdl2c.xn--p1ai", "ivan@школа.рф"),  # A-labels are shown as people write them
    ("ёлка@пример.рф", "ёлка@пример.рф"),
])
def test_addresses_people_use_are_accepted_in_one_canonical_form(given: str, stored: str) -> None:
    """Lower case, the domain in Unicode; Cyrillic domains and local parts are addresses."""
    assert normalize(given) == stored
    assert is_address(given)


def test_the_smtp_form_has_an_ascii_domain_and_says_when_it_needs_smtputf8() -> None:
    """The envelope carries A-labels; only a Cyrillic local part needs SMTPUTF8."""
    latin, cyrillic = parse("ivan@школа.рф"), parse("иван@школа.рф")
    assert latin.smtp == "ivan@xn--80atdl2c.xn--p1ai" and not latin.needs_smtputf8
    assert cyrillic.smtp == "иван@xn--80atdl2c.xn--p1ai" and cyrillic.needs_smtputf8


@pytest.mark.parametrize("bad,why", [
    ("a(b)@x.ru", "'('"),
    ('"a b"@x.ru', "'\"'"),
    ("a b@x.ru", "U+0020"),
    ("a\u200b@x.ru", "U+200B"),  # a zero-width space nobody sees
    ("a\u00a0b@x.ru", "U+00A0"),
    ("a..b@x.ru", "две точки"),
    (".a@x.ru", "точка в начале"),
    ("a@x", "хотя бы одна точка"),
    ("a@x.123", "из цифр"),
    ("a@[127.0.0.1]", "именем"),
    ("a@-x.ru", "-x.ru"),
    ("a@x_y.ru", "x_y.ru"),
    ("a@x.ru.", "именем"),
    ("a@b.c\r\nBcc: x@y.z", "ровно один знак @"),
    ("a@b.c, x@y.z", "ровно один знак @"),
    ("<a@b.c>", "'<'"),
    ("a\n@x.ru", "U+000A"),
    ("x" * 65 + "@x.ru", "64 байт"),
    ("a@" + "x" * 64 + ".ru", "x" * 64),
    ("", "пустой"),
    ("@x.ru", "нет имени ящика"),
    ("a@", "нет домена"),
])
def test_what_is_not_an_address_is_refused_saying_why(bad: str, why: str) -> None:
    """Comments, quotes, invisible characters, bad domains: BadAddress with the reason."""
    with pytest.raises(BadAddress) as info:
        parse(bad)
    assert why in str(info.value), str(info.value)
    assert not is_address(bad)

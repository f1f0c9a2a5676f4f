"""A letter's MIME bytes without an EmailMessage tree: the same bytes for a tenth of the CPU.

`message.build(row).as_bytes(policy=...)` makes a tree of EmailMessage objects, parses each
header value it is given and folds it again when it serialises: ~3 ms a letter, most of what
a relay spends. A `Letter` is the header values and the two bodies of a letter without
attachments, and `as_bytes` writes what the `email` package writes for that tree:
- each header line is folded by the `email` package itself (the header registry and the
  policy's `fold_binary`); values that letters share (sender, date, subject, the parts'
  headers) are folded once and remembered, and so is the multipart's Content-Type, with a
  stand-in of the same characters for its random boundary; a To of one person whose name
  is Cyrillic words is written as the package writes it (one base64 encoded word);
- the bodies are encoded as `EmailMessage.set_content` encodes them (7bit or 8bit when every
  line is short, else base64 when quoted-printable cannot be shorter), with the generator's
  line ends;
- the boundary is drawn as the generator draws it (one `random.randrange`, 19 digits).
What this does not cover (a body for which quoted-printable could be the shorter, `unixfrom`,
a policy that re-encodes 8-bit bodies) is serialised by the `email` package, as before.
tests/unit/test_mime.py compares the bytes with the package's, letter kind by letter kind.
"""

from __future__ import annotations

import random
import re
import sys
from base64 import b64encode, encodebytes
from collections.abc import Callable, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as BUILD_POLICY  # EmailMessage()'s, where set_content encodes
from functools import lru_cache
from typing import Any

__all__ = ["Letter"]

Value = str | Sequence[Address]
_ASCII = bytes(range(128))
_SHORT: int = BUILD_POLICY.max_line_length or 78  # set_content: shorter lines go as 7/8bit
_WIDTH = len(repr(sys.maxsize - 1))  # digits of the generator's boundary token
_STAND_IN = "=" * 15 + "0" * _WIDTH + "=="
_PART_TYPES = ('text/plain; charset="utf-8"', 'text/html; charset="utf-8"')
# One person's name and address, as message.address makes them for most people
_NAMED = re.compile(r"([А-ЯЁа-яё]+(?: [А-ЯЁа-яё]+)*) <([a-z0-9._+-]+@[a-z0-9.-]+)>")


def _text(value: Value) -> str:
    """A header value as the header registry reads it (an address list as its str)."""
    return value if isinstance(value, str) else ", ".join(str(a) for a in value)


def _fold(policy: Policy[Any], name: str, text: str) -> bytes:
    """One header line as the generator writes it: parsed and folded by the `email` package."""
    return policy.fold_binary(name, BUILD_POLICY.header_factory(name, text))


_shared = lru_cache(maxsize=1024)(_fold)  # values many letters have: folded once


def _body(text: str) -> tuple[str, bytes] | None:
    """(Content-Transfer-Encoding, body with LF line ends) as `set_content(text)` encodes it
    (email.contentmanager), or None when it might choose quoted-printable."""
    lines = text.encode("utf-8").splitlines()
    if max(map(len, lines), default=0) <= _SHORT:
        body = b"\n".join(lines) + b"\n"
        return ("7bit" if body.isascii() else "8bit"), body
    # set_content takes base64 when its first ten lines come out longer in quoted-printable;
    # each byte above 127 costs three characters there, a lower bound that decides for
    # Cyrillic text without encoding it (and may not decide for mostly-ASCII text).
    sniff = b"\n".join(lines[:10]) + b"\n"
    high = len(sniff.translate(None, _ASCII))
    if len(sniff) + 2 * high <= 4 * -(-len(sniff) // 3) + 1:
        return None
    return "base64", encodebytes(b"\n".join(lines) + b"\n")


def _person(policy: Policy[Any], name: str, value: str) -> bytes:
    """A To line: "Имя Фамилия <addr>" written as the package folds it (the name one base64
    encoded word) when it is Cyrillic words, ASCII otherwise and fits on a line; any other
    value is folded by the package. Four Cyrillic letters or more make base64 the shorter
    encoding, the package's choice (a shorter name may go as quoted-printable)."""
    found = None if getattr(policy, "utf8", True) else _NAMED.fullmatch(value)
    if found is None or sum(map(str.isalpha, found[1])) < 4:
        return _fold(policy, name, value)
    word = b64encode(found[1].encode("utf-8")).decode("ascii")
    line = f"{name}: =?utf-8?b?{word}?= <{found[2]}>"
    if len(line) > (policy.max_line_length or sys.maxsize):
        return _fold(policy, name, value)
    return (line + policy.linesep).encode("ascii")


def _multipart(policy: Policy[Any], boundary: str) -> bytes:
    """The Content-Type line of the multipart: folded once with a stand-in boundary of the
    same length and characters (digits fold as digits), the drawn one put in its place."""
    line = _shared(policy, "Content-Type", f'multipart/alternative; boundary="{_STAND_IN}"')
    return line.replace(_STAND_IN.encode("ascii"), boundary.encode("ascii"))


def _boundary(text: bytes) -> str:
    """A boundary as the generator draws it, not found in the text it separates."""
    while True:
        boundary = f"{'=' * 15}{random.randrange(sys.maxsize):0{_WIDTH}d}=="
        if b"--" + boundary.encode("ascii") not in text:
            return boundary


class Letter:
    """A letter without attachments: its top headers (as `message.headers` gives them) and
    its text and HTML bodies, serialised as the multipart/alternative EmailMessage would be."""

    def __init__(self, headers: Sequence[tuple[str, Value]], text: str, html: str,
                 fallback: Callable[[], EmailMessage]) -> None:
        self.headers = [(name, _text(value)) for name, value in headers]
        for name, value in self.headers:
            if len(value.splitlines()) > 1:  # what EmailMessage says to such a value
                raise ValueError(f"Header values may not contain linefeed or carriage return "
                                 f"characters ({name})")
        self.text, self.html, self.fallback = text, html, fallback

    def as_bytes(self, unixfrom: bool = False, policy: Policy[Any] | None = None) -> bytes:
        """The message's bytes, as `EmailMessage.as_bytes(unixfrom, policy)` gives them."""
        policy = BUILD_POLICY if policy is None else policy
        bodies = _body(self.text), _body(self.html)
        if unixfrom or policy.cte_type != "8bit" or None in bodies:
            return self.fallback().as_bytes(unixfrom=unixfrom, policy=policy)
        nl = policy.linesep.encode("ascii")
        parts = []
        for i, (ctype, found) in enumerate(zip(_PART_TYPES, bodies, strict=True)):
            assert found is not None
            cte, body = found
            head = _shared(policy, "Content-Type", ctype) + _shared(
                policy, "Content-Transfer-Encoding", cte)
            if i:  # the HTML part is an EmailMessage of its own: set_content adds its version
                head += _shared(policy, "MIME-Version", "1.0")
            parts.append(head + nl + body.replace(b"\n", nl))
        boundary = _boundary(nl.join(parts))
        dash = b"--" + boundary.encode("ascii")
        out = [_person(policy, name, value) if name == "To" else
               _fold(policy, name, value) if name == "Message-ID" else
               _shared(policy, name, value) for name, value in self.headers]
        out += [_shared(policy, "MIME-Version", "1.0"), _multipart(policy, boundary),
                nl, dash, nl, parts[0], nl, dash, nl, parts[1], nl, dash, b"--", nl]
        return b"".join(out)

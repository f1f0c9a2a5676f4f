"""A Letter (notifications/mime.py) serialises to exactly the bytes of the EmailMessage that
`message.build` makes from the same row, under every policy a sender uses (and the message's
own), for any names, subjects and bodies (the boundary drawn from the same seed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.addresses import is_address
from notifications.message import build, prepare
from notifications.mime import Letter
from notifications.sender import FILE_POLICY, SMTP_POLICY, SMTPUTF8_POLICY, UTF8_FILE_POLICY

POLICIES = (SMTP_POLICY, SMTPUTF8_POLICY, FILE_POLICY, UTF8_FILE_POLICY, None)
SENDER = "Внедрение ФГИС «Моя школа» <rollout@example.org>"
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
NAMES = st.text(CYRILLIC + "AaZz .,-'\"()<>@«»№\t", max_size=80)
# Line ends of every kind, and characters str.splitlines() takes for one but bytes do not
BODY = st.text(CYRILLIC + "abcXYZ 0123456789.,:;=-_<>/&«»№\t\n\r\x0b\x0c\x85\u2028", max_size=1500)
ADDRESSES = st.sampled_from(["a@example.org", "Ivan.Petrov@school.edu.ru", "x@школа.рф",
                             "иван@школа.рф", "long.address.of.a.person@region07.example.ru"])


def row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": "<0123456789abcdef0123456789abcdef.reminder@example.org>",
        "created_at": datetime(2026, 3, 2, 6, 0, tzinfo=UTC), "sender": SENDER,
        "kind": "reminder", "subject": "Напоминание", "body_text": "Текст\n",
        "body_html": "<p>Текст</p>\n", "attachments": None,
        "recipients": {"to": [["Иванова Анна Сергеевна", "a@example.org"]]}}
    return {**base, **kw}


def same_bytes(r: dict[str, Any]) -> None:
    ready = prepare(r)
    assert isinstance(ready.message, Letter)
    for n, policy in enumerate(POLICIES):
        random.seed(n)
        try:
            ours: bytes | str = ready.message.as_bytes(policy=policy)
        except Exception as exc:  # noqa: BLE001 - the package must fail the same way
            ours = type(exc).__name__
        random.seed(n)
        try:
            theirs: bytes | str = build(r).as_bytes(policy=policy)
        except Exception as exc:  # noqa: BLE001
            theirs = type(exc).__name__
        assert ours == theirs, policy


@settings(max_examples=300, deadline=None)
@given(name=NAMES, to=ADDRESSES, subject=st.text(CYRILLIC + "ab !«»:", min_size=1, max_size=300),
       text=BODY, html=BODY, kind=st.sampled_from(["reminder", "appointed", "digest"]),
       cc=st.lists(st.tuples(NAMES, ADDRESSES), max_size=2),
       reply_to=st.lists(st.tuples(NAMES, ADDRESSES), max_size=2))
def test_any_letter_serialises_as_the_email_package_does(name: str, to: str, subject: str,
                                                        text: str, html: str, kind: str,
                                                        cc: list, reply_to: list) -> None:
    """Random names (specials, quotes, Cyrillic), subjects, bodies (long and short lines,
    every line end), copies and Reply-To: the same bytes under the four policies."""
    recipients: dict[str, Any] = {"to": [[name, to]]}
    if cc:
        recipients["cc"] = [list(c) for c in cc]
    if reply_to:
        recipients["reply_to"] = [list(c) for c in reply_to]
    same_bytes(row(recipients=recipients, subject=" ".join(subject.split()) or "Тема",
                   body_text=text, body_html=html, kind=kind))


@settings(max_examples=500, deadline=None)
@given(words=st.lists(st.text(CYRILLIC, min_size=1, max_size=30), min_size=1, max_size=12),
       local=st.text("abcxyz0123456789._+-", min_size=1, max_size=60),
       domain=st.sampled_from(["example.org", "school.edu.ru", "xn--80atdl2c.xn--p1ai",
                               "a-very-long-subdomain.of.a.regional.ministry.example.ru"]))
def test_a_person_in_to_is_written_as_the_package_writes_it(words: list[str], local: str,
                                                             domain: str) -> None:
    """Names of Cyrillic words (one letter to hundreds, lines past 78 and near 998) in To:
    the same bytes as the package's folding, whichever way it goes."""
    name = " ".join(words)
    address = f"{local}@{domain}"
    if not is_address(address):
        return
    same_bytes(row(recipients={"to": [[name, address]]}))


def test_the_edges_of_set_content_choices() -> None:
    """Lines of exactly 78 bytes and one more, ASCII and Cyrillic, empty bodies, mostly-ASCII
    long lines (where quoted-printable may win) and bodies ending without a line end."""
    bodies = ["", "\n", "a" * 78, "a" * 79, "я" * 39, "я" * 39 + "a", ("a" * 100 + "я\n") * 12,
              "x" * 200 + "\n" + "я" * 10, "строка\r\nещё\rи ещё", "я" * 500, " конец "]
    for text in bodies:
        for html in ("", "<p>" + "a" * 90 + "</p>", text):
            same_bytes(row(body_text=text, body_html=html))


def test_a_letter_with_attachments_is_the_package_message() -> None:
    """Attachments (the registry request's XLSX) are built by the `email` package itself."""
    files = {"files": [{"filename": "изменения.xlsx", "mime": "application/octet-stream",
                        "base64": "UEsDBA=="}]}
    ready = prepare(row(attachments=files, kind="registry"))
    assert not isinstance(ready.message, Letter)
    assert b"filename*=utf-8''" in ready.message.as_bytes(policy=SMTP_POLICY)

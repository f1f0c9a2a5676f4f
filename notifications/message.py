"""Building MIME messages: names and addresses go into headers only as Address objects."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import Any

from notifications.errors import BadAddress

# A deliberately plain addr-spec: no spaces, quotes, angle brackets, commas or control chars.
_ADDR = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def one_line(text: str) -> str:
    """Collapse CR, LF, tabs and runs of spaces: a value can never start a new header."""
    return " ".join(str(text).split())


def address(name: str | None, addr: str) -> Address:
    """An Address from a display name and an address, refusing anything unusual."""
    addr = addr.strip().lower()
    if not _ADDR.match(addr):
        raise BadAddress(addr, "not a plain e-mail address")
    local, _, domain = addr.partition("@")
    return Address(display_name=one_line(name or ""), username=local, domain=domain)


@lru_cache(maxsize=16)  # one configured sender; parsing it is slow for a pass of 40,000 messages
def parse_sender(text: str) -> Address:
    """The configured sender, "Name <addr>", as an Address."""
    name, addr = parseaddr(one_line(text))
    return address(name, addr)


def new_message_id(sender: str, kind: str) -> str:
    """A globally unique Message-ID in the sender's domain (fixed when the message is queued)."""
    domain = parse_sender(sender).domain
    return f"<{uuid.uuid4().hex}.{kind}@{domain}>"


def build(row: Mapping[str, Any]) -> EmailMessage:
    """The EmailMessage for a stored outbox row; the same row always builds the same message."""
    msg = EmailMessage()
    msg["Message-ID"] = row["message_id"]
    msg["Date"] = format_datetime(row["created_at"])
    msg["From"] = parse_sender(row["sender"])
    stored = row["recipients"]
    msg["To"] = [address(n, a) for n, a in stored["to"]]
    if stored.get("cc"):  # the coordinator gets a copy of what goes out in their name
        msg["Cc"] = [address(n, a) for n, a in stored["cc"]]
    if stored.get("reply_to"):  # replies reach a person, not the robot sender
        msg["Reply-To"] = [address(n, a) for n, a in stored["reply_to"]]
    msg["Subject"] = one_line(row["subject"])
    if row["kind"] in ("reminder", "escalation", "digest"):
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to reminders
    msg.set_content(row["body_text"])
    msg.add_alternative(row["body_html"], subtype="html")
    for att in (row.get("attachments") or {}).get("files", []):
        maintype, _, subtype = att["mime"].partition("/")
        msg.add_attachment(att["text"].encode("utf-8"), maintype=maintype, subtype=subtype,
                           filename=att["filename"])
    return msg


def envelope(row: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The SMTP envelope: taken from the stored addresses, never from parsed headers."""
    sender = parse_sender(row["sender"]).addr_spec
    stored = row["recipients"]
    return sender, [address(None, a).addr_spec for _, a in [*stored["to"], *stored.get("cc", [])]]


def recipients(pairs: Sequence[tuple[str | None, str]],
               cc: Sequence[tuple[str | None, str]] = (),
               reply_to: Sequence[tuple[str | None, str]] = ()) -> dict[str, Any]:
    """The stored form of To (and Cc, Reply-To), each address checked now, not at delivery."""
    def checked(found: Sequence[tuple[str | None, str]]) -> list[list[str]]:
        return [[a.display_name, a.addr_spec] for a in (address(n, x) for n, x in found)]

    out: dict[str, Any] = {"to": checked(pairs)}
    if cc:
        out["cc"] = checked(cc)
    if reply_to:
        out["reply_to"] = checked(reply_to)
    return out

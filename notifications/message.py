"""Building MIME messages: names and addresses go into headers only as Address objects."""

from __future__ import annotations

import uuid
from base64 import b64decode
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from notifications import addresses
from notifications.errors import BadAddress, Unbuildable
from notifications.mime import Letter


def one_line(text: str) -> str:
    """Collapse CR, LF, tabs and runs of spaces: a value can never start a new header."""
    return " ".join(str(text).split())


def address(name: str | None, addr: str) -> Address:
    """An Address from a display name and an address checked by the one rule (addresses.py).

    The domain goes into the header in A-labels; a Cyrillic local part stays as it is and
    needs a server that offers SMTPUTF8 (the sender checks).
    """
    box = addresses.parse(addr)
    return Address(display_name=one_line(name or ""), username=box.local,
                   domain=box.ascii_domain)


@lru_cache(maxsize=16)  # one configured sender; parsing it is slow for a pass of 40,000 messages
def parse_sender(text: str) -> Address:
    """The configured sender, "Name <addr>", as an Address."""
    return address(*addresses.split_named(text))


def new_message_id(sender: str, kind: str) -> str:
    """A globally unique Message-ID in the sender's domain (fixed when the message is queued)."""
    domain = parse_sender(sender).domain
    return f"<{uuid.uuid4().hex}.{kind}@{domain}>"


@dataclass(frozen=True)
class Prepared:
    """A stored row made ready to send: the message, its envelope, and who was left out."""

    message: Letter | EmailMessage
    envelope_from: str
    rcpts: list[str]  # envelope form (A-label domains)
    stored: dict[str, str]  # envelope form -> the address as stored (and shown as broken)
    refused: dict[str, str]  # stored address -> why no message can be built for it


def prepare(row: Mapping[str, Any]) -> Prepared:
    """Build a row's message; recipients the rule refuses are left out and named.

    Raises Unbuildable when nobody is left or the sender itself is refused: that message
    fails with the reason, and the pass goes on with the others.
    """
    try:
        sender = parse_sender(row["sender"])
    except BadAddress as exc:
        raise Unbuildable(f"отправитель: {exc}", {}) from None
    stored: dict[str, str] = {}
    refused: dict[str, str] = {}
    kept: dict[str, list[Address]] = {"to": [], "cc": []}
    for field in ("to", "cc"):
        for name, addr in row["recipients"].get(field, []):
            try:
                a = address(name, addr)
            except BadAddress as exc:
                refused[addr] = f"письмо не собрать: {exc}"
                continue
            kept[field].append(a)
            stored[a.addr_spec] = addr
    if not kept["to"]:
        raise Unbuildable("; ".join(refused.values()) or "нет получателей", refused)
    return Prepared(compose(row, kept["to"], kept["cc"]), sender.addr_spec, list(stored), stored,
                    refused)


def headers(row: Mapping[str, Any], to: Sequence[Address] | None = None,
            cc: Sequence[Address] | None = None) -> list[tuple[str, str | list[Address]]]:
    """A stored row's top headers in their order, as EmailMessage takes them."""
    out: list[tuple[str, str | list[Address]]] = [
        ("Message-ID", row["message_id"]), ("Date", format_datetime(row["created_at"])),
        ("From", [parse_sender(row["sender"])])]
    stored = row["recipients"]
    out.append(("To", list(to) if to is not None else
                [address(n, a) for n, a in stored["to"]]))
    copies = list(cc) if cc is not None else [address(n, a) for n, a in stored.get("cc", [])]
    if copies:  # the coordinator gets a copy of what goes out in their name
        out.append(("Cc", copies))
    reply_to = []
    for n, a in stored.get("reply_to", []):
        try:  # replies reach a person, not the robot sender; a refused one is left out
            reply_to.append(address(n, a))
        except BadAddress:
            continue
    if reply_to:
        out.append(("Reply-To", reply_to))
    out.append(("Subject", one_line(row["subject"])))
    if row["kind"] in ("reminder", "escalation", "digest"):
        out.append(("Auto-Submitted", "auto-generated"))  # RFC 3834: no auto-replies
    return out


def build(row: Mapping[str, Any], to: Sequence[Address] | None = None,
          cc: Sequence[Address] | None = None) -> EmailMessage:
    """The EmailMessage for a stored outbox row; the same row always builds the same message."""
    msg = EmailMessage()
    for name, value in headers(row, to, cc):
        msg[name] = value
    msg.set_content(row["body_text"])
    msg.add_alternative(row["body_html"], subtype="html")
    for att in (row.get("attachments") or {}).get("files", []):
        maintype, _, subtype = att["mime"].partition("/")
        body = b64decode(att["base64"]) if "base64" in att else att["text"].encode("utf-8")
        msg.add_attachment(body, maintype=maintype, subtype=subtype, filename=att["filename"])
    return msg


def compose(row: Mapping[str, Any], to: Sequence[Address], cc: Sequence[Address]
            ) -> Letter | EmailMessage:
    """What is sent for a row: `build`'s message, or (no attachments) a Letter that
    serialises to the same bytes for a fraction of the CPU (notifications/mime.py)."""
    if (row.get("attachments") or {}).get("files"):
        return build(row, to, cc)
    return Letter(headers(row, to, cc), row["body_text"], row["body_html"],
                  lambda: build(row, to, cc))


def recipients(pairs: Sequence[tuple[str | None, str]],
               cc: Sequence[tuple[str | None, str]] = (),
               reply_to: Sequence[tuple[str | None, str]] = ()) -> dict[str, Any]:
    """The stored form of To (and Cc, Reply-To); never raises.

    An address the rule refuses (one stored by an older release, say) is kept as given: its
    message fails at delivery with the reason and the address shows as a broken contact,
    instead of the whole reminder pass stopping here for everyone.
    """
    def kept(found: Sequence[tuple[str | None, str]]) -> list[list[str]]:
        out = []
        for name, addr in found:
            try:
                text = addresses.normalize(addr)
            except BadAddress:
                text = str(addr).strip()
            out.append([one_line(name or ""), text])
        return out

    stored: dict[str, Any] = {"to": kept(pairs)}
    if cc:
        stored["cc"] = kept(cc)
    if reply_to:
        stored["reply_to"] = kept(reply_to)
    return stored

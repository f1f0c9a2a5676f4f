"""Senders: SmtpSender (aiosmtplib, one connection per batch) and FileSender (.eml files)."""

from __future__ import annotations

import asyncio
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.policy import SMTP, SMTPUTF8, Policy
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from notifications.errors import SmtpSettingsRefused
from notifications.settings import MailSettings, SmtpSettings
from storage.text import Phrase

# Headers are not folded below RFC 5322's hard limit of 998: folding at 78 split a Cyrillic
# display name inside a word into two encoded words («Моя школ|а»), which Python's own parser
# (and some mail clients) join back with a space.
SMTP_POLICY = SMTP.clone(max_line_length=998)
SMTPUTF8_POLICY = SMTPUTF8.clone(max_line_length=998)
FILE_POLICY = default_policy.clone(max_line_length=998)
UTF8_FILE_POLICY = default_policy.clone(utf8=True, max_line_length=998)
# Failures that say nothing about the message: the server is down or went away.
CONNECTION_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                     aiosmtplib.SMTPTimeoutError, ConnectionError, TimeoutError, OSError)


class Payload(Protocol):
    """A message to send: an EmailMessage, or a mime.Letter that gives the same bytes."""

    def as_bytes(self, unixfrom: bool = False, policy: Policy[Any] | None = None) -> bytes: ...


@dataclass(frozen=True)
class Outcome:
    """What the server said about one message."""

    status: str  # "sent" | "temporary" | "permanent"
    detail: str = ""
    refused: dict[str, str] = field(default_factory=dict)  # address -> answer (5xx only)
    connection_lost: bool = False  # the rest of the batch waits for the next run


class Sender(ABC):
    """Delivers messages; `close` ends whatever connection a batch held."""

    name = "sender"

    @abstractmethod
    async def send(self, msg: Payload, envelope_from: str, rcpts: list[str],
                   row_id: int) -> Outcome: ...

    async def close(self) -> None:  # noqa: B027 - optional for senders without a connection
        pass


def needs_smtputf8(envelope_from: str, rcpts: list[str]) -> bool:
    return not (envelope_from.isascii() and all(r.isascii() for r in rcpts))


def smtp_payload(msg: Payload, envelope_from: str, rcpts: list[str]) -> bytes:
    """The message as SMTP sends it (RFC 6532 UTF-8 headers only when the envelope needs it)."""
    return msg.as_bytes(policy=SMTPUTF8_POLICY if needs_smtputf8(envelope_from, rcpts)
                        else SMTP_POLICY)


def _answer(code: int, message: str) -> str:
    return f"{code} {' '.join(str(message).split())}"


class SmtpSender(Sender):
    """aiosmtplib over one connection kept for a whole batch; reconnects when it drops."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        # With credentials, STARTTLS is required (never opportunistic) unless TLS is implicit,
        # and certificates are always checked: a password never crosses the wire in clear.
        start_tls = not s.tls and bool(s.starttls or s.username)
        return aiosmtplib.SMTP(hostname=s.host, port=s.port, use_tls=s.tls, start_tls=start_tls,
                               validate_certs=True, timeout=s.timeout_s,
                               username=s.username, password=s.password)

    @property
    def server(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is None or not self._smtp.is_connected:
            self._smtp = self._client()
            try:
                await self._smtp.connect()
            except aiosmtplib.SMTPResponseException:
                raise
            except aiosmtplib.SMTPException as exc:
                await self.close()
                if "STARTTLS" in str(exc).upper():  # aiosmtplib says so in its message only
                    raise SmtpSettingsRefused(self.server, self._why_tls()) from None
                raise
        return self._smtp

    def _why_tls(self) -> Phrase:
        s = self.settings
        asked = Phrase("the configuration asks for it (mail.smtp.starttls: true)") \
            if s.starttls else Phrase(
            "credentials are set (ROLLOUT_SMTP_USERNAME), and with them STARTTLS is required")
        return Phrase("the server does not offer STARTTLS, but {asked}; the password and the "
                      "letters were not sent and stay queued. Turn STARTTLS on at the server, "
                      "give a server with TLS (mail.smtp.tls: true, port 465) or "
                      "mail.smtp.starttls: false without credentials", asked=asked)

    async def send(self, msg: Payload, envelope_from: str, rcpts: list[str],
                   row_id: int) -> Outcome:
        utf8 = needs_smtputf8(envelope_from, rcpts)
        try:
            smtp = await self._connected()
            if utf8 and smtp.is_ehlo_or_helo_needed:
                await smtp.ehlo()  # the extensions are known only after EHLO
        except aiosmtplib.SMTPResponseException as exc:  # 421 or 554 as the greeting
            await self.close()
            return Outcome("temporary", _answer(exc.code, exc.message), connection_lost=True)
        except CONNECTION_ERRORS as exc:
            await self.close()
            return Outcome("temporary", f"{type(exc).__name__}: {exc}", connection_lost=True)
        if utf8 and not smtp.supports_extension("smtputf8"):
            # A Cyrillic local part cannot be written in ASCII: this message cannot go through
            # this server, and nothing about it will change by retrying.
            why = (f"сервер {self.server} не поддерживает SMTPUTF8, а в адресе есть кириллица "
                   "до @; через этот сервер письмо не доставить")
            return Outcome("permanent", why, {a: why for a in rcpts if not a.isascii()})
        try:
            payload = smtp_payload(msg, envelope_from, rcpts)
            refused, _ = await smtp.sendmail(envelope_from, rcpts, payload,
                                             mail_options=["SMTPUTF8"] if utf8 else None)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            answers = {r.recipient: _answer(r.code, r.message) for r in exc.recipients}
            if all(r.code >= 500 for r in exc.recipients):
                return Outcome("permanent", "; ".join(answers.values()), answers)
            return Outcome("temporary", "; ".join(answers.values()))
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                return Outcome("permanent", _answer(exc.code, exc.message))
            if exc.code == 421:  # the server closes the session: a new one for the next message
                await self.close()
            return Outcome("temporary", _answer(exc.code, exc.message))
        except (*CONNECTION_ERRORS, aiosmtplib.SMTPException) as exc:
            # Dropped before or after DATA, a timeout, or a session in a state we cannot trust:
            # try again later on a new connection (with the same Message-ID).
            await self.close()
            return Outcome("temporary", f"{type(exc).__name__}: {exc}", connection_lost=True)
        hard = {a: _answer(r.code, r.message) for a, r in refused.items() if r.code >= 500}
        return Outcome("sent", refused=hard)

    async def close(self) -> None:
        """Ends the session; when this returns the socket is closed, not only closing."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        transport = smtp.transport if isinstance(smtp.transport, asyncio.Transport) else None
        try:
            if smtp.is_connected:
                await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()
            if transport is not None:
                await _socket_closed(transport)


async def _socket_closed(transport: asyncio.Transport, wait_s: float = 1.0) -> None:
    """Waits until the socket under a closed transport is released, aborting it after wait_s.

    Over TLS, close() starts a shutdown exchange that runs on the event loop after close()
    returns; a relay whose loop ended first left the socket for the garbage collector
    ("unclosed transport", a ResourceWarning that CI treats as an error)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while sock.fileno() != -1 and loop.time() < deadline:
        await asyncio.sleep(0.005)
    if sock.fileno() != -1:
        transport.abort()  # the peer never answered the shutdown
        for _ in range(10):  # abort closes on the loop's next turns
            if sock.fileno() == -1:
                break
            await asyncio.sleep(0)


class FileSender(Sender):
    """Writes one .eml file per message (the embedded default and the demo).

    The file is named after the outbox id, so a retried message overwrites itself.
    """

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, msg: Payload, envelope_from: str, rcpts: list[str],
                   row_id: int) -> Outcome:
        return self._write(msg, envelope_from, rcpts, row_id)  # local: not worth a thread

    def _write(self, msg: Payload, envelope_from: str, rcpts: list[str],
               row_id: int) -> Outcome:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{row_id:06d}.eml"
        tmp = final.with_suffix(".eml.tmp")
        utf8 = not all(a.isascii() for a in (envelope_from, *rcpts))
        # A Cyrillic mailbox is written as RFC 6532 UTF-8 headers (the default policy's line ends)
        tmp.write_bytes(msg.as_bytes(policy=UTF8_FILE_POLICY if utf8 else FILE_POLICY))
        os.replace(tmp, final)  # atomic: a reader never sees half a message
        return Outcome("sent")


def make_sender(settings: MailSettings) -> Sender:
    if settings.transport == "smtp":
        return SmtpSender(settings.smtp)
    return FileSender(settings.dir)

"""Mail errors: each also subclasses a built-in, its message built from names and figures.

An error the command line shows keeps its sentence as a Phrase (`text`, storage.text): `str()` is
English, the command line translates it.
"""

from __future__ import annotations

from storage.text import Phrase


class MailError(Exception):
    """Base of the notifications errors."""

    def __init__(self, text: Phrase | str) -> None:
        self.text = text
        super().__init__(str(text))


class TemplateMissing(MailError, LookupError):
    """A letter's template does not exist (or sets no subject)."""

    def __init__(self, name: str, detail: str | Phrase) -> None:
        self.name = name
        super().__init__(Phrase("letter {name}: template not found or incomplete ({detail})",
                                name=repr(name), detail=detail))


class TemplateBroken(MailError, ValueError):
    """A template of the override folder cannot be used; names its file and line (exit 6)."""

    def __init__(self, file: str, line: int | None, detail: str | Phrase) -> None:
        self.file, self.line = file, line
        super().__init__(Phrase("template {file}, line {line}: {detail}", file=file, line=line,
                                detail=detail) if line else
                         Phrase("template {file}: {detail}", file=file, detail=detail))


class UnknownLetter(MailError, LookupError):
    """`letter NAME` names no letter that can be sent for a region."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(Phrase("unknown letter {name}; letters are {letters}", name=repr(name),
                                letters=", ".join(known)))


class MissingData(MailError, ValueError):
    """A letter needs data the database does not have yet (a coordinator, schools)."""


class BadAddress(MailError, ValueError):
    """An address cannot be put into a header safely."""

    def __init__(self, address: str, detail: str) -> None:
        self.address, self.detail = address, detail
        super().__init__(f"адрес {address!r} не годится: {detail}")


class Unbuildable(MailError, ValueError):
    """A stored message cannot be built (its addresses are refused): that message fails."""

    def __init__(self, reason: str, refused: dict[str, str]) -> None:
        self.reason, self.refused = reason, refused
        super().__init__(reason)


class SmtpSettingsRefused(MailError, ValueError):
    """The server cannot be used as configured (STARTTLS required, not offered): nothing is sent.

    A configuration problem, not a message's: the messages stay queued and their leases are
    given back, so they go out as soon as the server or the configuration is fixed.
    """

    def __init__(self, server: str, detail: Phrase) -> None:
        self.server = server
        super().__init__(Phrase("mail server {server}: {detail}", server=server, detail=detail))


class SchedulerBusy(MailError, RuntimeError):
    """Another `rollout run` holds the scheduler lock."""


class WriterStopped(MailError, RuntimeError):
    """A reminder pass's second process stopped before it had written a chunk: the parts
    written before are queued; the next pass queues the rest (exit 5: try again)."""

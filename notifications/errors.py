"""Mail errors: each also subclasses a built-in, its message built from names and figures."""

from __future__ import annotations


class MailError(Exception):
    """Base of the notifications errors."""


class TemplateMissing(MailError, LookupError):
    """A letter's template does not exist (or sets no subject)."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        super().__init__(f"letter {name!r}: template not found or incomplete ({detail})")


class UnknownLetter(MailError, LookupError):
    """`letter NAME` names no letter that can be sent for a region."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown letter {name!r}; letters are {', '.join(known)}")


class MissingData(MailError, ValueError):
    """A letter needs data the database does not have yet (a coordinator, schools)."""


class BadAddress(MailError, ValueError):
    """An address cannot be put into a header safely."""

    def __init__(self, address: str, detail: str) -> None:
        super().__init__(f"address {address!r} is not usable: {detail}")


class SchedulerBusy(MailError, RuntimeError):
    """Another `rollout run` holds the scheduler lock."""

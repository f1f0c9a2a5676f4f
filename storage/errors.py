"""Storage errors: each also subclasses a built-in, its message built from ids and figures.

Each keeps its sentence as a Phrase (`text`): `str()` is English, and the command line shows it
in the reader's language through the catalogue (storage imports none).
"""

from __future__ import annotations

from storage.text import Phrase

# The kinds of machine as a word of a sentence (the catalogue has them: "region" is «регион»).
KINDS = {"region": Phrase("region"), "school": Phrase("school")}


class StorageError(Exception):
    """Base of the storage errors."""

    text: Phrase

    def __init__(self, text: Phrase) -> None:
        self.text = text
        super().__init__(str(text))


class ConflictError(StorageError, RuntimeError):
    """The machine changed under the caller (its version moved); nothing was written."""

    def __init__(self, kind: str, code: str, expected_version: int | None = None) -> None:
        self.kind, self.code = kind, code
        what = KINDS.get(kind, kind)
        if expected_version is None:
            super().__init__(Phrase("{kind} {code} changed under you; nothing was written, "
                                    "try again", kind=what, code=code))
        else:
            super().__init__(Phrase("{kind} {code} changed under you (expected version "
                                    "{version}); nothing was written, try again", kind=what,
                                    code=code, version=expected_version))


class ChainBroken(StorageError, ValueError):
    """The history does not verify; names the first event that does not match.

    `what` says which kind of tampering it looks like (altered, deleted, relinked, head,
    anchor, machine, assignment, metrics); `problem` says what does not match.
    """

    def __init__(self, seq: int, problem: Phrase, what: str = "altered") -> None:
        self.seq, self.problem, self.what = seq, problem, what
        super().__init__(Phrase("the history does not verify at event #{seq}: {problem}",
                                seq=seq, problem=problem))


class StateMismatch(ChainBroken):
    """The stored machines, roles or metrics are not what the history says (exit 7 too)."""

    def __init__(self, seq: int, problem: Phrase, what: str, differences: int = 1) -> None:
        self.seq, self.problem, self.what = seq, problem, what
        self.differences = differences
        StorageError.__init__(self, Phrase(
            "the data in the database do not match the history: {problem}", problem=problem)
            if differences == 1 else Phrase(
            "the data in the database do not match the history: {problem} ({n} differences "
            "in all)", problem=problem, n=differences))


class DatabaseNotReady(StorageError, RuntimeError):
    """The database has not been initialised or migrated to this version's schema."""

    def __init__(self, url: str, detail: str | Phrase, init_helps: bool = True) -> None:
        super().__init__(Phrase("database {url} is not ready ({detail}); run `rollout init`",
                                url=url, detail=detail) if init_helps else
                         Phrase("database {url} is not ready ({detail})", url=url,
                                detail=detail))


class DatabaseBusy(StorageError, TimeoutError):
    """Another writer held the database longer than the busy timeout; nothing was written."""

    def __init__(self, url: str, waited_s: float) -> None:
        super().__init__(Phrase("the database {url} has been busy with another write for more "
                                "than {seconds} s; nothing was written, try again later",
                                url=url, seconds=format(waited_s, "g")))

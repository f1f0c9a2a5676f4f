"""Storage errors: each also subclasses a built-in, its message built from ids and figures."""

from __future__ import annotations


class StorageError(Exception):
    """Base of the storage errors."""


class ConflictError(StorageError, RuntimeError):
    """The machine changed under the caller (its version moved); nothing was written."""

    def __init__(self, kind: str, code: str, expected_version: int | None = None) -> None:
        self.kind, self.code = kind, code
        detail = f" (expected version {expected_version})" if expected_version is not None else ""
        super().__init__(f"{kind} {code} changed under you{detail}; nothing was written, try again")


class ChainBroken(StorageError, ValueError):
    """The history does not verify; names the first event that does not match.

    `what` says which kind of tampering it looks like (altered, deleted, relinked, head,
    anchor, machine, assignment, metrics); the message is Russian, for the auditor.
    """

    def __init__(self, seq: int, problem: str, what: str = "altered") -> None:
        self.seq, self.problem, self.what = seq, problem, what
        super().__init__(f"история не проходит проверку на событии #{seq}: {problem}")


class StateMismatch(ChainBroken):
    """The stored machines, roles or metrics are not what the history says (exit 7 too)."""

    def __init__(self, seq: int, problem: str, what: str, differences: int = 1) -> None:
        super().__init__(seq, problem, what)
        self.differences = differences
        more = f" (всего расхождений: {differences})" if differences > 1 else ""
        Exception.__init__(self, f"данные в базе не совпадают с историей: {problem}{more}")


class DatabaseNotReady(StorageError, RuntimeError):
    """The database has not been initialised or migrated to this version's schema."""

    def __init__(self, url: str, detail: str, init_helps: bool = True) -> None:
        hint = "; run `rollout init`" if init_helps else ""
        super().__init__(f"database {url} is not ready ({detail}){hint}")


class DatabaseBusy(StorageError, TimeoutError):
    """Another writer held the database longer than the busy timeout; nothing was written."""

    def __init__(self, url: str, waited_s: float) -> None:
        super().__init__(f"база {url} занята другой записью дольше {waited_s:g} с; ничего не "
                         "записано, повторите позже")

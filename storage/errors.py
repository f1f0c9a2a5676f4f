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
    """The history does not verify; names the first event that does not match."""

    def __init__(self, seq: int, problem: str) -> None:
        self.seq, self.problem = seq, problem
        super().__init__(f"history does not verify at event #{seq}: {problem}")


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

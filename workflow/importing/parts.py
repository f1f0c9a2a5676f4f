"""Writing a checked import in parts: short write transactions, each with its own record.

The whole file is read and checked before anything is written, without the writer lock (cells
in the stage, references in a read transaction): a file with any bad row writes nothing. Then
the appliers write; at the end of each chunk they call `Parts.boundary`, and once a part holds
PART_ROWS rows or transitions it is committed with an `Imported` event of its own (its counts,
and for metrics its figures, so that `audit verify` can check the table after any part). A file
under PART_ROWS is one transaction, as before. A big file killed between parts keeps the parts
already committed: running the same import again writes the rest (the rows already in are
unchanged), and nothing is written twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from typing import Any

from workflow.engine import Change

# Rows (and cascade transitions) per write transaction of an import: well under a second of
# writer lock on a loaded box, so that a coordinator's `advance` waits less than that.
# ROLLOUT_IMPORT_PART tunes it (tests make it small); the stage reads rows back as many at a
# time (stage.CHUNK), so a part ends at a chunk's end.
PART_ROWS = max(1, int(os.environ.get("ROLLOUT_IMPORT_PART", "500")))


class Parts:
    """The write transactions of one import, opened and committed as the appliers go."""

    def __init__(self, services: Any, now: datetime, record: Callable[[Change, dict[str, int],
                                                                        int], None],
                 chunked: bool) -> None:
        self.services, self.now, self.record, self.chunked = services, now, record, chunked
        self.stack = ExitStack()
        self.ch = self._open()
        self.pending = 0  # rows applied in the open part
        self.number = 1
        self.transitions = 0
        self._counted = {"created": 0, "updated": 0, "unchanged": 0, "assigned": 0,
                         "removals": 0}

    def _open(self) -> Change:
        conn = self.stack.enter_context(self.services.db.write())
        return self.services.change(conn, self.now)  # the definition in force, each part

    def boundary(self, applier: Any, rows: int = 0) -> None:
        """The end of a chunk: commit the part if it is big enough (and we commit at all)."""
        self.pending += rows
        if self.chunked and self.pending + self.ch.transitions >= PART_ROWS:
            self.close(applier, last=False)
            self.services.db.pause()  # a write that waits goes first
            self.stack = ExitStack()
            self.ch = self._open()
            applier.rebind(self.ch)
            self.number += 1
            self.pending = 0

    def close(self, applier: Any, last: bool) -> None:
        """Record the part (if it changed anything) and write it; commit it when chunked."""
        counts = {k: getattr(applier, k) - v for k, v in self._counted.items()}
        self._counted = {k: getattr(applier, k) for k in self._counted}
        if counts["created"] or counts["updated"] or counts["assigned"] or counts["removals"]:
            self.record(self.ch, counts, 0 if last and self.number == 1 else self.number)
        self.ch.flush()
        self.transitions += self.ch.transitions
        if self.chunked:
            self.stack.close()

    def abort(self, exc: BaseException) -> None:
        """Roll the open part back (the parts committed before it stay)."""
        self.stack.__exit__(type(exc), exc, exc.__traceback__)


__all__ = ["PART_ROWS", "Parts"]

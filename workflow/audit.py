"""The history for auditors: a machine's log, the whole export (JSONL or CSV), verification."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from storage import history, repo
from storage.spreadsheets import write_table
from workflow.errors import UnknownCode

COLUMNS = ("seq", "at", "event", "kind", "code", "region_code", "step", "from_state", "to_state",
           "actor", "role", "reason", "trigger", "data", "prev_hash", "hash")


def public(event: dict[str, Any]) -> dict[str, Any]:
    out = {k: event.get(k) for k in COLUMNS}
    out["at"] = event["at"].isoformat()
    return out


def machine_log(conn: Connection, kind: str, code: str) -> list[dict[str, Any]]:
    if repo.target(conn, kind, code) is None:
        raise UnknownCode(kind, code)
    return [public(e) for e in history.machine_log(conn, kind, code)]


def export(conn: Connection, fmt: str, out: Path) -> int:
    """Write the whole history to `out` (written aside, then moved into place); returns count.

    `jsonl` one event a line; `csv` and `xlsx` through storage.spreadsheets, formulas
    neutralised, CSV as Russian Excel opens it.
    """
    if fmt in ("csv", "xlsx"):
        rows = ([public(e)[c] for c in COLUMNS] for e in history.iter_all(conn))
        return write_table(out, fmt, COLUMNS, rows, title="История")
    tmp = out.with_name(out.name + ".part")
    n = 0
    with tmp.open("w", encoding="utf-8", newline="") as f:
        for event in history.iter_all(conn):
            f.write(json.dumps(public(event), ensure_ascii=False, default=str) + "\n")
            n += 1
    tmp.replace(out)
    return n

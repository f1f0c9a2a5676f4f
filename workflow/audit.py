"""The history for auditors: a machine's log, the whole export (JSONL or CSV), verification."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from storage import history, repo
from workflow.errors import UnknownCode

COLUMNS = ("seq", "at", "event", "kind", "code", "region_code", "step", "from_state", "to_state",
           "actor", "role", "reason", "trigger", "data", "prev_hash", "hash")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def public(event: dict[str, Any]) -> dict[str, Any]:
    out = {k: event.get(k) for k in COLUMNS}
    out["at"] = event["at"].isoformat()
    return out


def machine_log(conn: Connection, kind: str, code: str) -> list[dict[str, Any]]:
    if repo.target(conn, kind, code) is None:
        raise UnknownCode(kind, code)
    return [public(e) for e in history.machine_log(conn, kind, code)]


def neutralise(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else (
        json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict)
        else str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export(conn: Connection, fmt: str, out: Path) -> int:
    """Write the whole history to `out` (written aside, then moved into place); returns count."""
    tmp = out.with_name(out.name + ".part")
    n = 0
    with tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f) if fmt == "csv" else None
        if writer:
            writer.writerow(COLUMNS)
        for event in history.iter_all(conn):
            row = public(event)
            if writer:
                writer.writerow([neutralise(row[c]) for c in COLUMNS])
            else:
                f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            n += 1
    tmp.replace(out)
    return n

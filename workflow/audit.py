"""The history for auditors: a machine's log, the whole export (JSONL or CSV), verification."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from storage import anchors as anchors_mod
from storage import history, repo
from storage.history import Anchor
from storage.replay import Checked, Replay
from storage.spreadsheets import write_table
from workflow.errors import InvalidInput, UnknownCode
from workflow.i18n import _

COLUMNS = ("seq", "at", "recorded_at", "event", "kind", "code", "region_code", "step",
           "from_state", "to_state", "actor", "role", "reason", "trigger", "data", "prev_hash",
           "hash")
ANCHOR_RE = re.compile(r"^\s*(\d{1,12}):([0-9a-fA-F]{64})\s*$")


def public(event: dict[str, Any]) -> dict[str, Any]:
    out = {k: event.get(k) for k in COLUMNS}
    out["at"] = event["at"].isoformat()
    # the real time of writing; None for events older than the column
    out["recorded_at"] = event["recorded_at"].isoformat() if event.get("recorded_at") else None
    return out


def machine_log(conn: Connection, kind: str, code: str) -> list[dict[str, Any]]:
    if repo.target(conn, kind, code) is None:
        raise UnknownCode(kind, code)
    return [public(e) for e in history.machine_log(conn, kind, code)]


def machine_timezone(conn: Connection, kind: str, code: str) -> str:
    """The zone a machine's times are shown in: the school's own, else its region's."""
    from storage.models import regions, schools

    zone = None
    region = code
    if kind == "school":
        row = conn.execute(select(schools.c.timezone, schools.c.region_code)
                           .where(schools.c.code == code)).first()
        if row is not None:
            zone, region = row.timezone, row.region_code
    if not zone:
        zone = conn.execute(select(regions.c.timezone).where(regions.c.code == region)
                            ).scalar()
    return zone or "Europe/Moscow"


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


def parse_anchor(text: str, source: str) -> Anchor:
    """`SEQ:HASH` as `audit anchor` prints it; InvalidInput names where it came from."""
    m = ANCHOR_RE.match(text)
    if not m:
        raise InvalidInput(_("{source}: {text} is not an anchor; expected SEQ:HASH (a number, "
                             "a colon, 64 hex digits)", source=source,
                             text=repr(text.strip()[:80])))
    return Anchor(int(m.group(1)), m.group(2).lower(), source)


def read_anchors(path: Path) -> list[Anchor]:
    """One anchor a line; blank lines and lines starting with # are left out."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(_("--anchors {path}: cannot read ({error})", path=path,
                             error=exc)) from None
    found = [parse_anchor(line, f"{path}:{n}") for n, line in enumerate(lines, 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not found:
        raise InvalidInput(_("--anchors {path}: no anchor in the file", path=path))
    return found


def verify(conn: Connection, given: Iterable[Anchor] = ()) -> tuple[int, Checked, int]:
    """The whole proof: the chain, the anchors (given and stored), then the replayed state.

    Returns (events, what the replay checked, anchors checked); ChainBroken (exit 7) names
    the first problem.
    """
    every = [*given, *anchors_mod.stored(conn)]
    replay = Replay()
    n = history.verify(conn, every, on_event=replay)
    return n, replay.check(conn), len(every)

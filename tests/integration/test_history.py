"""The history is append-only and hash-chained: any edit, deletion or reordering is detected."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from storage import ChainBroken, history
from storage.models import chain_head, events
from tests.builders import SUPPORT, World
from workflow import audit


@pytest.fixture
def walked(world: World) -> World:
    world.standard().through_step3()
    return world


def _verify(world: World) -> int:
    with world.services.db.read() as conn:
        return history.verify(conn)


def test_intact_history_verifies(walked: World) -> None:
    """An untouched history verifies and counts every event."""
    with walked.services.db.read() as conn:
        total = history.count(conn)
    assert _verify(walked) == total > 10


def test_altered_event_is_named(walked: World) -> None:
    """Changing one field of one event breaks the chain at exactly that event."""
    with walked.services.db.write() as conn:
        conn.execute(update(events).where(events.c.seq == 5).values(actor="mallory@evil.ru"))
    with pytest.raises(ChainBroken) as exc:
        _verify(walked)
    assert exc.value.seq == 5
    assert exc.value.what == "altered" and "the event was altered" in str(exc.value)


def test_deleted_event_is_named(walked: World) -> None:
    """Deleting an event in the middle names the missing event."""
    with walked.services.db.write() as conn:
        conn.execute(delete(events).where(events.c.seq == 7))
    with pytest.raises(ChainBroken) as exc:
        _verify(walked)
    assert exc.value.seq == 7
    assert exc.value.what == "deleted" and "an event was deleted" in str(exc.value)


def test_reordered_events_are_detected(walked: World) -> None:
    """Swapping two events' positions breaks the link at the first of them."""
    with walked.services.db.write() as conn:
        rows = {r.seq: dict(r._mapping) for r in conn.execute(
            select(events).where(events.c.seq.in_([3, 4])))}
        for seq, other in ((3, 4), (4, 3)):
            values = {k: v for k, v in rows[other].items() if k != "seq"}
            conn.execute(update(events).where(events.c.seq == seq).values(**values))
    with pytest.raises(ChainBroken) as exc:
        _verify(walked)
    assert exc.value.seq == 3


def test_deleted_tail_is_detected(walked: World) -> None:
    """Deleting the newest events is caught by the chain head."""
    with walked.services.db.read() as conn:
        last = history.count(conn)
    with walked.services.db.write() as conn:
        conn.execute(delete(events).where(events.c.seq >= last - 1))
    with pytest.raises(ChainBroken) as exc:
        _verify(walked)
    assert exc.value.seq == last - 1


def test_refused_attempts_are_on_record(world: World) -> None:
    """A guard refusal and a permission refusal each leave an event naming the actor."""
    world.standard()
    s = world.services
    with pytest.raises(ValueError):
        s.advance("region", "07", "registry", "rc@region07.ru", world.now)
    with pytest.raises(PermissionError):
        s.advance("region", "07", "coordinator", "rc@region07.ru", world.now)
    with s.db.read() as conn:
        log = audit.machine_log(conn, "region", "07")
    assert [(e["event"], e["actor"], e["step"]) for e in log[-2:]] == [
        ("StepRefused", "rc@region07.ru", "registry"),
        ("ActionDenied", "rc@region07.ru", "coordinator")]
    assert "coordinator must be done first" in log[-2]["reason"]
    assert _verify(world) > 0


def test_csv_export_neutralises_formulas(world: World, tmp_path: Path) -> None:
    """A reason typed as a formula comes out of the CSV export as text, not a formula."""
    world.standard()
    s = world.services
    s.advance("region", "07", "coordinator", SUPPORT, world.now)
    s.reopen("region", "07", "coordinator", SUPPORT, world.now, '=HYPERLINK("http://x","y")')
    out = tmp_path / "history.csv"
    with s.db.read() as conn:
        n = audit.export(conn, "csv", out)
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert len(rows) == n
    reasons = [r["reason"] for r in rows if r["event"] == "StepReopened" and r["kind"] == "region"]
    assert reasons == ["'=HYPERLINK(\"http://x\",\"y\")"]
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())


def test_jsonl_export_has_every_event_in_order(world: World, tmp_path: Path) -> None:
    """The JSONL export holds one event a line, oldest first, with its hashes."""
    world.standard().through_step3()
    out = tmp_path / "history.jsonl"
    with world.services.db.read() as conn:
        n = audit.export(conn, "jsonl", out)
        head = conn.execute(select(chain_head.c.hash)).scalar_one()
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, n + 1))
    assert lines[-1]["hash"] == head

"""`audit verify` proves the whole state: machines, roles and metrics replay from the history,
and an anchor kept outside catches a history cut or rewritten with its hashes recomputed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from storage import ChainBroken, history
from storage import anchors as anchors_mod
from storage.errors import StateMismatch
from storage.history import Anchor
from storage.models import anchors, assignments, chain_head, events, machines, metrics
from tests.builders import SUPPORT, World
from workflow import audit

RC = "rc@region07.ru"


@pytest.fixture
def walked(world: World) -> World:
    """Region 07 through step 3, an admin for S1, metrics that complete S1's steps 5-8."""
    world.standard().through_step3()
    world.services.assign("school_admin", "S1", "adm@s1.ru", "Админ Школы", RC, world.now)
    world.metrics("S1", teachers=10, classes=5, parents=100, students=100)
    return world


def proof(world: World, *given: Anchor) -> tuple[int, Any, int]:
    with world.services.db.snapshot() as conn:
        return audit.verify(conn, given)


def head(world: World) -> Anchor:
    with world.services.db.read() as conn:
        seq, hash_ = history.head(conn)
    return Anchor(seq, hash_, "test")


def rechain(conn: Connection, start: int = 1) -> None:
    """What an attacker with the database does: recompute every hash from `start`, move the
    head."""
    rows = [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.seq))]
    prev = history.GENESIS
    for row in rows:
        if row["seq"] >= start:
            row["prev_hash"], row["hash"] = prev, history.event_hash(prev, row)
            conn.execute(update(events).where(events.c.seq == row["seq"]).values(
                prev_hash=row["prev_hash"], hash=row["hash"]))
        prev = row["hash"]
    conn.execute(update(chain_head).values(seq=rows[-1]["seq"] if rows else 0, hash=prev))


def test_intact_state_replays(walked: World) -> None:
    """Untouched, every machine, role and metric row is what the history says."""
    n, checked, _ = proof(walked)
    assert n == checked.events > 20
    assert checked.machines == 4  # region 07 and its three schools
    assert checked.assignments == 7  # four imported, two municipal coordinators, the admin
    assert checked.metrics == 1 and checked.metrics_unchecked == 0


def test_school_set_to_done_is_named(walked: World) -> None:
    """Editing a machine (a school set to done) names the school and its last event."""
    with walked.services.db.read() as conn:
        last = conn.execute(select(events.c.seq).where(events.c.code == "S2")
                            .order_by(events.c.seq.desc())).scalars().first()
    with walked.services.db.write() as conn:
        conn.execute(update(machines).where(machines.c.code == "S2").values(state="done"))
    with pytest.raises(StateMismatch) as exc:
        proof(walked)
    assert exc.value.what == "machine" and exc.value.seq == last
    assert "school S2: state in the database «done», by the history «admins»" in str(exc.value)


def test_one_step_status_edited_is_named(walked: World) -> None:
    """A step's status edited inside the steps map (the state left alone) is named."""
    with walked.services.db.write() as conn:
        row = conn.execute(select(machines.c.steps).where(machines.c.code == "S2")).one()
        steps = dict(row.steps)
        steps["admins"] = {**steps["admins"], "status": "done"}
        conn.execute(update(machines).where(machines.c.code == "S2").values(steps=steps))
    with pytest.raises(StateMismatch, match="school S2: step «admins» in the database done, by the "
                       "history current"):
        proof(walked)


def test_the_derived_step_indexes_are_checked(walked: World) -> None:
    """The one-letter summary that reports count by, and the open steps that reminders and late
    counts read, are checked against each machine's steps."""
    from storage.models import open_steps

    with walked.services.db.write() as conn:
        conn.execute(update(machines).where(machines.c.code == "S2").values(statuses="DDDDDDDDD"))
    with pytest.raises(StateMismatch,
                       match="school S2: the steps' summary in the database «DDDDDDDDD»"):
        proof(walked)
    with walked.services.db.write() as conn:
        conn.execute(update(machines).where(machines.c.code == "S2").values(statuses="DDDCPPPPP"))
        conn.execute(open_steps.delete().where(open_steps.c.code == "S2"))
    with pytest.raises(StateMismatch, match="school S2: the open step «admins» is missing"):
        proof(walked)


def test_self_granted_role_is_named(walked: World) -> None:
    """Granting oneself a role in the assignments table names the person and the role."""
    with walked.services.db.write() as conn:
        conn.execute(insert(assignments).values(email="mc1@region07.ru", role="support",
                                                scope="", since=walked.now))
    with pytest.raises(StateMismatch) as exc:
        proof(walked)
    assert exc.value.what == "assignment"
    assert ("mc1@region07.ru: role support (global) in the database, but the history has no "
            "appointment to it") in str(exc.value)


def test_deleted_role_is_named(walked: World) -> None:
    """A role deleted from the table (not through unassign) is named with its event."""
    with walked.services.db.write() as conn:
        conn.execute(delete(assignments).where(assignments.c.email == "adm@s1.ru"))
    with pytest.raises(StateMismatch, match=r"adm@s1.ru: by the history role school_admin for S1 "
                       r"was appointed \(event #\d+\), but the database does not have it"):
        proof(walked)


def test_edited_metrics_are_named(walked: World) -> None:
    """A count edited in the metrics table names the school and both sets of figures."""
    with walked.services.db.write() as conn:
        conn.execute(update(metrics).where(metrics.c.school_code == "S1").values(teachers=99))
    with pytest.raises(StateMismatch) as exc:
        proof(walked)
    assert exc.value.what == "metrics"
    assert "school S1: figures in the database (teachers 99, classes 5, parents 100, " \
           "students 100), by the history (teachers 10" in str(exc.value)


def test_cut_tail_with_head_moved_is_caught(walked: World) -> None:
    """The issue's case: delete the last events and point the head at the new last one.

    The replay catches it (the machines moved by the deleted events), and so does an anchor.
    """
    anchor = head(walked)
    with walked.services.db.write() as conn:
        conn.execute(delete(events).where(events.c.seq > anchor.seq - 3))
        rechain(conn, anchor.seq)
    with pytest.raises(StateMismatch):
        proof(walked)
    with pytest.raises(ChainBroken) as exc:
        proof(walked, anchor)
    assert exc.value.what == "anchor" and exc.value.seq == anchor.seq - 2
    assert f"the history ends at #{anchor.seq - 3}" in str(exc.value)


def test_everything_deleted_and_head_reset_is_caught(walked: World) -> None:
    """The issue's other case: delete every event, reset the head to the genesis."""
    anchor = head(walked)
    with walked.services.db.write() as conn:
        conn.execute(delete(events))
        conn.execute(update(chain_head).values(seq=0, hash=history.GENESIS))
    with pytest.raises(StateMismatch, match="region 07: state in the database"):
        proof(walked)
    with pytest.raises(ChainBroken, match="the history ends at #0"):
        proof(walked, anchor)


def test_rewrite_with_recomputed_hashes_needs_the_anchor(walked: World) -> None:
    """An event rewritten (who did it) with every hash recomputed passes the chain; the anchor
    kept outside names the first event whose hash differs from it."""
    anchor = head(walked)
    with walked.services.db.write() as conn:
        conn.execute(update(events).where(events.c.seq == 5).values(actor="mallory@evil.ru"))
        rechain(conn, 5)
    assert proof(walked)[0] == anchor.seq  # nothing in the state shows it
    with pytest.raises(ChainBroken) as exc:
        proof(walked, anchor)
    assert exc.value.what == "anchor" and exc.value.seq == anchor.seq


def test_recorded_anchor_is_checked_until_deleted(walked: World) -> None:
    """Anchors in the table are checked too; deleting them removes that check, which is why
    the copy kept outside the database is the one that proves anything."""
    with walked.services.db.write() as conn:
        anchors_mod.record(conn, walked.now, "auditor@minpros.ru")
        conn.execute(update(events).where(events.c.seq == 3).values(reason="подделка"))
        rechain(conn, 3)
    with pytest.raises(ChainBroken, match="the anchors table"):
        proof(walked)
    with walked.services.db.write() as conn:
        conn.execute(delete(anchors))
    assert proof(walked)[2] == 0


def test_an_anchor_at_a_later_event_catches_the_rewrite_before(walked: World) -> None:
    """Events written after the anchor do not disturb it."""
    anchor = head(walked)
    walked.services.advance("school", "S1", "adoption", "adm@s1.ru", walked.tick(days=1))
    n, _, k = proof(walked, anchor)
    assert n > anchor.seq and k == 1
    wrong = Anchor(anchor.seq, "0" * 64, "--anchor")
    with pytest.raises(ChainBroken, match=f"at event #{anchor.seq}"):
        proof(walked, wrong)


def test_events_before_the_steps_map_replay_on_the_line(world: World) -> None:
    """First-release events carry no data.steps: their statuses follow from to_state, a skip
    from its StepSkipped event. A history rewritten that way still replays to the state."""
    world.standard().reconciled()
    s = world.services
    s.advance("region", "07", "coordinator", SUPPORT, world.now)
    s.advance("region", "07", "registry", RC, world.now)
    s.reopen("region", "07", "registry", RC, world.now, "сверка заново")
    s.advance("region", "07", "registry", RC, world.now)
    s.skip("region", "07", "municipalities", RC, world.now, "один муниципалитет")
    with world.services.db.write() as conn:
        for r in conn.execute(select(events.c.seq, events.c.data)).all():
            if isinstance(r.data, dict) and "steps" in r.data:
                data = {k: v for k, v in r.data.items() if k != "steps"} or None
                conn.execute(update(events).where(events.c.seq == r.seq).values(
                    data=data, recorded_at=None))
        rechain(conn)
    _, checked, _ = proof(world)
    assert checked.machines == 4
    with world.services.db.write() as conn:  # the line says skipped; the table says done
        row = conn.execute(select(machines.c.steps).where(machines.c.code == "07")).one()
        assert row.steps["municipalities"]["status"] == "skipped"
        steps = {**row.steps, "municipalities": {**row.steps["municipalities"], "status": "done"}}
        conn.execute(update(machines).where(machines.c.code == "07").values(steps=steps))
    with pytest.raises(StateMismatch, match="step «municipalities» in the database done, by the "
                       "history skipped"):
        proof(world)


def test_metrics_of_the_first_release_are_left_unchecked(walked: World) -> None:
    """A metrics import recorded without its counts (the first release) cannot be checked:
    verify says how many schools it left out instead of failing."""
    with walked.services.db.write() as conn:
        for r in conn.execute(select(events.c.seq, events.c.data)
                              .where(events.c.event == "Imported")).all():
            if r.data.get("kind") == "metrics":
                data = {k: v for k, v in r.data.items() if k != "metrics"}
                conn.execute(update(events).where(events.c.seq == r.seq).values(data=data))
        rechain(conn)
    _, checked, _ = proof(walked)
    assert (checked.metrics, checked.metrics_unchecked) == (0, 1)


def test_real_time_is_recorded_beside_the_claimed_one(walked: World) -> None:
    """`--at` claims a moment; the event also records when it was really written, hashed."""
    real = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    walked.services.db.clock = lambda: real
    claimed = datetime(2026, 9, 20, 9, 0, tzinfo=UTC)
    walked.services.advance("school", "S1", "adoption", "adm@s1.ru", claimed)
    with walked.services.db.read() as conn:
        log = audit.machine_log(conn, "school", "S1")
    assert (log[-1]["event"], log[-1]["at"], log[-1]["recorded_at"]) == (
        "StepCompleted", claimed.isoformat(), real.isoformat())
    with walked.services.db.write() as conn:  # moving the real time is an alteration
        conn.execute(update(events).where(events.c.seq == log[-1]["seq"])
                     .values(recorded_at=claimed))
    with pytest.raises(ChainBroken, match="the event was altered"):
        proof(walked)


def _first_release_hash(prev: str, row: dict[str, Any]) -> str:
    """The hash as the first release computed it, written out again here on purpose."""
    payload = {k: row.get(k) for k in ("seq", "at", "kind", "code", "region_code", "event",
                                       "step", "from_state", "to_state", "actor", "role",
                                       "reason", "trigger", "data")}
    payload["at"] = row["at"].astimezone(UTC).isoformat(timespec="microseconds")
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(prev.encode() + body.encode()).hexdigest()


def test_old_events_without_recorded_at_still_verify(walked: World) -> None:
    """Events written before the column existed were hashed without it and still verify."""
    with walked.services.db.write() as conn:
        prev = history.GENESIS
        for r in conn.execute(select(events).order_by(events.c.seq)).all():
            row = dict(r._mapping)
            new = _first_release_hash(prev, row)
            conn.execute(update(events).where(events.c.seq == row["seq"]).values(
                recorded_at=None, prev_hash=prev, hash=new))
            prev = new
        conn.execute(update(chain_head).values(hash=prev))
    assert proof(walked)[0] > 20

"""A tampering campaign on a copy of the demo database: every tampering is detected.

Each case tampers inside a transaction that is rolled back afterwards, so every case starts from
the same copy: events altered, deleted, reordered, inserted, cut or wiped (with and without
their hashes recomputed and the head moved), the chain head edited, machines, roles and
metrics edited. With the anchor taken before, every case must fail `audit verify`; without
it, every case that leaves the hashes as they were must fail too.

ROLLOUT_TAMPERINGS sets the number of cases (CI: 150; the issue's figure: 1000),
ROLLOUT_TAMPER_SEED the seed.
"""

from __future__ import annotations

import os
import random
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from states import STATES
from storage import ChainBroken, Database, history
from storage.history import Anchor
from storage.models import anchors, assignments, chain_head, events, machines, metrics, people
from workflow import audit
from workflow.demo import run_demo

CASES = int(os.environ.get("ROLLOUT_TAMPERINGS", "150"))
SEED = int(os.environ.get("ROLLOUT_TAMPER_SEED", "20261201"))
STATUSES = ("done", "skipped", "current", "pending")


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The demo's database, copied once; the demo itself is left alone."""
    folder = tmp_path_factory.mktemp("campaign")
    services, _ = run_demo(folder / "demo", echo=lambda _line: None)
    services.db.dispose()  # checkpoints the WAL into the file
    shutil.copy(folder / "demo" / "rollout.db", folder / "copy.db")
    db = Database(f"sqlite:///{folder / 'copy.db'}")
    with db.write() as conn:  # the digest's anchors: the attacker deletes them first
        conn.execute(delete(anchors))
    yield db
    db.dispose()


# -- the events, rewritten as a list -----------------------------------------------------------
def _rows(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(events).order_by(events.c.seq))]


def _write(conn: Connection, rows: list[dict[str, Any]], recompute: bool) -> None:
    """Put the list back. Recomputing (what an attacker with the code does): number the events
    again, rechain every hash and move the head; otherwise the stored numbers and hashes stay."""
    if recompute:
        prev = history.GENESIS
        for i, row in enumerate(rows, 1):
            row["seq"], row["prev_hash"] = i, prev
            row["hash"] = prev = history.event_hash(prev, row)
        conn.execute(update(chain_head).values(seq=len(rows), hash=prev))
    conn.execute(delete(events))
    if rows:
        conn.execute(insert(events), rows)


def _changed(value: Any, field: str, rng: random.Random) -> Any:
    if field in ("at", "recorded_at"):
        return (value or rows_epoch()) + timedelta(hours=rng.randint(1, 300))
    if field in ("step", "from_state", "to_state"):
        return rng.choice([s for s in STATES if s != value])
    if field == "data":
        data = dict(value) if isinstance(value, dict) else {}
        if "steps" in data and rng.random() < 0.7:
            slug = rng.choice(sorted(data["steps"]))
            data["steps"] = {**data["steps"], slug: rng.choice(
                [s for s in STATUSES if s != data["steps"][slug]])}
        else:
            data["forged"] = rng.randint(1, 10**6)
        return data
    return {"actor": "mallory@evil.ru", "reason": "подделка", "role": "support",
            "event": "StepCompleted" if value != "StepCompleted" else "StepRefused",
            "trigger": "manual edit", "code": "S-FAKE", "kind": "school" if value != "school"
            else "region"}[field]


def rows_epoch() -> Any:
    from tests.conftest import T0

    return T0


EVENT_FIELDS = ("actor", "reason", "role", "event", "trigger", "code", "kind", "step",
                "from_state", "to_state", "at", "recorded_at", "data")


def alter(conn: Connection, rng: random.Random, recompute: bool) -> str:
    rows = _rows(conn)
    i, field = rng.randrange(len(rows)), rng.choice(EVENT_FIELDS)
    rows[i][field] = _changed(rows[i][field], field, rng)
    if recompute:
        _write(conn, rows, True)
    else:
        conn.execute(update(events).where(events.c.seq == rows[i]["seq"])
                     .values({field: rows[i][field]}))
    return f"event #{i + 1}: {field} altered"


def remove(conn: Connection, rng: random.Random, recompute: bool) -> str:
    rows = _rows(conn)
    i = rng.randrange(len(rows))
    del rows[i]
    _write(conn, rows, recompute)
    return f"event #{i + 1} deleted"


def reorder(conn: Connection, rng: random.Random, recompute: bool) -> str:
    rows = _rows(conn)
    i, j = sorted(rng.sample(range(len(rows)), 2))
    keep = ("seq",) if not recompute else ()
    a, b = rows[i], rows[j]
    rows[i] = {**b, **{k: a[k] for k in keep}}
    rows[j] = {**a, **{k: b[k] for k in keep}}
    _write(conn, rows, recompute)
    return f"events #{i + 1} and #{j + 1} swapped"


def insert_event(conn: Connection, rng: random.Random, recompute: bool) -> str:
    rows = _rows(conn)
    at = rng.randrange(len(rows))  # never after the last: that is a new event, not a tampering
    forged = {**rng.choice(rows), "actor": "mallory@evil.ru"}
    rows.insert(at, forged)
    if not recompute:
        for n, row in enumerate(rows[at:], at + 1):
            row["seq"] = n
    _write(conn, rows, recompute)
    return f"event inserted at #{at + 1}"


def cut_tail(conn: Connection, rng: random.Random, recompute: bool) -> str:
    rows = _rows(conn)
    k = rng.randint(1, min(20, len(rows)))
    _write(conn, rows[:-k], recompute)
    return f"last {k} events deleted"


def wipe(conn: Connection, rng: random.Random, recompute: bool) -> str:
    _write(conn, [], recompute)
    return "every event deleted"


def edit_head(conn: Connection, rng: random.Random, recompute: bool) -> str:
    seq, hash_ = history.head(conn)
    if rng.random() < 0.5:
        conn.execute(update(chain_head).values(seq=seq - rng.randint(1, seq)))
        return "chain head moved back"
    conn.execute(update(chain_head).values(hash=f"{rng.getrandbits(256):064x}"))
    return "chain head hash replaced"


def edit_machine(conn: Connection, rng: random.Random, recompute: bool) -> str:
    rows = conn.execute(select(machines)).all()
    m = rng.choice(rows)
    how = rng.randrange(4)
    if how == 0:
        state = rng.choice([s for s in STATES if s != m.state])
        conn.execute(update(machines).where(machines.c.id == m.id).values(state=state))
        return f"{m.kind} {m.code}: state {m.state} -> {state}"
    if how == 1:
        slug = rng.choice(sorted(m.steps))
        status = rng.choice([s for s in STATUSES if s != m.steps[slug]["status"]])
        steps = {**m.steps, slug: {**m.steps[slug], "status": status}}
        conn.execute(update(machines).where(machines.c.id == m.id).values(steps=steps))
        return f"{m.kind} {m.code}: step {slug} -> {status}"
    if how == 2:
        conn.execute(delete(machines).where(machines.c.id == m.id))
        return f"{m.kind} {m.code}: machine deleted"
    conn.execute(insert(machines).values(kind="school", code=f"FAKE{rng.randint(1, 999)}",
                                         region_code=m.region_code, state=m.state,
                                         steps=m.steps, statuses=m.statuses, version=1,
                                         updated_at=rows_epoch()))
    return "a machine inserted for no school"


def edit_role(conn: Connection, rng: random.Random, recompute: bool) -> str:
    held = conn.execute(select(assignments)).all()
    how = rng.randrange(3)
    if how == 0:
        a = rng.choice(held)
        conn.execute(delete(assignments).where(assignments.c.id == a.id))
        return f"role {a.role} of {a.email} deleted"
    if how == 1:
        a = rng.choice(held)
        role = rng.choice([r for r in ("support", "auditor", "program_manager") if r != a.role])
        conn.execute(update(assignments).where(assignments.c.id == a.id)
                     .values(role=role, scope=""))
        return f"role of {a.email} changed to {role}"
    taken = {(a.email, a.role, a.scope) for a in held}
    emails = list(conn.execute(select(people.c.email)).scalars())
    for _ in range(100):
        grant = (rng.choice(emails), rng.choice(("support", "auditor", "program_manager")), "")
        if grant not in taken:
            conn.execute(insert(assignments).values(email=grant[0], role=grant[1], scope="",
                                                    since=rows_epoch()))
            return f"{grant[0]} granted {grant[1]}"
    raise AssertionError("no role left to grant")


def edit_metrics(conn: Connection, rng: random.Random, recompute: bool) -> str:
    rows = conn.execute(select(metrics)).all()
    m = rng.choice(rows)
    if rng.random() < 0.2:
        conn.execute(delete(metrics).where(metrics.c.school_code == m.school_code))
        return f"metrics of {m.school_code} deleted"
    field = rng.choice(("teachers", "classes", "parents", "students"))
    value = getattr(m, field) + rng.choice((-1, 1)) * rng.randint(1, 50)
    conn.execute(update(metrics).where(metrics.c.school_code == m.school_code)
                 .values({field: abs(value)}))
    return f"metrics of {m.school_code}: {field} {getattr(m, field)} -> {abs(value)}"


Tamper = Callable[[Connection, random.Random, bool], str]
# (tampering, whether it touches the chain: only those can be recomputed)
TAMPERINGS: tuple[tuple[Tamper, bool], ...] = (
    (alter, True), (remove, True), (reorder, True), (insert_event, True), (cut_tail, True),
    (wipe, True), (edit_head, False), (edit_machine, False), (edit_role, False),
    (edit_metrics, False))


def _detected(conn: Connection, anchors: list[Anchor]) -> str | None:
    try:
        audit.verify(conn, anchors)
    except ChainBroken as exc:
        return exc.what
    return None


def test_every_tampering_is_detected(demo_copy: Database) -> None:
    """CASES random tamperings: all detected with the anchor; without it, all of those that
    leave the hashes as they were. The figures are printed (pytest -s) for the README."""
    with demo_copy.snapshot() as conn:
        seq, hash_ = history.head(conn)
        assert audit.verify(conn)[0] == seq  # the untouched copy verifies
    anchor = [Anchor(seq, hash_, "campaign")]
    tally: Counter[str] = Counter()
    missed: list[str] = []
    for case in range(CASES):
        rng = random.Random(SEED + case)
        tamper, chained = TAMPERINGS[rng.randrange(len(TAMPERINGS))]
        recompute = chained and rng.random() < 0.5
        with demo_copy.engine.connect() as conn:
            tx = conn.begin()
            try:
                what = tamper(conn, rng, recompute)
                label = f"case {case} (seed {SEED + case}): {what}" + \
                    (", hashes recomputed" if recompute else "")
                with_anchor = _detected(conn, anchor)
                without = _detected(conn, [])
            finally:
                tx.rollback()
        kind = f"{tamper.__name__}{' (recomputed)' if recompute else ''}"
        tally[kind] += 1
        if with_anchor is None:
            missed.append(f"{label}: not detected even with the anchor")
        if without is None and not recompute:
            missed.append(f"{label}: not detected without an anchor")
        tally["detected without anchor"] += without is not None
        tally["recomputed, detected without anchor"] += recompute and without is not None
        tally["recomputed"] += recompute
    print(f"\ntamper campaign: {CASES} cases, seed {SEED}, {seq} events in the demo; "
          + ", ".join(f"{k}: {v}" for k, v in sorted(tally.items())))
    assert not missed, "\n".join(missed[:20])
    assert len(set(k for k in tally if k[0].islower())) >= 10  # the campaign mixes the kinds

"""bench_engine's bare reference: the engine's writes on the step graph through bare `sqlite3`.

The same rows as the engine writes (machines with their steps, one-letter statuses and
state_since, the `open_steps` rows, the hash-chained events with the statuses in their data),
computed in plain Python over plain dicts: no validation, no permissions, no `transitions`,
no SQLAlchemy. A graph is plain data ({slug: the steps it comes after}).
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from states import STEPS, Completion
from storage import Database, history

NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
NOW_DB = NOW.replace(tzinfo=None).isoformat(" ", "microseconds")  # SQLAlchemy's SQLite format
NOW_ISO = NOW.isoformat()
GENESIS = "0" * 64
HASHED = history.HASHED
SLUGS = tuple(s.slug for s in STEPS)
LEVEL = {s.slug: s.level for s in STEPS}
EVIDENCE = {s.slug: s.evidence for s in STEPS if s.completion is Completion.EVIDENCE}
THRESHOLD = {s.slug: s.policy.threshold for s in STEPS}
SHARE = {s.slug: s.policy.region_share for s in STEPS}
METRICS = ("teachers", "classes", "parents", "students")
CODE = {"done": "D", "skipped": "S", "current": "C", "pending": "P"}
FINISHED = ("done", "skipped")
Graph = Mapping[str, tuple[str, ...]]

EVENT_COLS = ("seq, at, kind, code, region_code, event, step, from_state, to_state, actor, role, "
              "reason, trigger, data, recorded_at, prev_hash, hash")
LOAD_SCHOOLS = (
    "SELECT m.id, m.code, m.steps, m.version, s.teachers_expected, s.classes_expected, "
    "s.parents_expected, s.students_expected, t.teachers, t.classes, t.parents, t.students, "
    "EXISTS (SELECT 1 FROM assignments a WHERE a.role = 'school_admin' AND a.scope = m.code) "
    "FROM machines m JOIN schools s ON s.code = m.code LEFT JOIN metrics t ON "
    "t.school_code = m.code WHERE m.kind = 'school' AND m.region_code = ? ORDER BY m.id")


class M:
    """A loaded machine: its steps as stored, what was open when loaded, whether it moved."""

    __slots__ = ("id", "kind", "code", "region", "steps", "version", "was_open", "facts",
                 "dirty")

    def __init__(self, id_: int, kind: str, code: str, region: str, steps: dict[str, Any],
                 version: int, facts: tuple[Any, ...] = ()) -> None:
        self.id, self.kind, self.code, self.region = id_, kind, code, region
        self.steps, self.version, self.facts, self.dirty = steps, version, facts, False
        self.was_open = self.open_since()

    def open_since(self) -> dict[str, str]:
        return {s: v["since"] for s, v in self.steps.items() if v["status"] == "current"}

    def state(self) -> str:
        return next((s for s in SLUGS if self.steps[s]["status"] not in FINISHED), "done")

    def statuses(self) -> dict[str, str]:
        return {s: self.steps[s]["status"] for s in SLUGS}


def open_ready(steps: dict[str, Any], graph: Graph) -> list[str]:
    """Open every pending step whose prerequisites are all finished; the steps opened."""
    opened = [s for s in SLUGS if steps[s]["status"] == "pending"
              and all(steps[d]["status"] in FINISHED for d in graph[s])]
    for s in opened:
        steps[s] = {"status": "current", "since": NOW_ISO}
    return opened


class Bare:
    """The engine's writes through the bare sqlite3 module: the floor our figures stand beside."""

    def __init__(self, path: Path, graph: Graph) -> None:
        Database(f"sqlite:///{path}").migrate()  # the same tables and indexes
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.graph = graph
        self.events: list[dict[str, Any]] = []

    # -- the chain and the transaction
    def chain(self, evs: list[dict[str, Any]]) -> None:
        seq, prev = self.db.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        rows = []
        for ev in evs:
            seq += 1
            payload = {k: ev.get(k) for k in HASHED}
            payload["seq"], payload["at"], payload["recorded_at"] = seq, NOW_ISO, NOW_ISO
            h = hashlib.sha256(prev.encode() + json.dumps(
                payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                default=str).encode()).hexdigest()
            data = ev.get("data")
            rows.append((seq, NOW_DB, ev.get("kind"), ev.get("code"), ev.get("region_code"),
                         ev["event"], ev.get("step"), ev.get("from_state"), ev.get("to_state"),
                         ev["actor"], ev.get("role"), ev.get("reason"), ev.get("trigger"),
                         None if data is None else json.dumps(data), NOW_DB, prev, h))
            prev = h
        self.db.executemany(f"INSERT INTO events ({EVENT_COLS}) VALUES "
                            f"({','.join('?' * 17)})", rows)
        self.db.execute("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))

    def tx(self, fn: Callable[[], Any]) -> Any:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            out = fn()
            self.chain(self.events)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        finally:
            self.events = []
        self.db.execute("COMMIT")
        return out

    # -- machines
    def insert_machines(self, kind: str, pairs: list[tuple[str, str]]) -> None:
        steps = {s: {"status": "pending", "since": None} for s in SLUGS}
        open_ready(steps, self.graph)
        text = json.dumps(steps)
        codes = "".join(CODE[steps[s]["status"]] for s in SLUGS)
        state = next(s for s in SLUGS if steps[s]["status"] != "done")
        self.db.executemany("INSERT INTO machines (kind, code, region_code, state, steps, "
                            "statuses, version, updated_at, state_since) "
                            "VALUES (?,?,?,?,?,?,1,?,?)",
                            [(kind, c, r, state, text, codes, NOW_DB, NOW_DB) for c, r in pairs])
        self.db.executemany("INSERT INTO open_steps (kind, code, step, region_code, since) "
                            "VALUES (?,?,?,?,?)", [(kind, c, s, r, NOW_DB) for c, r in pairs
                                                   for s in SLUGS if steps[s]["status"] ==
                                                   "current"])

    def save(self, ms: list[M]) -> None:
        """Versioned updates of the machines that moved, and their `open_steps` rows."""
        ms = [m for m in ms if m.dirty]
        if not ms:
            return
        params = []
        for m in ms:
            state = m.state()
            since = m.steps[state]["since"] if state in m.steps else None
            params.append((state, json.dumps(m.steps),
                           "".join(CODE[m.steps[s]["status"]] for s in SLUGS), m.version + 1,
                           NOW_DB, NOW_DB if since else NOW_DB, m.id, m.version))
        cur = self.db.executemany("UPDATE machines SET state = ?, steps = ?, statuses = ?, "
                                  "version = ?, updated_at = ?, state_since = ? "
                                  "WHERE id = ? AND version = ?", params)
        assert cur.rowcount == len(params)
        closed, opened = [], []
        for m in ms:
            now_open = m.open_since()
            closed += [(m.kind, m.code, s) for s, v in m.was_open.items() if now_open.get(s) != v]
            opened += [(m.kind, m.code, s, m.region, NOW_DB) for s, v in now_open.items()
                       if m.was_open.get(s) != v]
            m.version, m.was_open, m.dirty = m.version + 1, now_open, False
        self.db.executemany("DELETE FROM open_steps WHERE kind = ? AND code = ? AND step = ?",
                            closed)
        self.db.executemany("INSERT INTO open_steps (kind, code, step, region_code, since) "
                            "VALUES (?,?,?,?,?)", opened)

    def finish(self, m: M, slug: str, actor: str, cause: str, status: str = "done",
               evidence: list[dict[str, Any]] | None = None) -> None:
        """One transition: the step finished, the steps it unblocks open, one event."""
        before = m.state()
        m.steps[slug] = {"status": status, "since": NOW_ISO}
        opened = open_ready(m.steps, self.graph)
        data: dict[str, Any] = {"opened": opened} if opened else {}
        if evidence:
            data["evidence"] = evidence
        data["steps"] = m.statuses()
        m.dirty = True
        self.events.append({"event": "StepCompleted" if status == "done" else "StepSkipped",
                            "kind": m.kind, "code": m.code, "region_code": m.region,
                            "step": slug, "from_state": before, "to_state": m.state(),
                            "actor": actor, "trigger": cause, "data": data})

    def region(self, code: str) -> M:
        id_, steps, v = self.db.execute("SELECT id, steps, version FROM machines WHERE kind = "
                                        "'region' AND code = ?", (code,)).fetchone()
        return M(id_, "region", code, code, json.loads(steps), v)

    def schools(self, region: str) -> list[M]:
        return [M(r[0], "school", r[1], region, json.loads(r[2]), r[3], r[4:])
                for r in self.db.execute(LOAD_SCHOOLS, (region,))]

    # -- the cascades
    def settle_school(self, m: M, region: dict[str, str], cause: str) -> None:
        """Mirror the region's finished steps, complete evidence that holds, until nothing moves."""
        expected = dict(zip(METRICS, m.facts[0:4], strict=True))
        loaded = dict(zip(METRICS, m.facts[4:8], strict=True))
        moved = True
        while moved:
            moved = False
            for slug in [s for s in SLUGS if m.steps[s]["status"] == "current"]:
                if LEVEL[slug] == "region":
                    if region[slug] in FINISHED:
                        self.finish(m, slug, "system", cause, region[slug])
                        moved = True
                elif EVIDENCE.get(slug) == "admin":
                    if m.facts[8]:
                        self.finish(m, slug, "system", cause)
                        moved = True
                elif slug in EVIDENCE:
                    have, exp = loaded[slug] or 0, expected[slug]
                    need = max(0, math.ceil(exp * THRESHOLD[slug] - 1e-9))
                    if have >= need:
                        self.finish(m, slug, "system", cause, evidence=[{
                            "code": "evidence_met",
                            "figures": {"loaded": have, "expected": exp, "needed": need}}])
                        moved = True

    def settle_region(self, r: M, schools: list[M], cause: str) -> None:
        """The region's open aggregate steps complete once enough of its schools did them."""
        moved = True
        while moved and schools:
            moved = False
            for slug in [s for s in SLUGS if r.steps[s]["status"] == "current"
                         and LEVEL[s] == "school"]:
                done = sum(1 for m in schools if m.steps[slug]["status"] in FINISHED)
                need = max(1, math.ceil(len(schools) * SHARE[slug] - 1e-9))
                if done >= need:
                    self.finish(r, slug, "system", cause, evidence=[{
                        "code": "schools_met",
                        "figures": {"done": done, "schools": len(schools), "needed": need}}])
                    moved = True

    def settle(self, r: M, cause: str) -> list[M]:
        schools = self.schools(r.code)
        statuses = r.statuses()
        for m in schools:
            if m.state() != "done":
                self.settle_school(m, statuses, cause)
        self.settle_region(r, schools, cause)
        return schools

    # -- the operations bench_engine times
    def region_step(self, code: str, step: str, actor: str) -> int:
        """One region step in one transaction; its schools and the aggregates follow."""
        def write() -> int:
            r = self.region(code)
            self.finish(r, step, actor, f"complete by {actor}")
            schools = self.settle(r, f"region {code}: {step}")
            self.save(schools + [r])
            return len(self.events)
        return int(self.tx(write))

    def metrics(self, rows: list[dict[str, str]], regions: list[str]) -> int:
        """Insert the counts; every region's schools settle, then its aggregates."""
        def write() -> int:
            self.db.executemany("INSERT INTO metrics (school_code, teachers, classes, parents, "
                                "students, updated_at) VALUES (?,?,?,?,?,?)",
                                [(r["school"], int(r["teachers"]), int(r["classes"]),
                                  int(r["parents"]), int(r["students"]), NOW_DB) for r in rows])
            for code in regions:
                r = self.region(code)
                self.save(self.settle(r, "import metrics") + [r])
            n = len(self.events)
            self.events.append({"event": "Imported", "actor": "operator", "reason": "metrics",
                                "trigger": "import metrics"})
            return n
        return int(self.tx(write))

    def advance_one(self, code: str, actor: str) -> None:
        """select + versioned update + open_steps + chained history insert, one transaction."""
        def write() -> None:
            id_, steps, v, region = self.db.execute(
                "SELECT id, steps, version, region_code FROM machines WHERE kind = 'school' "
                "AND code = ?", (code,)).fetchone()
            m = M(id_, "school", code, region, json.loads(steps), v)
            self.finish(m, "adoption", actor, f"complete by {actor}")
            self.save([m])
        self.tx(write)

    def migrate(self, graph: Graph, regions: list[str], body: dict[str, Any],
                fingerprint: str) -> tuple[int, int]:
        """Every machine to `graph`, one transaction a region, then the evidence that holds;
        (machines moved, transitions)."""
        self.graph = graph
        moved = transitions = 0
        for code in regions:
            def write(code: str = code) -> tuple[int, int]:
                r = self.region(code)
                schools = self.schools(code)
                n = 0
                for m in [r] + schools:
                    before, statuses = m.state(), m.statuses()
                    after = {s: (v if v in FINISHED else "pending" if any(
                        statuses[d] not in FINISHED for d in graph[s]) else "current")
                        for s, v in statuses.items()}
                    changed = [s for s in SLUGS if after[s] != statuses[s]]
                    if not changed:
                        continue
                    for s in changed:
                        m.steps[s] = {"status": after[s],
                                      "since": NOW_ISO if after[s] == "current" else None}
                    m.dirty, n = True, n + 1
                    self.events.append({
                        "event": "StepsMigrated", "kind": m.kind, "code": m.code,
                        "region_code": m.region, "from_state": before, "to_state": m.state(),
                        "actor": "system", "trigger": "steps migrate",
                        "data": {"opened": [s for s in changed if after[s] == "current"],
                                 "pending": [s for s in changed if after[s] == "pending"],
                                 "steps": m.statuses()}})
                events_before = len(self.events)
                statuses = r.statuses()
                for m in schools:
                    if m.state() != "done":
                        self.settle_school(m, statuses, "steps migrate")
                self.settle_region(r, schools, "steps migrate")
                self.save(schools + [r])
                return n, len(self.events) - events_before
            a, b = self.tx(write)
            moved, transitions = moved + a, transitions + b
        self.db.execute("INSERT INTO step_definitions (version, fingerprint, body, adopted_at, "
                        "note) VALUES ((SELECT coalesce(max(version), 0) + 1 "
                        "FROM step_definitions), ?, ?, ?, NULL)",
                        (fingerprint, json.dumps(body), NOW_DB))
        return moved, transitions

    def report(self) -> Any:
        return self.db.execute("SELECT region_code, statuses, count(*) FROM machines WHERE "
                               "kind = 'school' GROUP BY region_code, statuses").fetchall()

    def verify(self) -> int:
        """Recompute the chain from the stored rows (as `audit verify` does)."""
        prev, n = GENESIS, 0
        for row in self.db.execute(f"SELECT {EVENT_COLS} FROM events ORDER BY seq"):
            payload = dict(zip(HASHED, row[:14], strict=True))
            payload["at"] = NOW_ISO
            payload["data"] = None if row[13] is None else json.loads(row[13])
            if row[14] is not None:
                payload["recorded_at"] = NOW_ISO
            assert row[15] == prev
            h = hashlib.sha256(prev.encode() + json.dumps(
                payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                default=str).encode()).hexdigest()
            assert h == row[16], row[0]
            prev, n = h, n + 1
        return n

"""Replaying the history: the machines, roles and metrics it says, checked against the tables."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from states import STATES, STEPS
from states.graph import encode
from storage.errors import StateMismatch
from storage.models import assignments, machines, metrics, open_steps, regions, schools
from storage.text import Phrase

# Machine events of the first release, written without data["steps"]: their statuses follow from
# to_state on the strict line of steps.
LEGACY_MOVES = frozenset({"StepCompleted", "StepSkipped", "StepReopened"})
COUNTS = ("teachers", "classes", "parents", "students")
KINDS = frozenset({"region", "school"})
STATUSES = frozenset({"done", "skipped", "current", "pending"})
Statuses = tuple[tuple[str, str], ...]  # (slug, status) in slug order, interned
FRESH: Statuses = tuple(sorted((s.slug, "current" if s.number == 1 else "pending")
                               for s in STEPS))


@dataclass
class Checked:
    """What a replay compared: events read, machines, roles and metric rows checked."""

    events: int = 0
    machines: int = 0
    assignments: int = 0
    metrics: int = 0
    metrics_unchecked: int = 0  # imported by the first release, whose events lack the counts


class Replay:
    """Fed every event in order (bounded by the number of machines and roles, not of events)."""

    def __init__(self) -> None:
        self.machines: dict[tuple[str, str], tuple[str, Statuses, int]] = {}
        self.roles: dict[tuple[str, str, str], int] = {}  # (email, role, scope) -> seq granted
        self.metrics: dict[str, tuple[tuple[int, ...], int]] = {}
        self.metrics_blind_since: int | None = None
        self._skipped: dict[tuple[str, str], set[str]] = {}
        self._interned: dict[Statuses, Statuses] = {}
        self.checked = Checked()

    def __call__(self, ev: dict[str, Any]) -> None:
        self.checked.events += 1
        seq, name = ev["seq"], ev["event"]
        data = ev["data"] if isinstance(ev["data"], dict) else {}
        if ev["kind"] in KINDS and ev["code"]:
            key = (ev["kind"], ev["code"])
            if "steps" in data:
                self._set(key, ev["to_state"], data["steps"], seq)
            elif name in LEGACY_MOVES:
                self._legacy(key, name, ev["step"], ev["to_state"], seq)
        if name in ("PersonAssigned", "PersonUnassigned"):
            role = (str(data.get("email", "")), str(data.get("role", "")), ev["code"] or "")
            if name == "PersonAssigned":
                self.roles[role] = seq
            else:
                self.roles.pop(role, None)
        elif name == "Imported" and data.get("kind") == "metrics":
            counts = data.get("metrics")
            if not isinstance(counts, dict):
                if self.metrics_blind_since is None:
                    self.metrics_blind_since = seq
                return
            for school, values in counts.items():
                self.metrics[str(school)] = (tuple(values), seq)

    def _set(self, key: tuple[str, str], state: Any, steps: Any, seq: int) -> None:
        if (not isinstance(steps, dict) or state not in STATES
                or not all(v in STATUSES for v in steps.values())):
            raise StateMismatch(seq, Phrase(
                "event #{seq} ({who}): data.steps or to_state do not describe the machine's "
                "steps", seq=seq, who=_who(*key)), "machine")
        statuses = tuple(sorted((str(k), v) for k, v in steps.items()))
        self.machines[key] = (state, self._interned.setdefault(statuses, statuses), seq)

    def _legacy(self, key: tuple[str, str], name: str, step: Any, state: Any, seq: int) -> None:
        if state not in STATES or step not in STATES:
            raise StateMismatch(seq, Phrase("event #{seq} ({who}): unknown step or state",
                                            seq=seq, who=_who(*key)), "machine")
        skipped = self._skipped.setdefault(key, set())
        if name == "StepSkipped":
            skipped.add(step)
        elif name == "StepCompleted":
            skipped.discard(step)
        else:  # reopened: that step and every later one are open again
            skipped -= set(STATES[STATES.index(step):])
        at = STATES.index(state)
        line = {s.slug: ("skipped" if s.slug in skipped else "done") if s.index < at
                else ("current" if s.index == at else "pending") for s in STEPS}
        self._set(key, state, line, seq)

    # -- comparing with the tables ---------------------------------------------------------
    def check(self, conn: Connection) -> Checked:
        """Compare the tables with the replay; StateMismatch names the first difference."""
        found: list[tuple[int, Phrase, str]] = []
        for part in (self._machines(conn), self._open_steps(conn), self._registry(conn),
                     self._roles(conn), self._metrics(conn)):
            found.extend(part)
        if found:
            seq, problem, what = found[0]
            raise StateMismatch(seq, problem, what, len(found))
        return self.checked

    def _machines(self, conn: Connection) -> Iterator[tuple[int, Phrase, str]]:
        q = select(machines.c.kind, machines.c.code, machines.c.state, machines.c.steps,
                   machines.c.statuses)
        expected = self.machines
        self._open: set[tuple[str, str, str]] = set()
        for r in conn.execute(q.order_by(machines.c.id).execution_options(yield_per=2000)):
            self.checked.machines += 1
            state, want, seq = expected.pop((r.kind, r.code), (STATES[0], FRESH, 0))
            steps = r.steps if isinstance(r.steps, dict) else {}
            have = tuple(sorted((k, v.get("status") if isinstance(v, dict) else v)
                                for k, v in steps.items()))
            self._open.update((r.kind, r.code, k) for k, v in have if v == "current")
            if r.state == state and have == want:
                encoded = _encoded({k: str(v) for k, v in have})
                if r.statuses != encoded:  # the one-letter summary SQL counts by
                    yield seq, Phrase("{who}: the steps' summary in the database «{have}» does "
                                      "not match the steps «{want}»", who=_who(r.kind, r.code),
                                      have=r.statuses, want=encoded), "machine"
                continue
            since = Phrase("the machine's last event is #{seq}", seq=seq) if seq else \
                Phrase("no events: the machine should be at the first step")
            if r.state != state:
                diff = Phrase("state in the database «{have}», by the history «{want}»",
                              have=r.state, want=state)
            else:
                slug, got = next((k, v) for k, v in have if dict(want).get(k) != v)
                diff = Phrase("step «{step}» in the database {have}, by the history {want}",
                              step=slug, have=got, want=dict(want).get(slug))
            yield seq, Phrase("{who}: {diff} ({since})", who=_who(r.kind, r.code), diff=diff,
                              since=since), "machine"
        for (kind, code), (_, _, seq) in sorted(expected.items(), key=lambda kv: kv[1][2]):
            yield seq, Phrase("{who}: no machine in the database, but the history has it "
                              "(event #{seq})", who=_who(kind, code), seq=seq), "machine"

    def _open_steps(self, conn: Connection) -> Iterator[tuple[int, Phrase, str]]:
        """`open_steps` (what reminders and late counts read) holds exactly the open steps."""
        q = select(open_steps.c.kind, open_steps.c.code, open_steps.c.step)
        found = {(r.kind, r.code, r.step) for r in conn.execute(
            q.execution_options(yield_per=5000))}
        for kind, code, step in sorted(found - self._open)[:1]:
            yield 0, Phrase("{who}: step «{step}» is listed as open, but it is not open",
                            who=_who(kind, code), step=step), "machine"
        for kind, code, step in sorted(self._open - found)[:1]:
            yield 0, Phrase("{who}: the open step «{step}» is missing from the open steps",
                            who=_who(kind, code), step=step), "machine"

    @staticmethod
    def _registry(conn: Connection) -> Iterator[tuple[int, Phrase, str]]:
        """Every region and school has its machine, and every machine its region or school:
        a machine created by an import has no event of its own, so the registry vouches."""
        for kind, table in (("region", regions), ("school", schools)):
            mine = select(machines.c.code).where(machines.c.kind == kind)
            for code in conn.execute(select(table.c.code).where(table.c.code.not_in(mine))
                                     .limit(1)).scalars():
                yield 0, Phrase("{who}: in the registry, but no machine in the database",
                                who=_who(kind, code)), "machine"
            for code in conn.execute(mine.where(machines.c.code.not_in(select(table.c.code)))
                                     .limit(1)).scalars():
                yield 0, Phrase("{who}: a machine in the database, but not in the registry",
                                who=_who(kind, code)), "machine"

    def _roles(self, conn: Connection) -> Iterator[tuple[int, Phrase, str]]:
        q = select(assignments.c.email, assignments.c.role, assignments.c.scope)
        held = dict(self.roles)
        for r in conn.execute(q.order_by(assignments.c.id).execution_options(yield_per=2000)):
            self.checked.assignments += 1
            if held.pop((r.email, r.role, r.scope), None) is None:
                yield 0, Phrase("{email}: role {role} {scope} in the database, but the "
                                "history has no appointment to it", email=r.email, role=r.role,
                                scope=_scope(r.scope)), "assignment"
        for (email, role, scope), seq in sorted(held.items(), key=lambda kv: kv[1]):
            yield seq, Phrase("{email}: by the history role {role} {scope} was appointed "
                              "(event #{seq}), but the database does not have it", email=email,
                              role=role, scope=_scope(scope), seq=seq), "assignment"

    def _metrics(self, conn: Connection) -> Iterator[tuple[int, Phrase, str]]:
        q = select(metrics.c.school_code, *(metrics.c[c] for c in COUNTS))
        told = dict(self.metrics)
        for r in conn.execute(q.order_by(metrics.c.school_code)
                              .execution_options(yield_per=2000)):
            have = tuple(getattr(r, c) for c in COUNTS)
            want = told.pop(r.school_code, None)
            if want is None and self.metrics_blind_since is not None:
                self.checked.metrics_unchecked += 1  # counts of the first release
                continue
            self.checked.metrics += 1
            if want is None:
                yield 0, Phrase("school {code}: figures in the database ({have}), but none "
                                "in the history", code=r.school_code, have=_counts(have)), \
                    "metrics"
            elif tuple(want[0]) != have:
                yield want[1], Phrase("school {code}: figures in the database ({have}), by the "
                                      "history ({want}, event #{seq})", code=r.school_code,
                                      have=_counts(have), want=_counts(want[0]),
                                      seq=want[1]), "metrics"
        for school, (values, seq) in sorted(told.items(), key=lambda kv: kv[1][1]):
            yield seq, Phrase("school {code}: figures by the history ({want}, event #{seq}), "
                              "but none in the database", code=school, want=_counts(values),
                              seq=seq), "metrics"


def _encoded(statuses: dict[str, str]) -> str:
    try:
        return encode(statuses)
    except KeyError:  # a steps map that is not the nine steps: reported as a step mismatch
        return "?"


def _who(kind: str, code: str) -> Phrase:
    return Phrase("region {code}", code=code) if kind == "region" else \
        Phrase("school {code}", code=code)


def _scope(scope: str) -> Phrase:
    return Phrase("for {scope}", scope=scope) if scope else Phrase("(global)")


def _counts(values: tuple[Any, ...]) -> Phrase:
    """Teachers, classes, parents, students: the figures of a school, named."""
    named = dict(zip(COUNTS, values, strict=False))
    return Phrase("teachers {teachers}, classes {classes}, parents {parents}, students "
                  "{students}", **{c: named.get(c, "—") for c in COUNTS})

"""The engine: one shared `transitions` Machine per kind, applied to machines loaded from storage.

Every transition runs inside a `Change` (one write transaction): the machine's new state, its
history event and the cascades it causes are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection
from transitions import EventData, Machine, Transition

from states import (
    DONE,
    STATES,
    STEPS,
    Completion,
    Facts,
    Reason,
    RegionFacts,
    SchoolFacts,
    StepPolicy,
    Verdict,
    evaluate,
    skip_verdict,
    step_by_slug,
)
from states.guards import FINISHED
from storage import MachineRow, NewEvent, history, repo

SYSTEM = "system"
EVENT_NAMES = {"complete": "StepCompleted", "skip": "StepSkipped", "reopen": "StepReopened"}


class Subject:
    """What `transitions` triggers on: a stored machine plus the facts its guards read."""

    def __init__(self, row: MachineRow, facts: Facts | None,
                 policies: Mapping[str, StepPolicy]):
        # facts is None for a reopen: its condition reads only the requested step
        self.row, self.facts, self.policies = row, facts, policies
        self.state = row.state
        self.verdict = Verdict.allow()


def _subject(ev: EventData) -> Subject:
    # the stubs type the model as `object`; every model the engine triggers on is a Subject
    return cast(Subject, ev.model)


def _edge(ev: EventData) -> tuple[str, str]:
    """(source, dest) of the transition being taken."""
    # the stubs make `transition` Optional; it is set before conditions and callbacks run
    t = cast(Transition, ev.transition)
    if t.dest is None:
        raise RuntimeError(f"{ev.event.name} from {t.source}: an internal transition, and "
                           "the engine's machines have none")
    return t.source, t.dest


def _evidence_holds(ev: EventData) -> bool:
    subject = _subject(ev)
    if subject.facts is None:
        raise RuntimeError(f"{subject.row.kind} {subject.row.code}: 'complete' fired without "
                           "facts for its guard")
    step = step_by_slug(_edge(ev)[0])
    subject.verdict = evaluate(step, subject.facts, subject.policies[step.slug])
    return subject.verdict.ok


def _may_skip(ev: EventData) -> bool:
    subject = _subject(ev)
    subject.verdict = skip_verdict(step_by_slug(_edge(ev)[0]), subject.facts)
    return subject.verdict.ok


def _reopens(slug: str) -> Any:
    def is_requested(ev: EventData) -> bool:
        return bool(ev.kwargs.get("step") == slug)
    is_requested.__name__ = f"requested_{slug}"
    return is_requested


def _write_steps(ev: EventData) -> None:
    """after_state_change: copy the new state into the stored row (transitions issue #141)."""
    row, now = _subject(ev).row, ev.kwargs["now"]
    src, dst = _edge(ev)
    steps = {k: dict(v) for k, v in row.steps.items()}
    if ev.event.name == "reopen":
        later = STATES.index(dst)
        steps[dst] = {"status": "current", "since": now}
        for s in STEPS[later + 1:]:
            steps[s.slug] = {"status": "pending", "since": None}
    else:
        steps[src] = {"status": "done" if ev.event.name == "complete" else "skipped", "since": now}
        if dst != DONE:
            steps[dst] = {"status": "current", "since": now}
    row.steps, row.state = steps, dst


def build_machine(kind: str) -> Machine:
    """The machine every region (or every school) shares: the nine steps in order."""
    machine = Machine(model=None, states=list(STATES), initial=STATES[0], name=f"{kind}:",
                      auto_transitions=False, send_event=True, after_state_change=_write_steps)
    for i, step in enumerate(STEPS):
        nxt = STATES[i + 1]
        machine.add_transition("complete", source=step.slug, dest=nxt, conditions=[_evidence_holds])
        if step.optional:
            machine.add_transition("skip", source=step.slug, dest=nxt, conditions=[_may_skip])
        machine.add_transition("reopen", source=list(STATES[i + 1:]), dest=step.slug,
                               conditions=[_reopens(step.slug)])
    return machine


MACHINES = {"region": build_machine("region"), "school": build_machine("school")}


class Change:
    """One write transaction of the engine: loaded machines, their changes and the events."""

    def __init__(self, conn: Connection, now: datetime, policies: Mapping[str, StepPolicy]):
        self.conn, self.now, self.policies = conn, now, policies
        self.now_iso = now.isoformat()
        self._machines: dict[tuple[str, str], MachineRow] = {}
        self._dirty: dict[int, MachineRow] = {}
        self.events: list[NewEvent] = []
        self.transitions = 0
        # Per region, the span of states its schools moved across in this change: the region's
        # aggregate step can only follow if it lies inside.
        self._moved: dict[str, tuple[int, int]] = {}

    # -- loading, through a cache so that a machine changed twice is one row, one version check
    def machine(self, kind: str, code: str) -> MachineRow | None:
        key = (kind, code)
        if key not in self._machines:
            row = repo.get_machine(self.conn, kind, code)
            if row is None:
                return None
            self._machines[key] = row
        return self._machines[key]

    def schools_of(self, region: str, codes: Iterable[str] | None = None) -> list[MachineRow]:
        """The region's school machines (or those of `codes`), the cached instance if loaded."""
        if codes is not None:
            codes = list(codes)
            cached = [self._machines.get(("school", c)) for c in codes]
            if all(cached):  # every one already loaded in this change: no query needed
                found = {r.id: r for r in cached if r is not None and r.region_code == region}
                return [found[i] for i in sorted(found)]
        return [self._machines.setdefault(("school", row.code), row)
                for row in repo.school_machines(self.conn, region, codes)]

    def release(self, region: str) -> None:
        """Forget the region's loaded machines (written already): keeps big imports small."""
        if any(r.region_code == region for r in self._dirty.values()):
            raise RuntimeError(f"region {region} has unwritten machines; flush first")
        self._machines = {k: m for k, m in self._machines.items()
                          if m.region_code != region or k[0] == "region"}

    def record(self, **fields: Any) -> None:
        self.events.append(NewEvent(at=self.now, **fields))

    def flush(self) -> None:
        """Write the changed machines (version-checked) and the events, still uncommitted."""
        self.flush_machines()
        history.append(self.conn, self.events)
        self.events = []

    # -- transitions
    def fire(self, row: MachineRow, trigger: str, step: str, facts: Facts | None, *, actor: str,
             role: str | None, reason: str | None, cause: str) -> Verdict:
        """Trigger `trigger` on the stored machine `row`; on success record the event."""
        before = row.state
        subject = Subject(row, facts, self.policies)
        ok = MACHINES[row.kind].events[trigger].trigger(subject, step=step, now=self.now_iso)
        if not ok:
            if trigger == "reopen":
                return Verdict.deny(Reason("not_finished", f"{step}: not done; nothing to reopen",
                                           f"{step_by_slug(step).title}: шаг не выполнен"))
            return subject.verdict
        self._dirty[row.id] = row
        self.transitions += 1
        if row.kind == "school":
            lo, hi = sorted((STATES.index(before), STATES.index(row.state)))
            seen = self._moved.get(row.region_code)
            if seen:
                lo, hi = min(lo, seen[0]), max(hi, seen[1])
            self._moved[row.region_code] = (lo, hi)
        evidence = [r.as_dict() for r in subject.verdict.reasons]
        self.record(event=EVENT_NAMES[trigger], kind=row.kind, code=row.code,
                    region_code=row.region_code, step=step, from_state=before, to_state=row.state,
                    actor=actor, role=role, reason=reason, trigger=cause,
                    data={"steps": row.statuses, **({"evidence": evidence} if evidence else {})})
        return Verdict.allow(*subject.verdict.reasons)

    # -- cascades
    def region_facts(self, code: str) -> RegionFacts:
        self.flush_machines()  # school states are counted in SQL
        return repo.region_facts(self.conn, code)

    def school_facts(self, region: MachineRow, codes: Iterable[str] | None
                     ) -> dict[str, SchoolFacts]:
        return dict(repo.school_facts(self.conn, region.code, region.statuses, codes))

    def flush_machines(self) -> None:
        """Write the changed machines only (ordered by id, so that writers lock in one order)."""
        repo.save_machines(self.conn, sorted(self._dirty.values(), key=lambda r: r.id), self.now)
        self._dirty.clear()

    def settle_schools(self, region_code: str, codes: Iterable[str] | None, cause: str) -> None:
        """Let schools catch up: mirror the region's steps 1-3, complete evidence that holds.

        Then the region's aggregate steps follow its schools.
        """
        region = self.machine("region", region_code)
        if region is None:
            return
        rows = [r for r in self.schools_of(region_code, codes) if r.state != DONE]
        if rows:  # a finished school has nothing to settle: no facts to read for it
            facts = self.school_facts(region, [r.code for r in rows] if codes is not None
                                      else None)
            for row in rows:
                if row.code in facts:
                    self._settle_school(row, facts[row.code], cause)
        self.settle_region(region_code, cause)

    def _settle_school(self, row: MachineRow, facts: SchoolFacts, cause: str) -> None:
        while row.state != DONE:
            step = step_by_slug(row.state)
            if step.level == "region":
                status = facts.region_steps.get(step.slug)
                if status not in FINISHED:
                    return  # the mirror guard would refuse: the region has not done it yet
                trigger = "skip" if status == "skipped" else "complete"
            elif step.completion is Completion.EVIDENCE:
                trigger = "complete"
            else:
                return  # a manual step waits for a person
            if not self.fire(row, trigger, step.slug, facts, actor=SYSTEM, role=None,
                             reason=None, cause=cause):
                return

    def settle_region(self, code: str, cause: str) -> None:
        """Complete the region's aggregate steps (4-9) that its schools have completed.

        Only a change in which some school of the region moved across the region's current
        step can complete it; otherwise there is nothing to count.
        """
        moved = self._moved.get(code)
        row = self.machine("region", code)
        if moved is None or row is None or not moved[0] <= STATES.index(row.state) < moved[1]:
            return
        facts = None
        while row is not None and row.state != DONE:
            step = step_by_slug(row.state)
            if step.level != "school":
                return
            if facts is None:  # an aggregate reads only the schools' progress
                self.flush_machines()  # school states are counted in SQL
                facts = repo.region_progress(self.conn, code)
            if not self.fire(row, "complete", step.slug, facts, actor=SYSTEM, role=None,
                             reason=None, cause=cause):
                return

    def reopen_schools(self, region_code: str, step: str, cause: str) -> None:
        """A region step reopened: its schools mirror it, their later steps become pending."""
        index = STATES.index(step)
        for row in self.schools_of(region_code):
            if STATES.index(row.state) > index:
                self.fire(row, "reopen", step, None, actor=SYSTEM, role=None,
                          reason=None, cause=cause)


def new_machine_rows(kind: str, codes: Iterable[tuple[str, str]], now: datetime
                     ) -> list[dict[str, Any]]:
    """Rows for new machines at step 1, as (code, region) pairs."""
    steps = repo.fresh_steps(now.isoformat())
    return [{"kind": kind, "code": code, "region_code": region, "state": STATES[0],
             "steps": steps, "version": 1, "updated_at": now, "state_since": now}
            for code, region in codes]

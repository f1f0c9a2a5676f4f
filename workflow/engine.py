"""The engine: one shared `transitions` Machine for the life of a step, fired on stored machines.

A region or a school has nine steps; each step lives `pending → current → done | skipped`
(`reopen` brings a finished step back to `current`, `block` sends a step back to `pending` when
a step it comes after is reopened). Which steps open when one finishes is the prerequisite graph
of `states.graph`. Every transition runs inside a `Change` (one write transaction): the
machine's new statuses, its history event and the cascades it causes are written together or not
at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection
from transitions import EventData, Machine

from states import (
    DONE,
    SLUGS,
    Completion,
    Facts,
    Reason,
    RegionFacts,
    SchoolFacts,
    StepPolicy,
    Verdict,
    default_graph,
    dependents,
    evaluate,
    first_open,
    graph_of,
    open_steps,
    order_verdict,
    skip_verdict,
    step_by_slug,
)
from states.graph import (
    FINISHED,
    ancestors,
    encode,
    initial_statuses,
    unfinished_prerequisites,
)
from storage import MachineRow, NewEvent, history, repo

SYSTEM = "system"
STEP_STATES = ("pending", "current", "done", "skipped")
EVENT_NAMES = {"complete": "StepCompleted", "skip": "StepSkipped", "reopen": "StepReopened"}


class StepSubject:
    """What `transitions` triggers on: one step of a stored machine, and what its guard reads."""

    def __init__(self, row: MachineRow, slug: str, facts: Facts | None,
                 policies: Mapping[str, StepPolicy], graph: Mapping[str, tuple[str, ...]]):
        self.row, self.slug, self.facts = row, slug, facts
        self.policies, self.graph = policies, graph
        self.state = row.steps[slug]["status"]
        self.verdict = Verdict.allow()


def _subject(ev: EventData) -> StepSubject:
    # the stubs type the model as `object`; every model the engine triggers on is a StepSubject
    return cast(StepSubject, ev.model)


def _prerequisites_finished(ev: EventData) -> bool:
    s = _subject(ev)
    return not unfinished_prerequisites(s.graph, s.row.statuses, s.slug)


def _evidence_holds(ev: EventData) -> bool:
    s = _subject(ev)
    if s.facts is None:
        raise RuntimeError(f"{s.row.kind} {s.row.code}: 'complete' fired without facts for its "
                           "guard")
    step = step_by_slug(s.slug)
    s.verdict = evaluate(step, s.facts, s.policies[s.slug])
    return s.verdict.ok


def _may_skip(ev: EventData) -> bool:
    s = _subject(ev)
    s.verdict = skip_verdict(step_by_slug(s.slug), s.facts)
    return s.verdict.ok


def _write_status(ev: EventData) -> None:
    """after_state_change: copy the step's new status into the stored row (transitions #141)."""
    s = _subject(ev)
    status = s.state
    s.row.steps[s.slug] = {"status": status,
                           "since": None if status == "pending" else ev.kwargs["now"]}


def build_machine() -> Machine:
    """The machine every step of every region and school shares."""
    machine = Machine(model=None, states=list(STEP_STATES), initial="pending", name="step:",
                      auto_transitions=False, send_event=True, ignore_invalid_triggers=True,
                      after_state_change=_write_status)
    machine.add_transition("open", "pending", "current", conditions=[_prerequisites_finished])
    machine.add_transition("complete", "current", "done", conditions=[_evidence_holds])
    machine.add_transition("skip", "current", "skipped", conditions=[_may_skip])
    machine.add_transition("reopen", ["done", "skipped"], "current")
    machine.add_transition("block", ["current", "done", "skipped"], "pending")
    return machine


MACHINE = build_machine()


class Change:
    """One write transaction of the engine: loaded machines, their changes and the events."""

    def __init__(self, conn: Connection, now: datetime, policies: Mapping[str, StepPolicy]):
        self.conn, self.now, self.policies = conn, now, policies
        self.graph = graph_of(policies)
        self.now_iso = now.isoformat()
        self._machines: dict[tuple[str, str], MachineRow] = {}
        self._dirty: dict[int, MachineRow] = {}
        self.events: list[NewEvent] = []
        self.transitions = 0
        # How the person acting reached us ("cli", "web"): kept in the data of their events
        self.channel: str | None = None
        # Per region, the school steps that some of its schools finished or unfinished in this
        # change: only those can move the region's aggregate steps.
        self._moved: dict[str, set[str]] = {}

    # -- loading, through a cache so that a machine changed twice is one row, one version check
    def machine(self, kind: str, code: str) -> MachineRow | None:
        key = (kind, code)
        if key not in self._machines:
            row = repo.get_machine(self.conn, kind, code)
            if row is None:
                return None
            self._machines[key] = row
        return self._machines[key]

    def preload(self, *rows: MachineRow | None) -> None:
        """Machines read by the caller in this transaction: the cache starts with them."""
        for row in rows:
            if row is not None:
                self._machines.setdefault((row.kind, row.code), row)

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
        if self.channel and fields.get("actor") not in (None, SYSTEM):
            fields["data"] = {**(fields.get("data") or {}), "channel": self.channel}
        self.events.append(NewEvent(at=self.now, **fields))

    def flush(self) -> None:
        """Write the changed machines (version-checked) and the events, still uncommitted."""
        self.flush_machines()
        history.append(self.conn, self.events)
        self.events = []

    def flush_machines(self) -> None:
        """Write the changed machines only (ordered by id, so that writers lock in one order)."""
        repo.save_machines(self.conn, sorted(self._dirty.values(), key=lambda r: r.id), self.now)
        self._dirty.clear()

    def mark_moved(self, region: str, slugs: Iterable[str]) -> None:
        """Steps of the region's schools that may have moved: its aggregates get counted."""
        self._moved.setdefault(region, set()).update(slugs)

    def mark_changed(self, row: MachineRow) -> None:
        """A machine whose steps were set directly (a definition migration): write it."""
        self._dirty[row.id] = row

    # -- transitions
    def _trigger(self, row: MachineRow, trigger: str, slug: str, facts: Facts | None
                 ) -> StepSubject | None:
        subject = StepSubject(row, slug, facts, self.policies, self.graph)
        ok = MACHINE.events[trigger].trigger(subject, now=self.now_iso)
        return subject if ok else None

    def fire(self, row: MachineRow, trigger: str, step: str, facts: Facts | None, *, actor: str,
             role: str | None, reason: str | None, cause: str) -> Verdict:
        """Trigger `trigger` on step `step` of the stored machine `row`; on success follow the
        graph (steps that open, or fall back to pending) and record one event for it all."""
        before, before_statuses = row.state, row.statuses
        subject = StepSubject(row, step, facts, self.policies, self.graph)
        if not MACHINE.events[trigger].trigger(subject, now=self.now_iso):
            if not subject.verdict.ok:
                return subject.verdict
            if trigger == "reopen":
                return Verdict.deny(Reason(
                    "not_finished", f"{step}: not done; nothing to reopen",
                    f"{step_by_slug(step).title}: шаг не выполнен, открывать заново нечего"))
            return order_verdict(step_by_slug(step), before_statuses, self.graph)
        data: dict[str, Any] = {}
        if trigger == "reopen":
            back = [d for d in dependents(self.graph, step) if row.steps[d]["status"] != "pending"
                    and self._trigger(row, "block", d, None)]
            if back:
                data["pending"] = back
        else:
            # `open` is fired only where its guard will hold: each fire through `transitions`
            # costs ~0.1 ms, and most pending steps still wait (a finished step opens none)
            statuses = row.statuses
            opened = [s for s in SLUGS if statuses[s] == "pending"
                      and not unfinished_prerequisites(self.graph, statuses, s)
                      and self._trigger(row, "open", s, None)]
            if opened:
                data["opened"] = opened
                if row.kind == "region":  # a step that opens may be done already
                    self._moved.setdefault(row.code, set()).update(opened)
        row.state = first_open(row.statuses)
        self._dirty[row.id] = row
        self.transitions += 1
        if row.kind == "school":
            after = row.statuses
            moved = {s for s in SLUGS
                     if (before_statuses[s] in FINISHED) != (after[s] in FINISHED)}
            self._moved.setdefault(row.region_code, set()).update(moved)
        evidence = [r.as_dict() for r in subject.verdict.reasons]
        if evidence:
            data["evidence"] = evidence
        data["steps"] = row.statuses
        self.record(event=EVENT_NAMES[trigger], kind=row.kind, code=row.code,
                    region_code=row.region_code, step=step, from_state=before, to_state=row.state,
                    actor=actor, role=role, reason=reason, trigger=cause, data=data)
        return Verdict.allow(*subject.verdict.reasons)

    # -- cascades
    def region_facts(self, code: str) -> RegionFacts:
        self.flush_machines()  # school states are counted in SQL
        return repo.region_facts(self.conn, code)

    def school_facts(self, region: MachineRow, codes: Iterable[str] | None
                     ) -> dict[str, SchoolFacts]:
        return dict(repo.school_facts(self.conn, region.code, region.statuses, codes))

    def schools_can_move(self, region: MachineRow) -> bool:
        """Can any school of this region have an open school step? Not while every school step
        still waits, directly or not, for a region step the region has not finished (the
        region's schools mirror it): then settling them would find nothing to do."""
        unfinished = {s for s, v in region.statuses.items()
                      if v not in FINISHED and step_by_slug(s).level == "region"}
        return any(not (ancestors(self.graph, s) & unfinished)
                   for s in SLUGS if step_by_slug(s).level == "school")

    def settle_schools(self, region_code: str, codes: Iterable[str] | None, cause: str) -> None:
        """Let schools catch up: mirror the region's steps 1-3, complete evidence that holds.

        Then the region's aggregate steps follow its schools.
        """
        region = self.machine("region", region_code)
        if region is None:
            return
        rows = [r for r in self.schools_of(region_code, codes) if r.state != DONE
                and any(self._settles_itself(s) for s in open_steps(r.statuses))]
        if rows:  # only a school with a mirrored or evidence step open has facts to read
            facts = self.school_facts(region, [r.code for r in rows] if codes is not None
                                      else None)
            for row in rows:
                if row.code in facts:
                    self.settle_school(row, facts[row.code], cause)
        self.settle_region(region_code, cause)

    def settle_school(self, row: MachineRow, facts: SchoolFacts, cause: str) -> None:
        """Complete every open step of the school that completes by itself and may: a mirrored
        region step the region has finished, an evidence step whose evidence holds; again for
        the steps those open."""
        moved = True
        while moved:
            moved = False
            for slug in open_steps(row.statuses):
                step = step_by_slug(slug)
                if step.level == "region":
                    status = facts.region_steps.get(slug)
                    if status not in FINISHED:
                        continue  # the mirror guard would refuse: the region has not done it
                    trigger = "skip" if status == "skipped" else "complete"
                elif step.completion is Completion.EVIDENCE:
                    trigger = "complete"
                else:
                    continue  # a manual step waits for a person
                if self.fire(row, trigger, slug, facts, actor=SYSTEM, role=None, reason=None,
                             cause=cause):
                    moved = True

    def settle_region(self, code: str, cause: str) -> None:
        """Complete the region's open aggregate steps (4-9) that its schools have completed.

        Only a step that some school of the region finished (or lost) in this change, or that
        opened on the region in it, can complete: each such open step is counted on its own.
        """
        if not self._moved.get(code):
            return
        row = self.machine("region", code)
        moved = True
        while row is not None and moved:
            moved = False
            candidates = self._moved.get(code, set())
            aggregates = [s for s in open_steps(row.statuses)
                          if step_by_slug(s).level == "school" and s in candidates
                          and not self._one_school_short(code, s)]
            if not aggregates:
                return
            self.flush_machines()  # school states are counted in SQL
            facts = repo.region_progress(self.conn, code)
            for slug in aggregates:
                if self.fire(row, "complete", slug, facts, actor=SYSTEM, role=None, reason=None,
                             cause=cause):
                    moved = True

    @staticmethod
    def _settles_itself(slug: str) -> bool:
        """A school's step that completes without a person: mirrored, or by its evidence."""
        step = step_by_slug(slug)
        return step.level == "region" or step.completion is Completion.EVIDENCE

    def _one_school_short(self, region: str, slug: str) -> bool:
        """Cheaply, before counting: with a share of 1 (every school), one school of the region
        that has not finished `slug` is enough to know the region's step cannot complete."""
        if self.policies[slug].region_share < 1.0:
            return False
        self.flush_machines()  # school states are read in SQL
        return repo.some_school_unfinished(self.conn, region, slug)

    def settle_everything(self, region_code: str, cause: str) -> None:
        """Settle every school of the region and count every open aggregate step again."""
        self.mark_moved(region_code, SLUGS)
        self.settle_schools(region_code, None, cause)

    def reopen_schools(self, region_code: str, step: str, cause: str) -> None:
        """A region step reopened: its schools mirror it, the steps after it become pending."""
        for row in self.schools_of(region_code):
            if row.steps[step]["status"] in FINISHED:
                self.fire(row, "reopen", step, None, actor=SYSTEM, role=None,
                          reason=None, cause=cause)


def new_machine_values(now: datetime, policies: Mapping[str, StepPolicy] | None = None
                       ) -> dict[str, Any]:
    """What every new machine's row holds alike (all but kind, code and region): the steps
    without prerequisites open since `now`."""
    statuses = initial_statuses(graph_of(policies) if policies else default_graph())
    return {"state": first_open(statuses), "steps": repo.fresh_steps(now.isoformat(), statuses),
            "statuses": encode(statuses), "version": 1, "updated_at": now, "state_since": now}

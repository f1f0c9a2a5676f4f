"""Stateful properties of the engine: random imports, appointments, metrics, advance, skip,
reopen by every role in and out of scope, and `steps migrate`, with the invariants checked
after every rule (issue 7 "Done means", issue 12 item 8).

The budget is small by default (CI); ROLLOUT_PROPERTY_EXAMPLES=N runs N walks of twice the
steps. The PostgreSQL run is one smaller budget marked `postgres`. The world (people, codes,
the database of a walk) is tests/engine_walk.py.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from states import SLUGS, evaluate, graph_of, step_by_slug
from states.graph import FINISHED, decode, first_open, settle_open
from storage import repo
from storage.models import machines, open_steps
from tests.conftest import pg_problem
from tests.engine_walk import (
    ACTOR,
    ACTORS,
    ADMIN,
    APPOINTS,
    COMPLETED,
    EXPECTED,
    GRAPHS,
    METRICS,
    OUTCOMES,
    READ_ONLY,
    SCHOOLS,
    OnPostgres,
    Walk,
)
from workflow import audit
from workflow import config as config_mod
from workflow.definitions import migrate
from workflow.people import unassign
from workflow.reconcile import reconcile_as_registered
from workflow.services import Services

EXAMPLES = int(os.environ.get("ROLLOUT_PROPERTY_EXAMPLES", "0"))


class EngineMachine(Walk):
    """The rules: what people and files do; the invariants: what must hold after each."""

    @initialize(ahead=st.sampled_from([(), ("07",), ("07", "08")]), admins=st.booleans())
    def registry(self, ahead: tuple[str, ...], admins: bool) -> None:
        self.build(ahead, admins)

    @rule(codes=st.lists(st.sampled_from(sorted(SCHOOLS)), min_size=1, max_size=3, unique=True),
          expected=st.lists(st.integers(0, 4), min_size=3, max_size=3))
    def import_schools(self, codes: list[str], expected: list[int]) -> None:
        """Schools (a branch before its parent is refused: nothing written)."""
        self.tick()
        rows = [{"region": SCHOOLS[c][0], "municipality": SCHOOLS[c][1], "code": c,
                 "name": f"Школа {c}", "parent": SCHOOLS[c][2],
                 **{f"{m}_expected": n for m, n in zip(EXPECTED, expected, strict=True)}}
                for c in codes]
        result, added, _ = self.attempt("schools", lambda: self.world().load("schools", rows), "")
        if not isinstance(result, Exception):
            assert added >= result.transitions

    @rule(data=st.data(), role=st.sampled_from(["support", *sorted(APPOINTS)]))
    def import_people(self, data: st.DataObject, role: str) -> None:
        """The operator's people file adds a role (never to the read-only people: they stay
        read-only); an admin so imported completes step 4 like an appointment."""
        self.tick()
        scope = data.draw(st.sampled_from(sorted(APPOINTS[role]))) if role in APPOINTS else ""
        email = data.draw(st.sampled_from([a for a in ACTORS if a not in READ_ONLY]))
        rows = [{"email": email, "name": "Сотрудник С.С.", "role": role, "scope": scope}]
        result, added, _ = self.attempt("people", lambda: self.world().load("people", rows), "")
        if not isinstance(result, Exception):
            assert added >= result.transitions

    @rule(school=st.sampled_from(sorted(SCHOOLS)),
          counts=st.lists(st.integers(0, 5), min_size=4, max_size=4))
    def import_metrics(self, school: str, counts: list[int]) -> None:
        self.tick()
        row = dict(zip(METRICS, counts, strict=True))
        result, added, _ = self.attempt("metrics", lambda: self.world().metrics(school, **row), "")
        if not isinstance(result, Exception):
            assert added >= result.transitions

    @rule(region=st.sampled_from(["07", "08"]))
    def reconcile(self, region: str) -> None:
        self.tick()
        self.attempt("reconcile",
                     lambda: reconcile_as_registered(self.services, region, self.now), "")

    @rule(data=st.data(), role=st.sampled_from(sorted(APPOINTS)), actor=ACTOR)
    def assign(self, data: st.DataObject, role: str, actor: str) -> None:
        self.tick()
        scope, email, actor = self.appointment(data, role, actor)
        result, added, _ = self.attempt(f"assign {role}", lambda: self.services.assign(
            role, scope, email, "Назначенный Н.Н.", actor, self.now), actor)
        if isinstance(result, str):  # appointed: one PersonAssigned, one event per transition
            m = COMPLETED.search(result)
            done = int(m.group(1)) if m else 0
            assert added == (0 if "nothing changed" in result else 1 + done), (result, added)

    @rule(data=st.data(), role=st.sampled_from(sorted(APPOINTS)), actor=ACTOR)
    def unassign(self, data: st.DataObject, role: str, actor: str) -> None:
        self.tick()
        scope, email, actor = self.appointment(data, role, actor)
        m0 = self.snapshot()[1]
        result, _, new = self.attempt(f"unassign {role}", lambda: unassign(
            self.services, role, scope, email, actor, self.now, "замена"), actor)
        if isinstance(result, str):  # the steps it completed stay done
            assert [e.event for e in new] == ["PersonUnassigned"]
            assert self.snapshot()[1] == m0

    @rule(kind=st.sampled_from(["region", "school"]), data=st.data(),
          step=st.sampled_from(SLUGS), actor=ACTOR,
          verb=st.sampled_from(["advance", "advance", "reopen", "skip"]))
    def act(self, kind: str, data: st.DataObject, step: str, actor: str, verb: str) -> None:
        """advance, reopen or skip a step of a region or a school, by anyone."""
        self.tick()
        code = data.draw(st.sampled_from(["07", "08"] if kind == "region" else sorted(SCHOOLS)))
        self._act(kind, code, step, actor, verb)

    @rule(kind=st.sampled_from(["region", "school"]), data=st.data(), pick=st.integers(0, 2))
    def progress(self, kind: str, data: st.DataObject, pick: int) -> None:
        """Its owner advances one of the machine's open steps: the walks reach the last steps."""
        self.tick()
        code = data.draw(st.sampled_from(["07", "08"] if kind == "region" else sorted(SCHOOLS)))
        statuses = self.step_status(kind, code)
        current = [s for s, v in (statuses or {}).items() if v == "current"]
        if not current:
            return
        step = current[pick % len(current)]
        if kind == "school" and step in METRICS:  # the school does the work: a full file
            self.import_metrics(code, [5] * len(METRICS))
        elif kind == "school" and step == "admins":  # an admin appointed by the coordinator
            self.attempt("assign school_admin", lambda: self.services.assign(
                "school_admin", code, ADMIN[code], "Админ А.", self.appointer(
                    "school_admin", code), self.now), "")
        else:
            self._act(kind, code, step, "owner", "advance")

    @rule(kind=st.sampled_from(["region", "school"]), data=st.data(), pick=st.integers(0, 8))
    def regress(self, kind: str, data: st.DataObject, pick: int) -> None:
        """Its owner reopens one of the machine's finished steps."""
        self.tick()
        code = data.draw(st.sampled_from(["07", "08"] if kind == "region" else sorted(SCHOOLS)))
        statuses = self.step_status(kind, code)
        finished = [s for s, v in (statuses or {}).items() if v in FINISHED]
        if finished:
            self._act(kind, code, finished[pick % len(finished)], "owner", "reopen")

    def _act(self, kind: str, code: str, step: str, actor: str, verb: str) -> None:
        actor = self.owner(kind, code, step) if actor == "owner" else actor
        before = self.step_status(kind, code)
        call = {"advance": lambda: self.services.advance(kind, code, step, actor, self.now),
                "reopen": lambda: self.services.reopen(kind, code, step, actor, self.now,
                                                       "проверка"),
                "skip": lambda: self.services.skip(kind, code, step, actor, self.now,
                                                   "не нужен")}[verb]
        result, added, new = self.attempt(f"{verb} {kind} {step}", call, actor)
        if isinstance(result, Exception):
            return
        assert before is not None
        # one event per transition, the first one the person's
        assert added == result.transitions >= 1, (added, result)
        assert (new[0].step, new[0].actor) == (step, actor)
        after = self.step_status(kind, code)
        assert after is not None
        if verb == "reopen":
            assert before[step] in FINISHED and after[step] == "current"
            if kind == "region" and step_by_slug(step).level == "school":
                # not completed again at once, nor by the schools' progress on other steps:
                # by design (README, "A reopened step is not completed again at once")
                self.lag_ok.add((code, step))
        else:
            assert before[step] == "current"
            assert after[step] == ("done" if verb == "advance" else "skipped")

    @rule(name=st.sampled_from(["line", "loose", "half", "default"]))
    def migrate_steps(self, name: str) -> None:
        """`steps migrate` to another definition: one event per machine moved, one per step
        the new definition completes."""
        self.tick()
        cfg = config_mod.build({"database": {"url": self.url}, "steps": GRAPHS[name]}, self.tmp)
        services = Services(cfg, db=self.db)
        head = self.head()
        report = migrate(services.db, services.policies, self.now)
        new = self.new_events(head)
        assert len(new) == sum(report.moved.values()) + report.completed
        OUTCOMES[f"migrate: {name}, {sum(report.moved.values())} moved"] += 1
        assert sum(e.event == "StepsMigrated" for e in new) == sum(report.moved.values())
        self.services, self.graph = services, graph_of(services.policies)
        if not report.up_to_date:  # every region was settled again (not so when nothing changed)
            self.lag_ok.clear()

    # -- invariants --------------------------------------------------------------------------
    @invariant()
    def completions_follow_the_graph(self) -> None:
        """Every step completed since the last rule had its prerequisites finished then."""
        new = self.new_events(self.seen)
        for e in new:
            if e.event == "StepCompleted":
                statuses = e.data["steps"]
                assert statuses[e.step] == "done"
                waiting = [d for d in self.graph[e.step] if statuses[d] not in FINISHED]
                assert not waiting, f"#{e.seq} {e.kind} {e.code}: {e.step} done before {waiting}"
            if e.kind == "school" and e.event in ("StepCompleted", "StepSkipped"):
                # a school that finishes the step has its region count that step again
                self.lag_ok.discard((e.region_code, e.step))
            if e.kind == "region" and e.event in ("StepCompleted", "StepSkipped"):
                self.lag_ok.discard((e.code, e.step))  # its owner marked it done
        if new:
            self.seen = new[-1].seq

    @invariant()
    def machines_and_their_indexes_agree(self) -> None:
        """statuses = the encoded steps, settled by the graph; open_steps = the current steps."""
        with self.db.read() as conn:
            stored = {(r.kind, r.code, r.step): r.since for r in conn.execute(select(open_steps))}
            expected = {}
            for r in conn.execute(select(machines)):
                steps = {s: v["status"] for s, v in r.steps.items()}
                assert decode(r.statuses) == steps, (r.kind, r.code)
                assert settle_open(self.graph, steps) == steps, (r.kind, r.code, steps)
                assert r.state == first_open(steps)
                for s, v in r.steps.items():
                    if v["status"] == "current":
                        expected[(r.kind, r.code, s)] = v["since"]
        assert {k: v.isoformat() for k, v in stored.items()} == expected

    @invariant()
    def the_chain_verifies_and_replays(self) -> None:
        with self.db.read() as conn:
            audit.verify(conn)

    @invariant()
    def regions_never_lag(self) -> None:
        """An open aggregate step of a region never has enough finished schools to complete."""
        with self.db.read() as conn:
            for code in ("07", "08"):
                row = repo.get_machine(conn, "region", code)
                if row is None:
                    continue
                facts = repo.region_progress(conn, code)
                for slug, status in row.statuses.items():
                    step = step_by_slug(slug)
                    if status != "current" or step.level != "school" or (code, slug) in \
                            self.lag_ok:
                        continue
                    verdict = evaluate(step, facts, self.services.policies[slug])
                    assert not verdict.ok, f"region {code} lags on {slug}: {verdict.message}"


def _settings(examples: int, steps: int) -> settings:
    return settings(max_examples=EXAMPLES or examples,
                    stateful_step_count=steps * (2 if EXAMPLES else 1), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_engine_properties_on_sqlite() -> None:
    run_state_machine_as_test(EngineMachine, settings=_settings(12, 40))


class PostgresMachine(OnPostgres, EngineMachine):
    """The same rules on PostgreSQL."""


@pytest.mark.postgres
def test_engine_properties_on_postgres() -> None:
    problem = pg_problem()
    if problem:
        pytest.skip(problem)
    run_state_machine_as_test(PostgresMachine, settings=_settings(4, 20))

"""Stateful properties of the engine: random imports, appointments, metrics, advance, skip,
reopen by every role in and out of scope, and `steps migrate`, with the invariants checked
after every rule (issue 7 "Done means", issue 12 item 8).

The budget is small by default (CI); ROLLOUT_PROPERTY_EXAMPLES=N runs N examples of twice the
steps. The PostgreSQL run is one smaller budget marked `postgres`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import create_engine, func, select, text

from states import SLUGS, evaluate, graph_of, step_by_slug
from states.graph import FINISHED, decode, first_open, settle_open
from storage import repo
from storage.models import events, machines, open_steps
from tests.builders import World
from tests.conftest import PG_URL, T0, make_services, pg_problem
from workflow import audit
from workflow import config as config_mod
from workflow.definitions import migrate
from workflow.errors import (
    GuardRefused,
    InvalidInput,
    PermissionDenied,
    UnknownCode,
    UsageError,
)
from workflow.people import unassign
from workflow.reconcile import reconcile_as_registered
from workflow.services import Services

EXAMPLES = int(os.environ.get("ROLLOUT_PROPERTY_EXAMPLES", "0"))
# code -> (region, municipality, parent); S4 has no municipality (step 3 refuses, 08 may skip)
SCHOOLS = {"S1": ("07", "0701", ""), "S2": ("07", "0702", ""), "S2F": ("07", "0702", "S2"),
           "S3": ("08", "0801", ""), "S4": ("08", "", "")}
MUNICIPALITIES = {"0701": "07", "0702": "07", "0801": "08"}
READ_ONLY = ("pm@minpros.ru", "auditor@minpros.ru")
RC = {"07": "rc07@r07.ru", "08": "rc08@r08.ru"}
MC = {m: f"mc{m}@r{r}.ru" for m, r in MUNICIPALITIES.items()}
ADMIN = {c: f"a.{c.lower()}@school.ru" for c in SCHOOLS}
ACTORS = ("support@operator.ru", *RC.values(), *MC.values(), *ADMIN.values(), *READ_ONLY,
          "nobody@x.ru")
# "owner": the person the step or appointment belongs to; drawn most often, so that the walks
# get past the first steps (everyone else is drawn too: out of scope, read-only, unknown)
ACTOR = st.sampled_from(ACTORS + ("owner",) * 30)
APPOINTS = {"regional_coordinator": RC, "municipal_coordinator": MC, "school_admin": ADMIN}
GRAPHS: dict[str, dict[str, Any]] = {
    "default": {},
    "line": {"classes": {"after": ["teachers"]}, "parents": {"after": ["classes"]},
             "students": {"after": ["parents"]}, "adoption": {"after": ["students"]}},
    "loose": {"parents": {"after": ["admins"]}, "students": {"after": ["admins"]},
              "adoption": {"after": ["teachers"]}},
    "half": {"teachers": {"region_share": 0.5}, "classes": {"region_share": 0.5},
             "parents": {"threshold": 0.3}},
}
TEMPLATE: list[Path] = []  # a migrated, empty SQLite database
OUTCOMES: Counter[str] = Counter()  # what the rules did, for a look with -s
COMPLETED = re.compile(r"; (\d+) step\(s\) completed")
EXPECTED = ("teachers", "classes", "students")
METRICS = ("teachers", "classes", "parents", "students")


class EngineMachine(RuleBasedStateMachine):
    """One database per example; every rule acts as a user would, through the services."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="rollout-prop-"))
        self.url = self.make_url()
        self.services = make_services(self.url, self.tmp)
        self.db = self.services.db
        self.now = T0
        self.graph = graph_of(self.services.policies)
        self.seen = 0  # the last event the invariants looked at
        self.lag_ok: set[tuple[str, str]] = set()  # region aggregate steps reopened by hand

    def make_url(self) -> str:
        """A SQLite file copied from one migrated once (the migrations are most of a walk)."""
        if not TEMPLATE:
            path = Path(tempfile.mkdtemp(prefix="rollout-prop-")) / "template.db"
            make_services(f"sqlite:///{path}", path.parent).db.dispose()
            TEMPLATE.append(path)
        shutil.copyfile(TEMPLATE[0], self.tmp / "rollout.db")
        return f"sqlite:///{self.tmp / 'rollout.db'}"

    def teardown(self) -> None:
        with self.db.read() as conn:  # how deep the walk went, for a look with -s
            OUTCOMES.update(f"event {r[0]}" for r in conn.execute(select(events.c.event)))
            deepest = max((sum(c == "D" for c in r[0]) for r in conn.execute(
                select(machines.c.statuses).where(machines.c.kind == "school"))), default=0)
        OUTCOMES[f"deepest school: {deepest} done"] += 1
        self.db.dispose()

    # -- helpers -----------------------------------------------------------------------------
    def tick(self) -> None:
        self.now += timedelta(hours=1)

    def world(self) -> World:
        return World(self.services, self.tmp, self.now)

    def snapshot(self) -> tuple[int, list[tuple[Any, ...]]]:
        with self.db.read() as conn:
            n = conn.execute(select(func.count()).select_from(events)).scalar_one()
            rows = [tuple(r) for r in conn.execute(
                select(machines.c.kind, machines.c.code, machines.c.version, machines.c.statuses)
                .order_by(machines.c.id))]
        return n, rows

    def new_events(self, since: int) -> list[Any]:
        with self.db.read() as conn:
            return list(conn.execute(select(events).where(events.c.seq > since)
                                     .order_by(events.c.seq)))

    def attempt(self, label: str, action: Any, actor: str) -> tuple[Any, int, list[Any]]:
        """Run `action`; check what a refusal writes. Returns (result or error, events added,
        the new events)."""
        n0, m0 = self.snapshot()
        head = self.head()
        try:
            result: Any = action()
        except (GuardRefused, PermissionDenied) as exc:
            result = exc
        except (UnknownCode, UsageError, InvalidInput) as exc:
            result = exc
        n1, m1 = self.snapshot()
        added = self.new_events(head)
        assert n1 - n0 == len(added)
        if isinstance(result, Exception):
            assert m1 == m0, f"{result!r} changed machines"
            if isinstance(result, (GuardRefused, PermissionDenied)):
                assert [e.event for e in added] in (["StepRefused"], ["ActionDenied"]), added
            else:  # refused before anything was looked at: nothing written, nothing recorded
                assert added == [], (result, added)
        event(f"{label}: {type(result).__name__}")
        OUTCOMES[f"{label.split()[0]}: {type(result).__name__}"] += 1
        if actor in READ_ONLY:
            assert isinstance(result, Exception), f"{actor} changed something: {result!r}"
            assert m1 == m0
        return result, len(added), added

    def head(self) -> int:
        with self.db.read() as conn:
            return conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one()

    def step_status(self, kind: str, code: str) -> dict[str, str] | None:
        with self.db.read() as conn:
            row = repo.get_machine(conn, kind, code)
        return row.statuses if row else None

    # -- the world -----------------------------------------------------------------------------
    @initialize(ahead=st.sampled_from([(), ("07",), ("07", "08")]), admins=st.booleans())
    def registry(self, ahead: tuple[str, ...], admins: bool) -> None:
        """Two regions, three municipalities, two schools, the global roles; some walks start
        with regions through step 3 (and schools with admins), as a rollout a month in."""
        w = self.world()
        w.region("07")
        w.region("08", "Кемеровская область", "Asia/Novokuznetsk")
        for code, region in MUNICIPALITIES.items():
            w.municipality(code, region)
        w.load("people", [{"email": "support@operator.ru", "name": "СТП", "role": "support",
                           "scope": ""},
                          {"email": "pm@minpros.ru", "name": "Руководитель",
                           "role": "program_manager", "scope": ""},
                          {"email": "auditor@minpros.ru", "name": "Аудитор", "role": "auditor",
                           "scope": ""},
                          {"email": "rc07@r07.ru", "name": "Координатор 07",
                           "role": "regional_coordinator", "scope": "07"},
                          {"email": "rc08@r08.ru", "name": "Координатор 08",
                           "role": "regional_coordinator", "scope": "08"}])
        for code in ("S1", "S3"):  # the others come by the import rule, at any time
            w.school(code, SCHOOLS[code][0], SCHOOLS[code][1], teachers=3, classes=2,
                     students=4)
        for region in ahead:
            s = self.services
            s.advance("region", region, "coordinator", "support@operator.ru", self.now)
            reconcile_as_registered(s, region, self.now)
            s.advance("region", region, "registry", RC[region], self.now)
            for muni in (m for m, r in MUNICIPALITIES.items() if r == region):
                s.assign("municipal_coordinator", muni, MC[muni], "Координатор М.", RC[region],
                         self.now)
            s.advance("region", region, "municipalities", RC[region], self.now)
            school = {"07": "S1", "08": "S3"}[region]
            if admins:
                s.assign("school_admin", school, ADMIN[school], "Админ А.", RC[region], self.now)

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
        self.attempt("reconcile", lambda: reconcile_as_registered(self.services, region, self.now), "")

    def appointer(self, role: str, scope: str) -> str:
        if role == "regional_coordinator":
            return "support@operator.ru"
        region = MUNICIPALITIES.get(scope) or SCHOOLS[scope][0]
        if role == "school_admin" and SCHOOLS[scope][1] and scope in ("S2", "S3"):
            return MC[SCHOOLS[scope][1]]  # a municipal coordinator appoints these two
        return RC[region]

    def appointment(self, data: st.DataObject, role: str, actor: str) -> tuple[str, str, str]:
        """(scope, e-mail, actor): mostly the scope's own person, sometimes anyone else's."""
        people = APPOINTS[role]
        scope = data.draw(st.sampled_from(sorted(people)))
        email = data.draw(st.sampled_from([people[scope]] * 3 + sorted(people.values())))
        return scope, email, self.appointer(role, scope) if actor == "owner" else actor

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

    def owner(self, kind: str, code: str, step: str) -> str:
        """Who a step belongs to: support for step 1, else the coordinator or the admin."""
        if step == "coordinator":
            return "support@operator.ru"
        if kind == "region":
            return RC[code]
        region, muni, _ = SCHOOLS[code]
        if step_by_slug(step).level == "region":
            return RC[region]  # out of place: a school's region step mirrors
        if "school_admin" in step_by_slug(step).owners:
            return ADMIN[code]
        return MC[muni] if muni else RC[region]

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
        if current:
            self._act(kind, code, current[pick % len(current)], "owner", "advance")

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
                self.lag_ok.add((code, step))  # not completed again at once: by design
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
        self.lag_ok.clear()  # every region was settled again

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
                self.lag_ok = {(r, s) for r, s in self.lag_ok if r != e.region_code}
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


class PostgresMachine(EngineMachine):
    """The same rules on a fresh PostgreSQL schema per example."""

    def make_url(self) -> str:
        self.schema = f"p_{uuid.uuid4().hex[:12]}"
        with create_engine(PG_URL).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        return f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"

    def teardown(self) -> None:
        super().teardown()
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        engine.dispose()


@pytest.mark.postgres
def test_engine_properties_on_postgres() -> None:
    problem = pg_problem()
    if problem:
        pytest.skip(problem)
    run_state_machine_as_test(PostgresMachine, settings=_settings(4, 20))

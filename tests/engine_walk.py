"""The world of the engine's property tests: people, codes, one database per walk, and
`attempt`, which runs an action and checks what a refusal wrote (tests/integration/
test_engine_properties.py holds the rules and the invariants)."""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from sqlalchemy import create_engine, func, select, text

from states import graph_of, step_by_slug
from storage import repo
from storage.models import events, machines
from tests.builders import World
from tests.conftest import PG_URL, T0, make_services
from workflow.errors import (
    GuardRefused,
    InvalidInput,
    PermissionDenied,
    UnknownCode,
    UsageError,
)
from workflow.reconcile import reconcile_as_registered

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
COMPLETED = re.compile(r"; (\d+) steps? completed")  # the English message (ROLLOUT_LANG=en)
EXPECTED = ("teachers", "classes", "students")
METRICS = ("teachers", "classes", "parents", "students")


class Walk(RuleBasedStateMachine):
    """One database per walk; every action goes through the services, as a user's would."""

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
            atexit.register(shutil.rmtree, path.parent, True)
        shutil.copyfile(TEMPLATE[0], self.tmp / "rollout.db")
        return f"sqlite:///{self.tmp / 'rollout.db'}"

    def teardown(self) -> None:
        with self.db.read() as conn:  # how deep the walk went, for a look with -s
            OUTCOMES.update(f"event {r[0]}" for r in conn.execute(select(events.c.event)))
            deepest = max((sum(c == "D" for c in r[0]) for r in conn.execute(
                select(machines.c.statuses).where(machines.c.kind == "school"))), default=0)
        OUTCOMES[f"deepest school: {deepest} done"] += 1
        self.db.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)

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
        except (GuardRefused, PermissionDenied, UnknownCode, UsageError, InvalidInput) as exc:
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

    # -- the world at the start ---------------------------------------------------------------
    def build(self, ahead: tuple[str, ...], admins: bool) -> None:
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


class OnPostgres(Walk):
    """A fresh PostgreSQL schema per walk instead of a SQLite file."""

    def make_url(self) -> str:
        self.schema = f"p_{uuid.uuid4().hex[:12]}"
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        engine.dispose()
        sep = "&" if "?" in PG_URL else "?"
        return f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"

    def teardown(self) -> None:
        super().teardown()
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        engine.dispose()

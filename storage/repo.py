"""Queries and writes over the registry, people and machines (Core `select()` style)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import methodcaller
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, null, select, update

from states import STEPS, Grant, RegionFacts, SchoolFacts, Target
from states.graph import encode, finished_counts
from storage import reconciliations
from storage.bulk import insert_rows, insert_tuples, select_in
from storage.errors import ConflictError
from storage.models import (
    assignments,
    machines,
    metrics,
    municipalities,
    open_steps,
    people,
    regions,
    schools,
)
from storage.prepared import Prepared

METRIC_NAMES = ("teachers", "classes", "parents", "students")


@dataclass
class MachineRow:
    """A machine as stored: the state, each step's status and since-when, its version."""

    id: int
    kind: str
    code: str
    region_code: str
    state: str
    steps: dict[str, Any]
    version: int
    # the open steps as stored (slug -> since): what `save_machines` changes in `open_steps`
    stored_open: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.stored_open:
            self.stored_open = self.open_since()

    @property
    def statuses(self) -> dict[str, str]:
        return {slug: v["status"] for slug, v in self.steps.items()}

    def open_since(self) -> dict[str, str]:
        return {slug: v["since"] for slug, v in self.steps.items() if v["status"] == "current"}


def _machine(r: Any) -> MachineRow:
    return MachineRow(r.id, r.kind, r.code, r.region_code, r.state, dict(r.steps), r.version)


def fresh_steps(now_iso: str, statuses: dict[str, str]) -> dict[str, Any]:
    """The steps of a new machine: its open steps since now, the rest pending."""
    return {s.slug: {"status": statuses[s.slug],
                     "since": now_iso if statuses[s.slug] == "current" else None} for s in STEPS}


def open_rows(kind: str, code: str, region: str, steps: dict[str, Any]) -> list[dict[str, Any]]:
    """The `open_steps` rows of a machine whose steps are `steps`."""
    return [{"kind": kind, "code": code, "step": slug, "region_code": region,
             "since": datetime.fromisoformat(v["since"])}
            for slug, v in steps.items() if v["status"] == "current"]


# The statements of the hot path (one `advance`) are built once: SQLAlchemy then reuses their
# cache key and compiled form instead of rebuilding both on every call.
_GET_MACHINE = select(machines).where(machines.c.kind == bindparam("kind"),
                                      machines.c.code == bindparam("code"))


def get_machine(conn: Connection, kind: str, code: str) -> MachineRow | None:
    r = conn.execute(_GET_MACHINE, {"kind": kind, "code": code}).first()
    return _machine(r) if r else None


def machines_of(conn: Connection, kind: str, codes: Iterable[str]) -> list[MachineRow]:
    """The machines of `kind` among `codes` (900 codes a query): an import's regions."""
    cols = ("id", "kind", "code", "region_code", "state", "steps", "version")  # as _row_of reads
    return [_row_of(t) for t in select_in(conn, machines, cols, "code", sorted(set(codes)),
                                          where={"kind": kind})]


def school_machines(conn: Connection, region: str, codes: Iterable[str] | None = None
                    ) -> list[MachineRow]:
    """The region's school machines, or only those of `codes`, in id order."""
    q = select(machines).where(machines.c.kind == "school", machines.c.region_code == region)
    wanted = None if codes is None else set(codes)
    if wanted is not None and len(wanted) <= 500:
        q = q.where(machines.c.code.in_(sorted(wanted)))
    rows = [_machine(r) for r in conn.execute(q.order_by(machines.c.id))]
    return rows if wanted is None else [r for r in rows if r.code in wanted]


def insert_machines(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """New machines, and their open steps (`statuses` follows from `steps` if not given)."""
    for r in rows:
        if "statuses" not in r:
            r["statuses"] = encode({k: v["status"] for k, v in r["steps"].items()})
    if not rows:
        return
    # Values every row has alike (an import's new machines share their steps) are converted
    # once: per-row JSON and datetime conversion was a third of a schools import's writes.
    first = rows[0]
    # list.count compares by identity first, then ==: one C loop per column
    shared = {k: v for k, v in first.items() if k not in ("code", "region_code")
              and list(map(methodcaller("get", k), rows)).count(v) == len(rows)}
    if len(shared) == len(first) - 2 and all(len(r) == len(first) for r in rows):
        insert_new_machines(conn, shared.pop("kind"), [(r["code"], r["region_code"])
                                                       for r in rows], shared)
        return
    if len(rows) > 1 and all(len(r) == len(first) for r in rows):
        own = [k for k in first if k not in shared]
        insert_rows(conn, machines, [{k: r[k] for k in own} for r in rows],
                    shared)
    else:
        conn.execute(insert(machines), rows)
    # The open steps of each distinct `steps` (new machines share one): worked out once
    spec: dict[tuple[str, int], list[tuple[str, datetime]]] = {}
    opened = []
    for r in rows:
        kind, steps = r["kind"], r["steps"]
        opens = spec.get((kind, id(steps)))
        if opens is None:
            opens = spec[(kind, id(steps))] = [(o["step"], o["since"])
                                               for o in open_rows(kind, "", "", steps)]
        code, region = r["code"], r["region_code"]
        opened += [{"kind": kind, "code": code, "step": step, "region_code": region,
                    "since": since} for step, since in opens]
    if opened:
        since = opened[0]["since"]
        if all(o["since"] == since for o in opened):
            insert_rows(conn, open_steps, [{k: o[k] for k in ("kind", "code", "step",
                                                               "region_code")} for o in opened],
                        {"since": since})
        else:
            conn.execute(insert(open_steps), opened)


def insert_new_machines(conn: Connection, kind: str, pairs: Sequence[tuple[str, str]],
                        alike: dict[str, Any]) -> None:
    """New machines alike but for their (code, region) (an import's), and their open steps.

    `alike` holds the rest of a machine's row (state, steps, statuses, version, updated_at,
    state_since), converted once: per-row dicts and JSON were a third of a schools import's
    writes, as much as SQLite's own inserts.
    """
    if not pairs:
        return
    insert_tuples(conn, machines, ("code", "region_code"), pairs, {"kind": kind, **alike})
    opens = [(o["step"], o["since"]) for o in open_rows(kind, "", "", alike["steps"])]
    if len({since for _, since in opens}) == 1:
        insert_tuples(conn, open_steps, ("code", "step", "region_code"),
                      [(code, step, region) for code, region in pairs for step, _ in opens],
                      {"kind": kind, "since": opens[0][1]})
    elif opens:
        conn.execute(insert(open_steps), [
            {"kind": kind, "code": code, "step": step, "region_code": region, "since": since}
            for code, region in pairs for step, since in opens])


_SAVE_MACHINE = (update(machines)
                 .where(machines.c.id == bindparam("b_id"),
                        machines.c.version == bindparam("b_version"))
                 .values(state=bindparam("b_state"), steps=bindparam("b_steps"),
                         statuses=bindparam("b_statuses"),
                         version=bindparam("b_new_version"), updated_at=bindparam("b_now"),
                         state_since=bindparam("b_since")))
_CLOSE_STEP = delete(open_steps).where(open_steps.c.kind == bindparam("b_kind"),
                                       open_steps.c.code == bindparam("b_code"),
                                       open_steps.c.step == bindparam("b_step"))
# The same, run on the driver's cursor (storage/prepared.py): one `advance` writes with these
_SAVE_ONE = Prepared(_SAVE_MACHINE)
_CLOSE_STEPS = Prepared(_CLOSE_STEP)
_OPEN_STEPS = Prepared(insert(open_steps))


def _state_since(m: MachineRow, now: datetime) -> datetime:
    since = m.steps.get(m.state, {}).get("since")
    return datetime.fromisoformat(since) if since else now


def save_machines(conn: Connection, changed: Sequence[MachineRow], now: datetime) -> None:
    """Write new states with a version check; ConflictError if any machine moved meanwhile.

    The machine's open steps are kept in `open_steps` in the same statements' transaction.
    """
    if not changed:
        return
    params = [{"b_id": m.id, "b_version": m.version, "b_state": m.state, "b_steps": m.steps,
               "b_statuses": encode(m.statuses), "b_since": _state_since(m, now),
               "b_new_version": m.version + 1, "b_now": now} for m in changed]
    if len(params) == 1 or not conn.dialect.supports_sane_multi_rowcount:
        for p, m in zip(params, changed, strict=True):
            if _SAVE_ONE.run(conn, p) != 1:
                raise ConflictError(m.kind, m.code, m.version)
    else:
        result = conn.execute(_SAVE_MACHINE, params)
        if result.rowcount != len(params):
            m = changed[0]
            raise ConflictError(m.kind, m.code if len(changed) == 1 else f"{m.code} (+more)")
    closed: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []
    for m in changed:
        m.version += 1
        now_open = m.open_since()
        for slug, since in m.stored_open.items():
            if now_open.get(slug) != since:
                closed.append({"b_kind": m.kind, "b_code": m.code, "b_step": slug})
        opened.extend({"kind": m.kind, "code": m.code, "step": slug, "region_code": m.region_code,
                       "since": datetime.fromisoformat(since)}
                      for slug, since in now_open.items() if m.stored_open.get(slug) != since)
        m.stored_open = now_open
    if closed:
        _CLOSE_STEPS.run(conn, closed)
    if opened:
        _OPEN_STEPS.run(conn, opened)


_REGION = select(regions.c.code).where(regions.c.code == bindparam("code"))
_MUNICIPALITY = select(municipalities.c.region_code).where(
    municipalities.c.code == bindparam("code"))
_SCHOOL = select(schools.c.region_code, schools.c.municipality_code).where(
    schools.c.code == bindparam("code"))


def target(conn: Connection, kind: str, code: str) -> Target | None:
    """The region, municipality or school called `code`, with the codes above it."""
    if kind == "region":
        found = conn.execute(_REGION, {"code": code}).first()
        return Target("region", code, code) if found else None
    if kind == "municipality":
        r = conn.execute(_MUNICIPALITY, {"code": code}).first()
        return Target("municipality", code, r.region_code, code) if r else None
    r = conn.execute(_SCHOOL, {"code": code}).first()
    return Target("school", code, r.region_code, r.municipality_code) if r else None


# What an `advance` reads first, run on the driver's cursor (storage/prepared.py): the columns
# a MachineRow holds, then the school's municipality.
_ROW_COLS = (machines.c.id, machines.c.kind, machines.c.code, machines.c.region_code,
             machines.c.state, machines.c.steps, machines.c.version)
_SCHOOL_ROWS = Prepared(
    select(*_ROW_COLS, schools.c.municipality_code)
    .join(schools, schools.c.code == machines.c.code)
    .where(machines.c.kind == "school", machines.c.code == bindparam("code"))
    .union_all(select(*_ROW_COLS, null().label("municipality_code"))
               .where(machines.c.kind == "region", machines.c.code == select(
                   schools.c.region_code).where(schools.c.code == bindparam("code"))
                   .scalar_subquery())))
_REGION_ROWS = Prepared(select(*_ROW_COLS).join(regions, regions.c.code == machines.c.code)
                        .where(machines.c.kind == "region", machines.c.code == bindparam("code")))


def _row_of(t: Sequence[Any]) -> MachineRow:
    id_, kind, code, region_code, state, steps, version = t[:7]
    return MachineRow(id_, kind, code, region_code, state, dict(steps), version)


def acting_on(conn: Connection, kind: str, code: str
              ) -> tuple[Target, MachineRow, MachineRow | None] | None:
    """What a command acting on a region or a school reads first, in one statement: the
    target (for permissions), its machine and, for a school, its region's machine. None if
    there is no such region or school (or it has no machine)."""
    if kind == "region":
        found = _REGION_ROWS.rows(conn, {"code": code})
        return (Target("region", code, code), _row_of(found[0]), None) if found else None
    if kind != "school":
        return None
    rows = _SCHOOL_ROWS.rows(conn, {"code": code})
    school = next((r for r in rows if r[1] == "school"), None)
    if school is None:
        return None
    region = next((r for r in rows if r[1] == "region"), None)
    return (Target("school", code, school[3], school[7]),
            _row_of(school), _row_of(region) if region else None)


def scope_target(conn: Connection, code: str) -> Target | None:
    """A scope code may name a region, a municipality or a school: the first that matches."""
    for kind in ("region", "municipality", "school"):
        t = target(conn, kind, code)
        if t:
            return t
    return None


def person(conn: Connection, email: str) -> dict[str, Any] | None:
    r = conn.execute(select(people).where(people.c.email == email.strip().lower())).first()
    return dict(r._mapping) if r else None


def grants(conn: Connection, email: str) -> list[Grant]:
    q = select(assignments.c.role, assignments.c.scope).where(
        assignments.c.email == email.strip().lower())
    return [Grant(r.role, r.scope or None) for r in conn.execute(q.order_by(assignments.c.id))]


_ACTOR = Prepared(select(people.c.email, assignments.c.role, assignments.c.scope)
                  .outerjoin(assignments, assignments.c.email == people.c.email)
                  .where(people.c.email == bindparam("email")).order_by(assignments.c.id))


def actor_grants(conn: Connection, email: str) -> list[Grant] | None:
    """A person's grants in one query; None if nobody has that e-mail."""
    rows = _ACTOR.rows(conn, {"email": email.strip().lower()})
    if not rows:
        return None
    return [Grant(role, scope or None) for _, role, scope in rows if role is not None]


def holders(conn: Connection, role: str, scopes: Iterable[str] | None = None
            ) -> list[dict[str, Any]]:
    """People holding `role` (on any of `scopes`), with their names."""
    q = (select(assignments.c.scope, people.c.email, people.c.name, people.c.position,
                people.c.phone)
         .join(people, people.c.email == assignments.c.email)
         .where(assignments.c.role == role).order_by(assignments.c.id))
    if scopes is not None:
        q = q.where(assignments.c.scope.in_(list(scopes)))
    return [dict(r._mapping) for r in conn.execute(q)]


def region_facts(conn: Connection, code: str) -> RegionFacts:
    """Counts the region's guards read: schools, the municipal split, schools done per step."""
    n_schools = conn.execute(select(func.count()).select_from(schools)
                             .where(schools.c.region_code == code)).scalar_one()
    munis = [r.code for r in conn.execute(select(municipalities.c.code)
                                          .where(municipalities.c.region_code == code)
                                          .order_by(municipalities.c.code))]
    covered = {r.scope for r in conn.execute(
        select(assignments.c.scope).where(assignments.c.role == "municipal_coordinator",
                                          assignments.c.scope.in_(munis)))} if munis else set()
    unlinked = conn.execute(select(func.count()).select_from(schools).where(
        schools.c.region_code == code, schools.c.municipality_code.is_(None))).scalar_one()
    return RegionFacts(code=code, schools=n_schools, municipalities=len(munis),
                       municipalities_without_coordinator=tuple(
                           m for m in munis if m not in covered),
                       schools_without_municipality=unlinked,
                       schools_done=schools_done(conn, code),
                       reconciliation=reconciliations.check(conn, code))


_SCHOOLS_BY_STATUSES = (select(machines.c.statuses, func.count())
                        .where(machines.c.kind == "school",
                               machines.c.region_code == bindparam("region"))
                        .group_by(machines.c.statuses))


def region_progress(conn: Connection, code: str) -> RegionFacts:
    """The part of `region_facts` that a region's aggregate steps (4-9) read, in one query:
    its schools and how many did each step (the municipal split is left at its defaults)."""
    by_statuses = conn.execute(_SCHOOLS_BY_STATUSES, {"region": code}).all()
    return RegionFacts(code=code, schools=sum(n for _, n in by_statuses),
                       schools_done=finished_counts(by_statuses))


def schools_done(conn: Connection, region: str) -> dict[str, int]:
    """How many of the region's schools have done (or skipped) each step."""
    return finished_counts(conn.execute(_SCHOOLS_BY_STATUSES, {"region": region}).all())


_ONE_SCHOOL = (select(schools, metrics.c.teachers, metrics.c.classes, metrics.c.parents,
                      metrics.c.students)
               .outerjoin(metrics, metrics.c.school_code == schools.c.code)
               .where(schools.c.code == bindparam("code")))
_HAS_ADMIN = select(assignments.c.id).where(assignments.c.role == "school_admin",
                                            assignments.c.scope == bindparam("code")).limit(1)


def _school_facts(r: Any, region: str, region_steps: dict[str, str], has_admin: bool
                  ) -> SchoolFacts:
    return SchoolFacts(code=r.code, region=region, region_steps=region_steps,
                       has_admin=has_admin,
                       loaded={m: getattr(r, m) or 0 for m in METRIC_NAMES},
                       expected={m: getattr(r, f"{m}_expected") for m in METRIC_NAMES})


def school_facts(conn: Connection, region: str, region_steps: dict[str, str],
                 codes: Iterable[str] | None = None) -> dict[str, SchoolFacts]:
    """Facts for the schools of one region (or those of `codes` in it), in two queries."""
    if codes is not None:
        codes = list(codes)
        if len(codes) == 1:  # one school: the prepared statements of the hot path
            r = conn.execute(_ONE_SCHOOL, {"code": codes[0]}).first()
            if r is None or r.region_code != region:
                return {}
            has_admin = conn.execute(_HAS_ADMIN, {"code": codes[0]}).first() is not None
            return {r.code: _school_facts(r, region, region_steps, has_admin)}
    q = (select(schools, metrics.c.teachers, metrics.c.classes, metrics.c.parents,
                metrics.c.students)
         .outerjoin(metrics, metrics.c.school_code == schools.c.code)
         .where(schools.c.region_code == region))
    wanted = set(codes) if codes is not None else None
    admin_q = (select(assignments.c.scope).join(schools, schools.c.code == assignments.c.scope)
               .where(assignments.c.role == "school_admin", schools.c.region_code == region))
    if wanted is not None and len(wanted) <= 500:  # a few schools: let the index find them
        q = q.where(schools.c.code.in_(sorted(wanted)))
        admin_q = admin_q.where(assignments.c.scope.in_(sorted(wanted)))
    admins = {r.scope for r in conn.execute(admin_q)}
    out = {}
    for r in conn.execute(q):
        if wanted is not None and r.code not in wanted:
            continue
        out[r.code] = _school_facts(r, region, region_steps, r.code in admins)
    return out


def some_school_unfinished(conn: Connection, region: str, slug: str) -> bool:
    """Has any school of the region neither done nor skipped `slug`? One index range scan
    over (kind, region_code, statuses), stopping at the first such school."""
    return conn.execute(_UNFINISHED, {"region": region, "pos": SLUG_POSITION[slug]}
                        ).first() is not None


SLUG_POSITION = {s.slug: s.number for s in STEPS}  # 1-based, as SQL's substr counts
_UNFINISHED = (select(machines.c.id)
               .where(machines.c.kind == "school", machines.c.region_code == bindparam("region"),
                      func.substr(machines.c.statuses, bindparam("pos"), 1) != "D",
                      func.substr(machines.c.statuses, bindparam("pos"), 1) != "S")
               .limit(1))

"""Who is where: the registry, the people by role and scope, and their time zones, loaded once."""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, select

from notifications.policy import MOSCOW, Recipient, chain_start, escalation_chain
from states import Facts, RegionFacts, SchoolFacts, Step, StepPolicy, holding
from storage import repo
from storage.models import assignments, metrics, municipalities, people, regions, schools
from storage.outbox import bounces

METRICS = ("teachers", "classes", "parents", "students")
_LOADED = attrgetter(*METRICS)  # a school row's figures, in METRICS order
_EXPECTED = attrgetter(*(f"{m}_expected" for m in METRICS))


@dataclass
class Directory:
    """A snapshot of the registry and the people for one pass (a few queries, no N+1)."""

    regions: dict[str, Any] = field(default_factory=dict)
    munis: dict[str, Any] = field(default_factory=dict)
    schools: dict[str, Any] = field(default_factory=dict)
    holders: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    bounced: set[str] = field(default_factory=set)
    _region_facts: dict[str, Any] = field(default_factory=dict)
    _tz: dict[tuple[str, str], str] = field(default_factory=dict)
    _holders_in: dict[tuple[str, str, str], list[Recipient]] = field(default_factory=dict)
    _above: dict[tuple[str, str], list[list[Recipient]]] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: Connection) -> Directory:
        d = cls()
        d.regions = {r.code: r for r in records(conn, select(regions), "Region")}
        d.munis = {r.code: r for r in records(conn, select(municipalities), "Municipality")}
        q = (select(schools.c.code, schools.c.name, schools.c.region_code,
                    schools.c.municipality_code, schools.c.timezone,
                    *[schools.c[f"{m}_expected"] for m in METRICS],
                    *[metrics.c[m] for m in METRICS])
             .outerjoin(metrics, metrics.c.school_code == schools.c.code))
        d.schools = {r.code: r for r in records(conn, q, "School")}
        by: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        q2 = (select(assignments.c.role, assignments.c.scope, people.c.email, people.c.name)
              .join(people, people.c.email == assignments.c.email).order_by(assignments.c.id))
        for r in conn.execute(q2):
            by[(r.role, r.scope or "")].append((r.email, r.name))
        d.holders = dict(by)
        d.bounced = set(conn.execute(select(bounces.c.email)).scalars())
        return d

    def tz(self, kind: str, code: str, region: str) -> str:
        """The machine's zone: the school's own, else its municipality's, else the region's."""
        key = (kind, code)
        if key not in self._tz:
            zone = None
            if kind == "school" and code in self.schools:
                s = self.schools[code]
                muni = self.munis.get(s.municipality_code)
                zone = s.timezone or (muni.timezone if muni is not None else None)
            reg = self.regions.get(region)
            self._tz[key] = zone or (reg.timezone if reg is not None else MOSCOW)
        return self._tz[key]

    def label(self, kind: str, code: str) -> str:
        # the name as registered, no quotes around it: a school's own «…» must not nest
        if kind == "school":
            s = self.schools.get(code)
            return f"{s.name} (код ОО {code})" if s is not None else f"ОО с кодом {code}"
        r = self.regions.get(code)
        return f"{r.name} (код региона {code})" if r is not None else f"регион с кодом {code}"

    def zones(self) -> set[str]:
        """Every time zone a machine or a person of this registry can be in."""
        return ({MOSCOW} | {r.timezone for r in self.regions.values() if r.timezone}
                | {m.timezone for m in self.munis.values() if m.timezone}
                | {s.timezone for s in self.schools.values() if s.timezone})

    def _people(self, role: str, scope: str, tz: str) -> list[Recipient]:
        """The holders of a role in a scope (one list per pass: treat it as read-only)."""
        key = (role, scope, tz)
        found = self._holders_in.get(key)
        if found is None:
            found = self._holders_in[key] = [Recipient(e, n, role, tz)
                                             for e, n in self.holders.get((role, scope), [])]
        return found

    def hierarchy(self, kind: str, code: str, region: str, step: Step) -> list[list[Recipient]]:
        """The people who owe the step, then each level above, skipping empty levels."""
        if kind == "region":
            region_tz = self.tz("region", region, region)
            pms = self._people("program_manager", "", MOSCOW)
            first = (self._people("support", "", MOSCOW) if step.slug == "coordinator"
                     else self._people("regional_coordinator", region, region_tz))
            return escalation_chain([first, pms], 0)
        s = self.schools.get(code)
        muni = s.municipality_code if s is not None else None
        levels = [self._people("school_admin", code, self.tz(kind, code, region)),
                  *self._above_school(muni, region)]
        return escalation_chain(levels, chain_start(step, kind))

    def _above_school(self, muni: str | None, region: str) -> list[list[Recipient]]:
        """The levels above a school of `muni` (once per municipality and pass)."""
        key = (muni or "", region)
        found = self._above.get(key)
        if found is None:
            region_tz = self.tz("region", region, region)
            muni_tz = region_tz
            if muni and muni in self.munis and self.munis[muni].timezone:
                muni_tz = self.munis[muni].timezone
            found = self._above[key] = [
                self._people("municipal_coordinator", muni, muni_tz) if muni else [],
                self._people("regional_coordinator", region, region_tz),
                self._people("program_manager", "", MOSCOW)]
        return found

    def region_facts(self, conn: Connection, code: str) -> Any:
        if code not in self._region_facts:
            self._region_facts[code] = repo.region_facts(conn, code)
        return self._region_facts[code]


def records(conn: Connection, query: Any, name: str) -> Iterator[Any]:
    """The query's rows, streamed, as named tuples: a pass reads their fields millions of
    times, and a named tuple's field costs a tenth of a SQLAlchemy Row's attribute."""
    result = conn.execute(query)
    record = namedtuple(name, list(result.keys()))  # type: ignore[misc]
    return map(record._make, result)


def late_reasons(conn: Connection, d: Directory, machine: Any, step: Step,
                 policy: StepPolicy) -> tuple[str, ...]:
    """What holds the step, in the guard's own words and figures (Russian)."""
    facts: Facts
    if machine.kind == "school":
        s = d.schools.get(machine.code)
        if s is None:
            return ()
        facts = SchoolFacts(
            code=machine.code, region=machine.region_code,
            has_admin=bool(d.holders.get(("school_admin", machine.code))),
            loaded={m: v or 0 for m, v in zip(METRICS, _LOADED(s), strict=True)},
            expected={m: v or 0 for m, v in zip(METRICS, _EXPECTED(s), strict=True)})
    elif step.evidence is None:
        facts = RegionFacts(machine.code)  # a manual region step reads nothing
    else:
        facts = d.region_facts(conn, machine.code)
    # "waits for its owner to mark it done" is not a missing condition: the letter says what
    # to do instead
    return tuple(r.ru for r in holding(step, facts, policy) if r.code != "awaits_owner")

"""Checking an import against the registry and writing it: only what changed, all or nothing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, insert, select, update

from states import FINISHED, GLOBAL_ROLES, SCOPE_KIND, Role
from storage import repo
from storage.models import assignments, metrics, municipalities, people, regions, schools
from workflow.engine import Change, new_machine_rows

OPERATOR = "operator"  # the operator's commands are recorded under this actor
Record = tuple[int, dict[str, Any]]  # (row number, values by column name)


class Applier(ABC):
    """Base: `check` returns problems as (row, column, text); `apply` writes and counts."""

    table: Any
    key = "code"
    fields: tuple[str, ...] = ()

    def __init__(self, ch: Change, present: set[str], source: str = "") -> None:
        self.ch, self.conn, self.present = ch, ch.conn, present
        self.source = source  # the file's name, for the history's triggers
        self.created = self.updated = self.unchanged = 0
        self.problems: list[tuple[int, str, str]] = []

    def problem(self, row: int, column: str, text: str) -> None:
        self.problems.append((row, column, text))

    def unique(self, records: list[Record], key: Callable[[dict[str, Any]], Any], column: str,
               what: str) -> None:
        first: dict[Any, int] = {}
        for row, rec in records:
            k = key(rec)
            if k in first:
                shown = " / ".join(map(str, k)) if isinstance(k, tuple) else k
                self.problem(row, column, f"duplicate {what} {shown} (also on row {first[k]})")
            else:
                first[k] = row

    def existing(self, cols: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        t = self.table
        q = select(t.c[self.key], *(t.c[c] for c in cols))
        return {r[0]: dict(r._mapping) for r in self.conn.execute(q)}

    def upsert(self, records: list[Record], values: Callable[[dict[str, Any]], dict[str, Any]]
               ) -> tuple[list[dict[str, Any]], list[str]]:
        """Insert new rows, update changed ones (only the columns the file has).

        Returns the new rows and the keys of the changed ones.
        """
        cols = tuple(c for c in self.fields if c in self.present_columns())
        old = self.existing(tuple(self.fields))
        new_rows, changed = [], []
        for _, rec in records:
            vals = values(rec)
            current = old.get(vals[self.key])
            if current is None:
                new_rows.append(vals)
            else:
                diff = {c: vals[c] for c in cols if vals[c] != current[c]}
                if diff:
                    if "updated_at" in self.table.c:
                        diff["updated_at"] = self.ch.now
                    changed.append({"b_key": vals[self.key], **diff})
                else:
                    self.unchanged += 1
        if new_rows:
            self.conn.execute(insert(self.table), new_rows)
        keys = []
        for row in changed:  # few, usually; each names only its changed columns
            key = row.pop("b_key")
            keys.append(key)
            self.conn.execute(update(self.table).where(self.table.c[self.key] == key).values(**row))
        self.created, self.updated = len(new_rows), len(changed)
        return new_rows, keys

    @abstractmethod
    def check(self, records: list[Record]) -> None:
        """Look at every record against the registry; problems go to `self.problems`."""

    @abstractmethod
    def apply(self, records: list[Record]) -> None:
        """Write the records (checked already) and count what was created and updated."""

    def present_columns(self) -> set[str]:
        return self.present

    def settle(self, by_region: dict[str, list[str]], what: str) -> None:
        """Let the named schools catch up, region by region, flushing as it goes.

        A region still on one of its own steps (1-3) holds its schools on that step: there is
        nothing for them to complete, so it is passed over. Each region's machines are written
        and released before the next (one transaction still), so memory stays flat.
        """
        cause = f"import {what}: {self.source}" if self.source else f"import {what}"
        for region, codes in sorted(by_region.items()):
            machine = self.ch.machine("region", region)
            if machine is None or not self.ch.schools_can_move(machine):
                continue
            self.ch.settle_schools(region, codes, cause)
            self.ch.flush()
            self.ch.release(region)


class Regions(Applier):
    table = regions
    fields = ("code", "name", "timezone")

    def check(self, records: list[Record]) -> None:
        self.unique(records, lambda r: r["code"], "code", "region code")

    def apply(self, records: list[Record]) -> None:
        new, _ = self.upsert(records, lambda r: {"code": r["code"], "name": r["name"],
                                                 "timezone": r.get("timezone") or "Europe/Moscow"})
        if new:
            repo.insert_machines(self.conn, new_machine_rows(
                "region", [(r["code"], r["code"]) for r in new], self.ch.now, self.ch.policies))


class Municipalities(Applier):
    table = municipalities
    fields = ("code", "region_code", "name", "timezone")

    def check(self, records: list[Record]) -> None:
        self.unique(records, lambda r: r["code"], "code", "municipality code")
        known = _codes(self.conn, regions)
        homes = dict(self.conn.execute(select(municipalities.c.code, municipalities.c.region_code))
                     .all())
        for row, rec in records:
            if rec["region"] not in known:
                self.problem(row, "region", f"unknown region {rec['region']!r} (import regions "
                             "first)")
            elif homes.get(rec["code"], rec["region"]) != rec["region"]:
                self.problem(row, "region", f"municipality {rec['code']} is in region "
                             f"{homes[rec['code']]}; moving it to another region is not supported")

    def apply(self, records: list[Record]) -> None:
        self.upsert(records, lambda r: {"code": r["code"], "region_code": r["region"],
                                        "name": r["name"], "timezone": r.get("timezone")})

    def present_columns(self) -> set[str]:
        return self.present | {"region_code"}


class Schools(Applier):
    table = schools
    fields = ("code", "region_code", "municipality_code", "name", "inn", "kpp", "parent_code",
              "teachers_expected", "classes_expected", "students_expected", "parents_expected",
              "timezone")
    RENAME = {"region": "region_code", "municipality": "municipality_code",
              "parent": "parent_code"}

    def check(self, records: list[Record]) -> None:
        self.unique(records, lambda r: r["code"], "code", "school code")
        with_kpp = [(n, r) for n, r in records if r.get("inn") and r.get("kpp")]
        self.unique(with_kpp, lambda r: (r["inn"], r["kpp"]), "kpp", "INN/KPP pair")
        known_regions = _codes(self.conn, regions)
        munis = dict(self.conn.execute(select(municipalities.c.code, municipalities.c.region_code))
                     .all())
        stored = {r.code: r for r in self.conn.execute(
            select(schools.c.code, schools.c.region_code, schools.c.parent_code, schools.c.inn,
                   schools.c.kpp))}
        in_file = {r["code"]: r for _, r in records}
        # An INN/KPP pair names one organisation: also against schools this file leaves alone.
        pairs = {(r.inn, r.kpp): code for code, r in stored.items()
                 if r.inn and r.kpp and code not in in_file}
        for row, rec in with_kpp:
            other = pairs.get((rec["inn"], rec["kpp"]))
            if other:
                self.problem(row, "kpp", f"INN/KPP pair {rec['inn']} / {rec['kpp']} is already "
                             f"school {other}'s")
        # Stored branches that this file leaves alone: their main school must stay a main school.
        branches: dict[str, list[str]] = defaultdict(list)
        for code, old_row in stored.items():
            if old_row.parent_code and code not in in_file:
                branches[old_row.parent_code].append(code)
        for row, rec in records:
            if rec.get("parent") and rec["code"] in branches:
                self.problem(row, "parent", f"{rec['code']} is the main school of "
                             f"{', '.join(sorted(branches[rec['code']]))}; a branch cannot have "
                             "branches of its own")
            region = rec["region"]
            if region not in known_regions:
                self.problem(row, "region", f"unknown region {region!r} (import regions first)")
            old = stored.get(rec["code"])
            if old is not None and old.region_code != region:
                self.problem(row, "region", f"school {rec['code']} is in region "
                             f"{old.region_code}; moving it to another region is not supported")
            muni = rec.get("municipality")
            if muni and muni not in munis:
                self.problem(row, "municipality", f"unknown municipality {muni!r}")
            elif muni and munis[muni] != region:
                self.problem(row, "municipality", f"municipality {muni} is in region "
                             f"{munis[muni]}, not {region}")
            self._check_parent(row, rec, in_file, stored)

    def _check_parent(self, row: int, rec: dict[str, Any], in_file: dict[str, Any],
                      stored: dict[str, Any]) -> None:
        parent = rec.get("parent")
        if not parent:
            return
        if parent == rec["code"]:
            self.problem(row, "parent", "a school cannot be its own main school")
            return
        main = in_file.get(parent) or (stored[parent]._asdict() if parent in stored else None)
        if main is None:
            self.problem(row, "parent", f"unknown main school {parent!r} (not in this file "
                         "nor in the registry)")
            return
        main_region = main.get("region") or main.get("region_code")
        main_parent = main.get("parent") or main.get("parent_code")
        if main_region != rec["region"]:
            self.problem(row, "parent", f"main school {parent} is in region {main_region}")
        elif main_parent:
            self.problem(row, "parent", f"{parent} is itself a branch of {main_parent}; "
                         "link the branch to the main school")
        elif rec.get("inn") and main.get("inn") and rec["inn"] != main["inn"]:
            self.problem(row, "inn", f"a branch shares its main school's INN ({main['inn']}); "
                         "it has its own KPP")

    def apply(self, records: list[Record]) -> None:
        def values(r: dict[str, Any]) -> dict[str, Any]:
            v = {self.RENAME.get(k, k): r.get(k) for k in (
                "code", "region", "municipality", "name", "inn", "kpp", "parent",
                "teachers_expected", "classes_expected", "students_expected", "timezone")}
            v["parents_expected"] = (r["parents_expected"] if r.get("parents_expected")
                                     is not None else r["students_expected"])
            return v

        # Main schools first, so that a branch's foreign key finds its main school.
        ordered = sorted(records, key=lambda nr: bool(nr[1].get("parent")))
        new, _ = self.upsert(ordered, values)
        if new:
            repo.insert_machines(self.conn, new_machine_rows(
                "school", [(r["code"], r["region_code"]) for r in new], self.ch.now,
                self.ch.policies))
            by_region: dict[str, list[str]] = defaultdict(list)
            for r in new:
                by_region[r["region_code"]].append(r["code"])
            for region, codes in by_region.items():
                machine = self.ch.machine("region", region)
                if machine and any(v in FINISHED for v in machine.statuses.values()):
                    # the region has moved: its new schools mirror it
                    self.ch.settle_schools(region, codes, f"import schools: new in {region}")

    def present_columns(self) -> set[str]:
        cols = {self.RENAME.get(c, c) for c in self.present}
        if "students_expected" in cols:
            cols.add("parents_expected")
        return cols


class People(Applier):
    table = people
    key = "email"
    fields = ("email", "name", "position", "organisation", "phone")

    def check(self, records: list[Record]) -> None:
        self.unique(records, lambda r: (r["email"], r["role"], r.get("scope") or ""), "email",
                    "person and role")
        names: dict[str, tuple[int, str]] = {}
        scopes = {kind: _codes(self.conn, t) for kind, t in (
            ("region", regions), ("municipality", municipalities), ("school", schools))}
        for row, rec in records:
            first = names.setdefault(rec["email"], (row, rec["name"]))
            if first[1] != rec["name"]:
                self.problem(row, "name", f"{rec['email']} is {first[1]!r} on row {first[0]}")
            role, scope = Role(rec["role"]), rec.get("scope")
            if role in GLOBAL_ROLES:
                if scope:
                    self.problem(row, "scope", f"{role} is a global role; leave scope empty")
            elif not scope:
                self.problem(row, "scope", f"{role} needs a {SCOPE_KIND[role]} code")
            elif scope not in scopes[SCOPE_KIND[role]]:
                self.problem(row, "scope", f"unknown {SCOPE_KIND[role]} {scope!r} for {role}")

    def apply(self, records: list[Record]) -> None:
        unique_people = {r["email"]: r for _, r in records}
        self.upsert([(0, r) for r in unique_people.values()],
                    lambda r: {"email": r["email"], "name": r["name"],
                               "position": r.get("position"),
                               "organisation": r.get("organisation"), "phone": r.get("phone")})
        held = {(r.email, r.role, r.scope) for r in self.conn.execute(
            select(assignments.c.email, assignments.c.role, assignments.c.scope))}
        new = [{"email": r["email"], "role": r["role"], "scope": r.get("scope") or "",
                "since": self.ch.now} for _, r in records
               if (r["email"], r["role"], r.get("scope") or "") not in held]
        if new:
            self.conn.execute(insert(assignments), new)
        self.assigned = len(new)
        admins: dict[str, list[str]] = defaultdict(list)
        region_of = dict(self.conn.execute(select(schools.c.code, schools.c.region_code))
                         .all()) if new else {}
        for a in new:
            kind = SCOPE_KIND.get(Role(a["role"]))
            self.ch.record(event="PersonAssigned", kind=kind, code=a["scope"] or None,
                           region_code=_region_of(self.conn, kind, a["scope"], region_of),
                           actor=OPERATOR, reason=f"{a['role']} {a['email']}",
                           trigger="import people", data={"role": a["role"], "email": a["email"]})
            if a["role"] == "school_admin":
                admins[region_of[a["scope"]]].append(a["scope"])
        self.settle(admins, "people")


class Metrics(Applier):
    table = metrics
    key = "school_code"
    fields = ("school_code", "teachers", "classes", "parents", "students")

    def check(self, records: list[Record]) -> None:
        self.unique(records, lambda r: r["school"], "school", "school")
        known = _codes(self.conn, schools)
        for row, rec in records:
            if rec["school"] not in known:
                self.problem(row, "school", f"unknown school {rec['school']!r}")

    def apply(self, records: list[Record]) -> None:
        old = self.existing(self.fields)
        merged = []
        for n, r in records:
            base = old.get(r["school"], {})
            merged.append((n, {"school_code": r["school"], "updated_at": self.ch.now, **{
                m: (r[m] if r.get(m) is not None else base.get(m, 0) or 0)
                for m in ("teachers", "classes", "parents", "students")}}))
        new, changed = self.upsert(merged, lambda r: r)
        # The new counts go into the history, so that `audit verify` can check the table.
        counts = {r["school_code"]: r for _, r in merged}
        self.history_data = {"metrics": {code: [counts[code][m] for m in repo.METRIC_NAMES]
                                         for code in [r["school_code"] for r in new] + changed}}
        # Every school in the file is looked at again, changed or not: a reopened step whose
        # evidence holds completes on the next metrics file.
        touched = [r["school"] for _, r in records]
        region_of = dict(self.conn.execute(select(schools.c.code, schools.c.region_code))
                         .all())
        by_region: dict[str, list[str]] = defaultdict(list)
        for code in touched:
            by_region[region_of[code]].append(code)
        self.settle(by_region, "metrics")

    def present_columns(self) -> set[str]:
        return {"teachers", "classes", "parents", "students"}


def _codes(conn: Connection, table: Any) -> set[str]:
    return set(conn.execute(select(table.c.code)).scalars())


def _region_of(conn: Connection, kind: str | None, scope: str, schools_regions: dict[str, str]
               ) -> str | None:
    if kind == "region":
        return scope
    if kind == "school":
        return schools_regions.get(scope)
    if kind == "municipality":
        return conn.execute(select(municipalities.c.region_code)
                            .where(municipalities.c.code == scope)).scalar()
    return None


APPLIERS: dict[str, type[Applier]] = {"regions": Regions, "municipalities": Municipalities,
                                      "schools": Schools, "people": People, "metrics": Metrics}
__all__ = ["APPLIERS", "Applier"]

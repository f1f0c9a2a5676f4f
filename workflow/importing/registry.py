"""The imports that reference other rows: municipalities, schools and branches, people."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select

from states import FINISHED, GLOBAL_ROLES, SCOPE_KIND, Role, acting_role
from storage import repo
from storage.bulk import select_in
from storage.models import assignments, municipalities, people, regions, schools
from workflow.engine import new_machine_values
from workflow.i18n import N_, _
from workflow.importing.apply import IN_CHUNK, Applier, Metrics, Regions, codes, lookup
from workflow.importing.removals import remove_missing
from workflow.importing.stage import Record, Stage

# The code a role's scope needs, as a phrase: "a region's code".
SCOPE_CODES = {"region": N_("a region's code"), "municipality": N_("a municipality's code"),
               "school": N_("a school's code")}


class Municipalities(Applier):
    table = municipalities
    fields = ("code", "region_code", "name", "timezone")

    def check(self, stage: Stage) -> None:
        self.unique(stage, "code", N_("municipality code"))
        known = codes(self.conn, regions)
        for chunk in stage.chunks():
            homes = lookup(self.conn, municipalities, "code", [r["code"] for _, r in chunk],
                           ("region_code",))
            for row, rec in chunk:
                home = homes.get(rec["code"], {}).get("region_code", rec["region"])
                if rec["region"] not in known:
                    self.problem(row, "region", _("unknown region {code} (import the regions "
                                                  "first)", code=repr(rec["region"])))
                elif home != rec["region"]:
                    self.problem(row, "region", _("municipality {code} belongs to region "
                                                  "{region}; moving it to another region is "
                                                  "not supported", code=rec["code"],
                                                  region=home))

    def apply(self, stage: Stage) -> None:
        for chunk in stage.chunks():
            self.upsert(chunk, lambda r: {"code": r["code"], "region_code": r["region"],
                                          "name": r["name"], "timezone": r.get("timezone")})
            self.boundary(len(chunk))

    def present_columns(self) -> set[str]:
        return self.present | {"region_code"}


class Schools(Applier):
    table = schools
    fields = ("code", "region_code", "municipality_code", "name", "inn", "kpp", "parent_code",
              "teachers_expected", "classes_expected", "students_expected", "parents_expected",
              "timezone")
    STORED = ("region_code", "parent_code", "inn", "kpp")
    RENAME = {"region": "region_code", "municipality": "municipality_code",
              "parent": "parent_code"}

    def check(self, stage: Stage) -> None:
        self.unique(stage, "code", N_("school code"))
        self.unique(stage, "kpp", N_("ИНН/КПП pair"), "inn", "kpp")
        known_regions = codes(self.conn, regions)
        for chunk in stage.chunks():
            self._check_chunk(stage, chunk, known_regions)

    def _check_chunk(self, stage: Stage, chunk: list[Record], known_regions: set[str]) -> None:
        recs = [r for _, r in chunk]
        munis = lookup(self.conn, municipalities, "code", [r.get("municipality") for r in recs],
                       ("region_code",))
        refs = {r["code"] for r in recs} | {r["parent"] for r in recs if r.get("parent")}
        stored = lookup(self.conn, schools, "code", list(refs), self.STORED)
        in_file = stage.lookup("code", [r["parent"] for r in recs if r.get("parent")],
                               ("code", "region", "parent", "inn"))
        # An пара ИНН/КПП names one organisation: also against schools this file leaves alone.
        pairs = {(r["inn"], r["kpp"]) for r in recs if r.get("inn") and r.get("kpp")}
        holders: dict[tuple[Any, Any], str] = dict(self._pair_holders(pairs))
        # Stored branches of the chunk's branches: у филиала не может быть своих филиалов.
        branches: dict[str, list[str]] = defaultdict(list)
        with_parent = [r["code"] for r in recs if r.get("parent")]
        for code, parent in select_in(self.conn, schools, ("code", "parent_code"),
                                      "parent_code", with_parent, chunk=IN_CHUNK):
            branches[parent].append(code)
        left_alone = self._not_in_file(stage, {c for cs in branches.values() for c in cs}
                                       | set(holders.values()))
        for row, rec in chunk:
            other = holders.get((rec.get("inn"), rec.get("kpp")))
            if other and other in left_alone:
                self.problem(row, "kpp", _("the ИНН/КПП pair {inn} / {kpp} already belongs to "
                                           "school {other}", inn=rec["inn"], kpp=rec["kpp"],
                                           other=other))
            kept = sorted(c for c in branches.get(rec["code"], ()) if c in left_alone)
            if rec.get("parent") and kept:
                self.problem(row, "parent", _("{code} is the main school of {branches}; a "
                                              "branch cannot have branches of its own",
                                              code=rec["code"], branches=", ".join(kept)))
            region = rec["region"]
            if region not in known_regions:
                self.problem(row, "region", _("unknown region {code} (import the regions "
                                              "first)", code=repr(region)))
            old = stored.get(rec["code"])
            if old is not None and old["region_code"] != region:
                self.problem(row, "region", _("school {code} belongs to region {region}; "
                                              "moving it to another region is not supported",
                                              code=rec["code"], region=old["region_code"]))
            muni = rec.get("municipality")
            if muni and muni not in munis:
                self.problem(row, "municipality", _("unknown municipality {code}",
                                                    code=repr(muni)))
            elif muni and munis[muni]["region_code"] != region:
                self.problem(row, "municipality", _(
                    "municipality {code} belongs to region {region}, not {wanted}", code=muni,
                    region=munis[muni]["region_code"], wanted=region))
            self._check_parent(row, rec, in_file, stored)

    def _pair_holders(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored schools holding one of the INN/KPP pairs."""
        out = {}
        inns = sorted({p[0] for p in pairs})
        for code, inn, kpp in select_in(self.conn, schools, ("code", "inn", "kpp"), "inn", inns,
                                        chunk=IN_CHUNK):
            if (inn, kpp) in pairs:
                out[(inn, kpp)] = code
        return out

    @staticmethod
    def _not_in_file(stage: Stage, stored_codes: set[str]) -> set[str]:
        present = stage.lookup("code", sorted(stored_codes), ("code",))
        return stored_codes - set(present)

    def _check_parent(self, row: int, rec: dict[str, Any], in_file: dict[str, Any],
                      stored: dict[str, Any]) -> None:
        parent = rec.get("parent")
        if not parent:
            return
        if parent == rec["code"]:
            self.problem(row, "parent", _("a school cannot be its own main school"))
            return
        main = in_file.get(parent) or stored.get(parent)
        if main is None:
            self.problem(row, "parent", _("unknown main school {code} (neither in this file "
                                          "nor in the registry)", code=repr(parent)))
            return
        main_region = main.get("region") or main.get("region_code")
        main_parent = main.get("parent") or main.get("parent_code")
        if main_region != rec["region"]:
            self.problem(row, "parent", _("the main school {code} belongs to region {region}",
                                          code=parent, region=main_region))
        elif main_parent:
            self.problem(row, "parent", _("{code} is itself a branch of {main}; link the "
                                          "branch to the main school", code=parent,
                                          main=main_parent))
        elif rec.get("inn") and main.get("inn") and rec["inn"] != main["inn"]:
            self.problem(row, "inn", _("a branch carries its main school's ИНН ({inn}); a "
                                       "branch has its own КПП", inn=main["inn"]))

    def apply(self, stage: Stage) -> None:
        # The stored columns straight from the stage, as tuples: its names RENAMEd back, and
        # parents_expected the students' count where the file leaves it out.
        staged = {column: name for name, column in self.RENAME.items()}
        select_ = [f'"{staged.get(c, c)}"' for c in self.fields]
        select_[self.fields.index("parents_expected")] = \
            'COALESCE("parents_expected", "students_expected")'
        # Main schools first, so that a branch's foreign key finds its main school.
        for chunk in stage.tuples(select_, order='"parent" IS NOT NULL, n'):
            new = self.upsert_rows(self.fields, chunk)
            self._machines([(r[0], r[1]) for r in new])  # fields: code, region_code first
            self.boundary(len(chunk))

    def _machines(self, new: list[tuple[str, str]]) -> None:
        """The new schools' machines, by (code, region); in a region that has moved they
        mirror it at once."""
        if new:
            repo.insert_new_machines(self.conn, "school", new,
                                     new_machine_values(self.ch.now, self.ch.policies))
            grouped: dict[str, list[str]] = defaultdict(list)
            for code, region in new:
                grouped[region].append(code)
            # the chunk's regions read in one query, not one each (a chunk spans several)
            self.ch.preload(*repo.machines_of(self.conn, "region", grouped))
            for region, region_codes in grouped.items():
                machine = self.ch.machine("region", region)
                if machine and any(v in FINISHED for v in machine.statuses.values()):
                    self.ch.settle_schools(region, region_codes,
                                           f"import schools: new in {region}")
                    self.ch.flush()
                    self.ch.release(region)

    def present_columns(self) -> set[str]:
        cols = {self.RENAME.get(c, c) for c in self.present}
        if "students_expected" in cols:
            cols.add("parents_expected")
        return cols


class People(Applier):
    table = people
    key = "email"
    fields = ("email", "name", "position", "organisation", "phone")

    def prepare(self, rec: dict[str, Any]) -> dict[str, Any]:
        rec["scope"] = rec.get("scope") or ""  # global roles: '' as in assignments
        return rec

    def check(self, stage: Stage) -> None:
        self.unique(stage, "email", N_("person and role"), "email", "role", "scope")
        first = ("SELECT r.n, r.email, f.name, f.n FROM rows r JOIN rows f ON f.n = "
                 "(SELECT MIN(n) FROM rows WHERE email = r.email) WHERE r.name != f.name")
        stage.index("email")
        for row, email, name, first_row in stage.query(first):
            self.problem(row, "name", _("{email} is written as {name} in row {row}",
                                        email=email, name=repr(name), row=first_row))
        known_regions = codes(self.conn, regions)
        for chunk in stage.chunks():
            wanted: dict[str, list[str]] = defaultdict(list)
            for _row, rec in chunk:
                kind = SCOPE_KIND.get(Role(rec["role"]))
                if kind and rec["scope"]:
                    wanted[kind].append(rec["scope"])
            scopes = {"region": known_regions,
                      "municipality": set(lookup(self.conn, municipalities, "code",
                                                 wanted["municipality"], ())),
                      "school": set(lookup(self.conn, schools, "code", wanted["school"], ()))}
            for row, rec in chunk:
                role, scope = Role(rec["role"]), rec["scope"]
                if role in GLOBAL_ROLES:
                    if scope:
                        self.problem(row, "scope", _("{role} is a global role; leave scope "
                                                     "empty", role=role.value))
                elif not scope:
                    self.problem(row, "scope", _("the role {role} needs {what}",
                                                 role=role.value,
                                                 what=_(SCOPE_CODES[SCOPE_KIND[role]])))
                elif scope not in scopes[SCOPE_KIND[role]]:
                    self.problem(row, "scope", _("unknown code {code} for the role {role} "
                                                 "({what} is needed)", code=repr(scope),
                                                 role=role.value,
                                                 what=_(SCOPE_CODES[SCOPE_KIND[role]])))

    def apply(self, stage: Stage) -> None:
        firsts = "n IN (SELECT MIN(n) FROM rows GROUP BY email)"
        for chunk in stage.chunks(where=firsts):
            self.upsert(chunk, lambda r: {"email": r["email"], "name": r["name"],
                                          "position": r.get("position"),
                                          "organisation": r.get("organisation"),
                                          "phone": r.get("phone")})
            self.boundary(len(chunk))
        admins: dict[str, list[str]] = defaultdict(list)
        for chunk in stage.chunks():
            self._assign(chunk, admins)
            self.boundary(len(chunk))
        if self.remove_missing:
            remove_missing(self, stage)
        self.settle(admins, "people")

    def _assign(self, chunk: list[Record], admins: dict[str, list[str]]) -> None:
        emails = [r["email"] for _, r in chunk]
        held = set()
        for start in range(0, len(emails), 900):
            q = (select(assignments.c.email, assignments.c.role, assignments.c.scope)
                 .where(assignments.c.email.in_(sorted(set(emails[start:start + 900])))))
            held |= {tuple(r) for r in self.conn.execute(q)}
        new = [{"email": r["email"], "role": r["role"], "scope": r["scope"],
                "since": self.ch.now} for _, r in chunk
               if (r["email"], r["role"], r["scope"]) not in held]
        # Every school admin of the file, new or not, lets the school catch up: an import
        # killed between its parts, run again, finishes what the first run owed.
        held_admins = [r["scope"] for _, r in chunk if r["role"] == "school_admin"
                       and (r["email"], r["role"], r["scope"]) in held]
        for code, r in lookup(self.conn, schools, "code", held_admins, ("region_code",)).items():
            admins[r["region_code"]].append(code)
        if not new:
            return
        self.conn.execute(insert(assignments), new)
        self.assigned += len(new)
        region_of = {c: r["region_code"] for c, r in lookup(
            self.conn, schools, "code", [a["scope"] for a in new], ("region_code",)).items()}
        muni_region = {c: r["region_code"] for c, r in lookup(
            self.conn, municipalities, "code", [a["scope"] for a in new],
            ("region_code",)).items()}
        for a in new:
            kind = SCOPE_KIND.get(Role(a["role"]))
            region = {"region": a["scope"], "school": region_of.get(a["scope"]),
                      "municipality": muni_region.get(a["scope"])}.get(kind or "")
            verdict = self.verdicts.get((a["role"], a["scope"]))
            self.ch.record(event="PersonAssigned", kind=kind, code=a["scope"] or None,
                           region_code=region, actor=self.actor,
                           role=acting_role(verdict) if verdict is not None else None,
                           reason=f"{a['role']} {a['email']}", trigger="import people",
                           data={"role": a["role"], "email": a["email"]})
            if a["role"] == "school_admin":
                admins[region_of[a["scope"]]].append(a["scope"])
        self.ch.flush()


APPLIERS: dict[str, type[Applier]] = {"regions": Regions, "municipalities": Municipalities,
                                      "schools": Schools, "people": People, "metrics": Metrics}
__all__ = ["APPLIERS", "Municipalities", "People", "Schools"]

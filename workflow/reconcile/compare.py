"""Compare the coordinator's list with the registry: matched by ИНН+КПП, then by normalised
name; what to add, remove, re-link, change, and what could not be matched."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from workflow.reconcile.listfile import ListRow

_QUOTES = re.compile(r"[«»\"„“”‟'`‘’]")
_SEPARATORS = re.compile(r"[\s.,;:()]+")
_INN_KPP = re.compile(r"^(\d{10})(?:\s*[/\\,; ]\s*(\d{9}))?$")


def normalise(name: str) -> str:
    """A name as compared: case, ё/е, quotes, «№ 4»/«№4» and spacing do not matter; the
    abbreviations (МБОУ, МАОУ, СОШ…) stay, since МБОУ → МАОУ is a real change of type."""
    s = _QUOTES.sub(" ", name.casefold().replace("ё", "е"))
    s = re.sub(r"№\s*", "№", s)
    s = re.sub(r"\s*-\s*", "-", s)
    return _SEPARATORS.sub(" ", s).strip()


@dataclass(frozen=True)
class RegistrySchool:
    code: str
    name: str
    inn: str | None = None
    kpp: str | None = None
    municipality: str | None = None  # code
    parent: str | None = None  # code


@dataclass
class Result:
    """The discrepancies, each a JSON-ready dict with `kind`; `matched` pairs list rows to codes."""

    add: list[dict[str, Any]] = field(default_factory=list)
    remove: list[dict[str, Any]] = field(default_factory=list)
    relink: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    matched: int = 0

    @property
    def items(self) -> list[dict[str, Any]]:
        return self.add + self.remove + self.relink + self.changed + self.unmatched

    def counts(self) -> dict[str, int]:
        return {"add": len(self.add), "remove": len(self.remove), "relink": len(self.relink),
                "changed": len(self.changed), "unmatched": len(self.unmatched),
                "matched": self.matched}


class _Comparison:
    def __init__(self, rows: list[ListRow], schools: list[RegistrySchool],
                 municipalities: dict[str, str], has_parent: bool) -> None:
        self.rows, self.schools, self.munis, self.has_parent = rows, schools, municipalities, \
            has_parent
        self.by_code = {s.code: s for s in schools}
        self.muni_by_name: dict[str, list[str]] = defaultdict(list)
        for code, name in municipalities.items():
            self.muni_by_name[normalise(name)].append(code)
        self.match: dict[int, str] = {}  # list row -> registry code
        self.taken: set[str] = set()
        self.result = Result()

    # -- matching
    def run(self) -> Result:
        by_pair: dict[tuple[str, str], list[str]] = defaultdict(list)
        by_name: dict[str, list[str]] = defaultdict(list)
        for s in self.schools:
            if s.inn and s.kpp:
                by_pair[(s.inn, s.kpp)].append(s.code)
            by_name[normalise(s.name)].append(s.code)
        seen: dict[tuple[str, str], int] = {}
        pending = []
        for r in self.rows:
            if r.inn and r.kpp:
                if (r.inn, r.kpp) in seen:
                    self._unmatched_row(r, f"ИНН {r.inn} и КПП {r.kpp} уже есть в строке "
                                        f"{seen[(r.inn, r.kpp)]} списка")
                    continue
                seen[(r.inn, r.kpp)] = r.row
                codes = [c for c in by_pair.get((r.inn, r.kpp), []) if c not in self.taken]
                if len(codes) == 1:
                    self._pair(r, codes[0])
                    continue
            pending.append(r)
        by_inn: dict[str, list[str]] = defaultdict(list)
        for s in self.schools:
            if s.inn:
                by_inn[s.inn].append(s.code)
        list_inns = Counter(r.inn for r in self.rows if r.inn)
        ambiguous: set[str] = set()
        for r in pending:
            if r.code and r.code in self.by_code and r.code not in self.taken:
                self._pair(r, r.code)
                continue
            if r.inn and not r.kpp and list_inns[r.inn] == 1:  # a list without КПП
                codes = [c for c in by_inn.get(r.inn, []) if c not in self.taken]
                if len(codes) == 1:  # a branch shares its ИНН: only a unique one tells
                    self._pair(r, codes[0])
                    continue
            names = {normalise(r.name)} | ({normalise(r.short_name)} if r.short_name else set())
            codes = [c for n in names for c in by_name.get(n, []) if c not in self.taken
                     and self._compatible(r, self.by_code[c])]
            codes = sorted(set(codes))
            if len(codes) > 1:  # the same name in several municipalities: the list's decides
                muni = self._muni(r.municipality)
                codes = [c for c in codes if muni and self.by_code[c].municipality == muni]
            if len(codes) == 1:
                self._pair(r, codes[0])
            elif len(codes) > 1 or self._ambiguous(r, names, by_name):
                found = sorted(c for n in names for c in by_name.get(n, []))
                ambiguous.update(c for c in found if c not in self.taken)
                self._unmatched_row(r, "в реестре несколько ОО с таким наименованием ("
                                    + ", ".join(found) + "), укажите ИНН и КПП")
            else:
                self._add(r)
        for s in self.schools:
            if s.code in self.taken:
                continue
            if s.code in ambiguous:
                self.result.unmatched.append({**self._school(s), "kind": "unmatched",
                                              "side": "registry", "problem":
                                              "не удалось однозначно сопоставить со списком"})
            else:
                self.result.remove.append({**self._school(s), "kind": "remove"})
        self._links()
        return self.result

    def _ambiguous(self, r: ListRow, names: set[str], by_name: dict[str, list[str]]) -> bool:
        found = [c for n in names for c in by_name.get(n, []) if c not in self.taken
                 and self._compatible(r, self.by_code[c])]
        return len(set(found)) > 1

    @staticmethod
    def _compatible(r: ListRow, s: RegistrySchool) -> bool:
        """Two schools with different ИНН/КПП on both sides are different schools, whatever
        their names (МБОУ «СОШ № 1» exists in every district)."""
        return not (r.inn and r.kpp and s.inn and s.kpp and (r.inn, r.kpp) != (s.inn, s.kpp))

    def _pair(self, r: ListRow, code: str) -> None:
        self.match[r.row] = code
        self.taken.add(code)
        self.result.matched += 1
        s = self.by_code[code]
        fields: dict[str, dict[str, str | None]] = {}
        if normalise(s.name) not in {normalise(r.name), normalise(r.short_name or r.name)}:
            fields["name"] = {"registry": s.name, "list": r.name}
        for f in ("inn", "kpp"):
            mine, theirs = getattr(s, f), getattr(r, f)
            if theirs and mine != theirs:
                fields[f] = {"registry": mine, "list": theirs}
        if fields:
            self.result.changed.append({**self._school(s), "kind": "changed", "row": r.row,
                                        "fields": fields, "to_name": r.name})

    # -- municipalities and main schools of the matched schools
    def _links(self) -> None:
        rows = {r.row: r for r in self.rows}
        for number, code in self.match.items():
            r, s = rows[number], self.by_code[code]
            if r.municipality:
                muni = self._muni(r.municipality, s.municipality)
                if muni is None:
                    self._unmatched_row(r, self._muni_problem(r.municipality), s)
                elif muni != s.municipality:
                    self.result.relink.append({
                        **self._school(s), "kind": "relink", "what": "municipality",
                        "row": r.row, "from": self._muni_ref(s.municipality),
                        "to": self._muni_ref(muni)})
            if not self.has_parent:
                continue
            target, problem = self._parent(r)
            if problem:
                self._unmatched_row(r, problem, s)
            elif target != (s.parent or None):
                self.result.relink.append({
                    **self._school(s), "kind": "relink", "what": "parent", "row": r.row,
                    "from": self._school_ref(s.parent), "to": self._parent_ref(r, target)})

    def _parent(self, r: ListRow) -> tuple[str | None, str | None]:
        """The main school's registry code (None: not a branch, or a school to be added)."""
        if not r.parent:
            return None, None
        row = self._find_row(r.parent)
        if row is not None:
            return self.match.get(row.row), None
        if r.parent.strip() in self.by_code:  # rollout's own code, as our reports print it
            return r.parent.strip(), None
        m = _INN_KPP.match(r.parent.strip())
        codes = [s.code for s in self.schools if (
            (s.inn == m.group(1) and (m.group(2) is None or s.kpp == m.group(2))) if m
            else normalise(s.name) == normalise(r.parent))]
        if len(codes) == 1:
            return codes[0], None
        return None, (f"головная организация «{r.parent}» не найдена ни в списке, ни в реестре"
                      if not codes else f"головная организация «{r.parent}» неоднозначна")

    def _find_row(self, ref: str) -> ListRow | None:
        by_code = [x for x in self.rows if x.code and x.code == ref.strip()]
        if len(by_code) == 1:
            return by_code[0]
        m = _INN_KPP.match(ref.strip())
        if m:
            found = [x for x in self.rows if x.inn == m.group(1)
                     and (m.group(2) is None or x.kpp == m.group(2))]
            if m.group(2) is None:  # an ИНН alone names the main school, not its branches
                found = [x for x in found if not x.parent] or found
        else:
            key = normalise(ref)
            found = [x for x in self.rows if key in (normalise(x.name),
                                                     normalise(x.short_name or x.name))]
        return found[0] if len(found) == 1 else None

    # -- adding
    def _add(self, r: ListRow) -> None:
        muni = self._muni(r.municipality) if r.municipality else None
        if r.municipality and muni is None:
            self._unmatched_row(r, self._muni_problem(r.municipality))
            return
        item: dict[str, Any] = {"kind": "add", "row": r.row, "code": None, "name": r.name,
                                "short_name": r.short_name, "inn": r.inn, "kpp": r.kpp,
                                "ogrn": r.ogrn, "municipality": self._muni_ref(muni),
                                "parent": None}
        if r.parent:
            target, problem = self._parent(r)
            if problem:
                self._unmatched_row(r, problem)
                return
            item["parent"] = self._parent_ref(r, target)
        self.result.add.append(item)

    # -- helpers
    def _muni(self, text: str | None, current: str | None = None) -> str | None:
        """A municipality by code or name; of several with one name, the school's own."""
        if not text:
            return None
        if text.strip() in self.munis:
            return text.strip()
        codes = self.muni_by_name.get(normalise(text), [])
        if len(codes) > 1 and current in codes:
            return current
        return codes[0] if len(codes) == 1 else None

    def _muni_problem(self, text: str) -> str:
        codes = self.muni_by_name.get(normalise(text), [])
        if codes:
            return (f"муниципалитетов с названием «{text}» в регионе несколько "
                    f"({', '.join(sorted(codes))}): укажите код")
        return f"муниципалитет «{text}» не найден среди муниципалитетов региона"

    def _muni_ref(self, code: str | None) -> dict[str, str] | None:
        return {"code": code, "name": self.munis.get(code, code)} if code else None

    def _school_ref(self, code: str | None) -> dict[str, Any] | None:
        s = self.by_code.get(code) if code else None
        return {"code": s.code, "name": s.name, "inn": s.inn, "kpp": s.kpp} if s else None

    def _parent_ref(self, r: ListRow, code: str | None) -> dict[str, Any] | None:
        if code:
            return self._school_ref(code)
        row = self._find_row(r.parent) if r.parent else None
        if row is None:
            return None
        return {"code": None, "name": row.name, "inn": row.inn, "kpp": row.kpp}

    @staticmethod
    def _school(s: RegistrySchool) -> dict[str, Any]:
        return {"code": s.code, "name": s.name, "inn": s.inn, "kpp": s.kpp}

    def _unmatched_row(self, r: ListRow, problem: str, s: RegistrySchool | None = None) -> None:
        self.result.unmatched.append({"kind": "unmatched", "side": "list", "row": r.row,
                                      "code": s.code if s else None, "name": r.name,
                                      "inn": r.inn, "kpp": r.kpp, "problem": problem})


def compare(rows: list[ListRow], schools: list[RegistrySchool], municipalities: dict[str, str],
            has_parent: bool = True) -> Result:
    """The discrepancies between the list (`rows`) and the registry (`schools`, and the
    region's municipalities as code -> name)."""
    return _Comparison(rows, schools, municipalities, has_parent).run()

"""A world builder for tests: regions, schools and people go in through the real importer."""

from __future__ import annotations

import csv
import itertools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from workflow.importing import import_file
from workflow.reconcile import reconcile_as_registered
from workflow.services import Services

SUPPORT = "support@operator.ru"
_files = itertools.count()


class World:
    """Builds registry data through CSV files and `import_file`, as an operator would."""

    def __init__(self, services: Services, tmp: Path, now: datetime) -> None:
        self.services, self.tmp, self.now = services, tmp, now

    def tick(self, **delta: float) -> datetime:
        """Move the world's clock forward (tests never read the wall clock)."""
        self.now += timedelta(**delta)
        return self.now

    def write_csv(self, rows: list[dict[str, Any]], name: str | None = None) -> Path:
        path = self.tmp / (name or f"file{next(_files)}.csv")
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        return path

    def load(self, kind: str, rows: list[dict[str, Any]]) -> Any:
        return import_file(self.services, kind, self.write_csv(rows), now=self.now)

    def region(self, code: str = "07", name: str = "Кабардино-Балкарская Республика",
               timezone: str = "Europe/Moscow") -> str:
        self.load("regions", [{"code": code, "name": name, "timezone": timezone}])
        return code

    def municipality(self, code: str, region: str = "07", name: str | None = None) -> str:
        self.load("municipalities", [{"region": region, "code": code,
                                      "name": name or f"Муниципалитет {code}"}])
        return code

    def school(self, code: str, region: str = "07", municipality: str = "", parent: str = "",
               teachers: int = 10, classes: int = 5, students: int = 100) -> str:
        self.load("schools", [{"region": region, "municipality": municipality, "code": code,
                               "name": f"Школа {code}", "parent": parent,
                               "teachers_expected": teachers, "classes_expected": classes,
                               "students_expected": students}])
        return code

    def person(self, email: str, role: str, scope: str = "", name: str | None = None) -> str:
        self.load("people", [{"email": email, "name": name or f"Сотрудник {email.split('@')[0]}",
                              "role": role, "scope": scope}])
        return email

    def metrics(self, school: str, **counts: int) -> Any:
        return self.load("metrics", [{"school": school, **counts}])

    def standard(self) -> World:
        """Region 07 with two municipalities, three schools (one a branch) and its people."""
        self.region("07")
        self.municipality("0701", "07")
        self.municipality("0702", "07")
        self.school("S1", "07", "0701")
        self.school("S2", "07", "0702")
        self.school("S2F", "07", "0702", parent="S2", teachers=2, classes=1, students=10)
        self.person(SUPPORT, "support")
        self.person("rc@region07.ru", "regional_coordinator", "07")
        self.person("pm@minpros.ru", "program_manager")
        self.person("auditor@minpros.ru", "auditor")
        return self

    def reconciled(self, region: str = "07") -> World:
        """Step 2's reconciliation on record with nothing open: the region's list is the
        registry as it stands."""
        reconcile_as_registered(self.services, region, self.now)
        return self

    def through_step3(self) -> World:
        """Steps 1-3 of region 07 done, municipal coordinators appointed."""
        s = self.services
        s.advance("region", "07", "coordinator", SUPPORT, self.now)
        self.reconciled("07")
        s.advance("region", "07", "registry", "rc@region07.ru", self.now)
        s.assign("municipal_coordinator", "0701", "mc1@region07.ru", "Первый М.К.",
                 "rc@region07.ru", self.now)
        s.assign("municipal_coordinator", "0702", "mc2@region07.ru", "Второй М.К.",
                 "rc@region07.ru", self.now)
        s.advance("region", "07", "municipalities", "rc@region07.ru", self.now)
        return self

    def status(self, kind: str, code: str) -> dict[str, Any]:
        return self.services.status(kind, code)

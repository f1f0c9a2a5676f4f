"""Sort, filter and search of the country's table, from and back to the query string (GET).

The same `CountryQuery` drives the page, its column links (which keep the filters), and the
exports, so an export holds exactly the rows on screen. Unknown values are ignored: a link
that was edited by hand shows the default order rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from states import SLUGS
from web.cartogram import By
from web.regions_grid import DISTRICTS

# column -> (sort key over a row, descending by default)
SORTS: dict[str, tuple[Callable[[dict[str, Any]], Any], bool]] = {
    "late": (lambda r: (r["lateness"].late, r["lateness"].worst_days), True),
    "days": (lambda r: (r["lateness"].worst_days, r["lateness"].late), True),
    "code": (lambda r: r["code"], False),
    "name": (lambda r: r["name"].casefold(), False),
    "district": (lambda r: r["district"], False),
    "step": (lambda r: SLUGS.index(r["state"]) if r["state"] in SLUGS else len(SLUGS), False),
    "schools": (lambda r: r["schools"], True),
    "progress": (lambda r: r["progress"], True),
    "broken": (lambda r: r["broken_contacts"], True),
}
DEFAULT_SORT = "late"
INN = re.compile(r"\d{10}")
MAX_SEARCH = 100


def folded(text: str) -> str:
    """Text for matching: case and «ё» do not matter."""
    return text.casefold().replace("ё", "е").strip()


@dataclass(frozen=True)
class CountryQuery:
    """What the country table shows: the order, the filters and the search."""

    sort: str = DEFAULT_SORT
    desc: bool = True
    district: str = ""
    tz: str = ""
    step: str = ""
    late: bool = False
    q: str = ""
    by: By = By.LATE  # the map's colours

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> CountryQuery:
        sort = params.get("sort", DEFAULT_SORT)
        if sort not in SORTS:
            sort = DEFAULT_SORT
        direction = params.get("dir", "")
        desc = SORTS[sort][1] if direction not in ("asc", "desc") else direction == "desc"
        step = params.get("step", "")
        district = params.get("district", "")
        return cls(sort=sort, desc=desc,
                   district=district if district in DISTRICTS else "",
                   tz=params.get("tz", "")[:64],
                   step=step if step in SLUGS or step == "done" else "",
                   late=params.get("late", "") in ("1", "on", "yes"),
                   q=params.get("q", "").strip()[:MAX_SEARCH],
                   by=By.PROGRESS if params.get("map") == By.PROGRESS else By.LATE)

    def params(self) -> dict[str, str]:
        """The query string's values that differ from the defaults."""
        out = {}
        if self.sort != DEFAULT_SORT or self.desc != SORTS[self.sort][1]:
            out["sort"] = self.sort
            out["dir"] = "desc" if self.desc else "asc"
        for key in ("district", "tz", "step", "q"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.late:
            out["late"] = "1"
        if self.by != By.LATE:
            out["map"] = str(self.by)
        return out

    def query(self, **change: Any) -> str:
        """`?…` for these settings with `change` applied ('' when all are defaults)."""
        values = urlencode(replace(self, **change).params())
        return f"?{values}" if values else ""

    def sort_query(self, column: str) -> str:
        """The link of a column's header: sort by it, or flip the order if it is the one."""
        if column == self.sort:
            return self.query(desc=not self.desc)
        return self.query(sort=column, desc=SORTS[column][1])

    def arrow(self, column: str) -> str:
        return ("▼" if self.desc else "▲") if column == self.sort else ""

    @property
    def filtered(self) -> bool:
        return bool(self.district or self.tz or self.step or self.late or self.q)

    def apply(self, rows: Iterable[dict[str, Any]], found: Iterable[str] = ()
              ) -> list[dict[str, Any]]:
        """The rows that pass the filters and the search, in this order (ties by code).

        `found` holds the regions of the schools whose ИНН or code is the search text.
        """
        text, in_found = folded(self.q), set(found)
        kept = [r for r in rows
                if (not self.district or r["district"] == self.district)
                and (not self.tz or r["timezone"] == self.tz)
                and (not self.step or (r["state"] or "") == self.step)
                and (not self.late or r["lateness"].late or r["lateness"].worst_days)
                and (not text or r["code"] == text or text in folded(r["name"])
                     or r["code"] in in_found)]
        key, _ = SORTS[self.sort]
        kept.sort(key=lambda r: r["code"])
        kept.sort(key=key, reverse=self.desc)
        return kept

"""How late each region is, in business days, counting its own steps (1–3) and its schools'.

The rule (README, "Lateness"): a step is late by N business days when it has been open N
business days longer than its SLA, counted on the production calendar in the zone of the
machine that holds it. A region late on one of its own steps (1–3) holds every one of its
schools, which cannot start step 4 before it: all its schools count as late, by the region's
days. Otherwise a region's late schools are those with one of their own steps (4–9) past its
SLA. Regions are ranked worst first by late schools, then by the longest lateness of any open
step in the region (its own or a school's), then by code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from notifications.policy import MOSCOW
from states import STEPS, StepPolicy
from storage.models import open_steps, regions
from web.progress import SCHOOL_STEPS, late_by_region, late_days

REGION_STEPS = frozenset(s.slug for s in STEPS if s.level == "region")
NUMBER = {s.slug: s.number for s in STEPS}


@dataclass
class RegionLate:
    """One region's lateness."""

    schools: int = 0  # schools of the region
    schools_late: int = 0  # schools with one of their own steps (4–9) past its SLA
    step: str | None = None  # the region's own open step (1–3), if any
    step_days: int = 0  # business days that step is past its SLA (0: within it)
    worst_step: str | None = None  # the open step late the longest, the region's or a school's
    worst_days: int = 0

    @property
    def held(self) -> int:
        """Schools held by the region's own late step: all of them."""
        return self.schools if self.step_days else 0

    @property
    def late(self) -> int:
        """Schools counted late: held by the region, or late on a step of their own."""
        return self.held or self.schools_late

    def rank(self) -> tuple[int, int]:
        """Sort key, worst first when ascending."""
        return (-self.late, -self.worst_days)

    def _worse(self, step: str, days: int) -> None:
        if days > self.worst_days or (days and days == self.worst_days and self.worst_step
                                       and NUMBER[step] < NUMBER[self.worst_step]):
            self.worst_step, self.worst_days = step, days


def by_region(conn: Connection, now: datetime, policies: Mapping[str, StepPolicy],
              schools: Mapping[str, int]) -> dict[str, RegionLate]:
    """Region code -> its lateness at `now`; `schools` gives each region's number of schools.

    Three small queries: the late count of `late_by_region`, the regions' own open steps, and
    the oldest open moment of each school step in each region (a MIN per group on the
    `open_steps` index), whose days are counted in the region's zone.
    """
    zones = {code: tz or MOSCOW for code, tz in conn.execute(
        select(regions.c.code, regions.c.timezone))}
    out = {code: RegionLate(schools=schools.get(code, 0)) for code in zones}
    for code, n in late_by_region(conn, now, policies).items():
        if code in out:
            out[code].schools_late = n
    own = (select(open_steps.c.code, open_steps.c.step, open_steps.c.since)
           .where(open_steps.c.kind == "region", open_steps.c.step.in_(sorted(REGION_STEPS)))
           .order_by(open_steps.c.code, open_steps.c.since))
    for code, step, since in conn.execute(own):
        row = out.get(code)
        if row is None or step not in policies or row.step is not None:
            continue
        row.step = step
        row.step_days = late_days(since, now, zones[code], policies[step].sla_days)
        row._worse(step, row.step_days)
    oldest = (select(open_steps.c.region_code, open_steps.c.step, func.min(open_steps.c.since))
              .where(open_steps.c.kind == "school",
                     open_steps.c.step.in_(sorted(SCHOOL_STEPS & set(policies))))
              .group_by(open_steps.c.step, open_steps.c.region_code))
    for code, step, since in conn.execute(oldest):
        row = out.get(code)
        if row is not None:
            row._worse(step, late_days(since, now, zones[code], policies[step].sla_days))
    return out

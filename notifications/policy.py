"""The reminder policy as pure functions: who owes a late step, at which level, in which period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from notifications.calendar import is_business_day, local
from states import Step, StepPolicy

MOSCOW = "Europe/Moscow"  # global roles (support, program managers) work on Moscow time


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    role: str
    tz: str


def due_levels(days_open: int, policy: StepPolicy) -> list[tuple[int, int]]:
    """(level, threshold) pairs due: 0 after sla_days, 1 after escalate_after_days, 2 after twice.

    "After N days" means strictly more than N business days open.
    """
    thresholds = (policy.sla_days, policy.escalate_after_days, 2 * policy.escalate_after_days)
    return [(lvl, t) for lvl, t in enumerate(thresholds) if days_open > t]


def period(since_local: datetime, days_open: int, threshold: int, repeat_every: int) -> str:
    """The repeat period a reminder falls in, per open spell of the step.

    Day threshold+1 starts period 0; a new period starts every `repeat_every` business days.
    A step reopened later has a new `since`, hence new periods.
    """
    n = (days_open - threshold - 1) // repeat_every
    return f"{since_local.date().isoformat()}#{n}"


def in_window(now: datetime, tz: str, start: time, end: time) -> bool:
    """A business day in the recipient's time zone, and inside the sending window there."""
    t = local(now, tz)
    return is_business_day(t.date()) and start <= t.time().replace(tzinfo=None) < end


def chain_start(step: Step, kind: str) -> int:
    """The level of the hierarchy that owes the step (index into `hierarchy`)."""
    if kind == "school" and step.slug == "admins":
        return 1  # coordinators appoint the school admin
    return 0


def escalation_chain(levels: list[list[Recipient]], start: int) -> list[list[Recipient]]:
    """Owner level first, then the levels above; a level nobody holds is passed over.

    So a school without a municipal coordinator escalates straight to the regional one, and a
    step whose owner is missing reminds the next person up, who can fix that.
    """
    return [lvl for lvl in levels[start:] if lvl]

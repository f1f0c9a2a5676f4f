"""The Russian production calendar: business days with the yearly decree transfers.

The `holidays` package (country RU) models the decrees, working Saturdays included; a new
year's decree arrives in a new release of `holidays` (see the README on updating it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


def is_business_day(day: date) -> bool:
    """A working day by the production calendar (a transferred working Saturday is one)."""
    return bool(_calendar(day.year).is_working_day(day))


@lru_cache(maxsize=100_000)
def business_days_between(start: date, end: date) -> int:
    """Business days elapsed after `start` up to and including `end` (0 if end <= start)."""
    if end <= start:
        return 0
    n, day = 0, start + timedelta(days=1)
    while day <= end:
        n += is_business_day(day)
        day += timedelta(days=1)
    return n


@lru_cache(maxsize=4096)
def due_date(start: date, days: int) -> date:
    """The last day of a term of `days` business days counted after `start` (a step opened on
    `start` is late after this day, as `business_days_between` counts)."""
    n, day = 0, start
    while n < days:
        day += timedelta(days=1)
        n += is_business_day(day)
    return day


def local(at: datetime, tz: str) -> datetime:
    """A UTC moment in a region's (or school's) time zone."""
    return at.astimezone(ZoneInfo(tz))


def business_days_open(since: datetime, now: datetime, tz: str) -> int:
    """How many business days a step has been open, counted on local dates."""
    return business_days_between(local(since, tz).date(), local(now, tz).date())


@lru_cache(maxsize=4096)
def _last_late_day(today: date, days: int) -> date:
    """The latest local date `d` with more than `days` business days after it up to `today`."""
    n, day = 0, today
    while n <= days:
        n += is_business_day(day)
        day -= timedelta(days=1)
    return day


def open_cutoff(now: datetime, tz: str, days: int) -> datetime:
    """A step opened before this UTC moment has been open more than `days` business days at
    `now` (counted on local dates in `tz`, as `business_days_open` does); one opened at or
    after it has not. So "late" is a plain comparison, `since < open_cutoff(...)`, in SQL too.
    """
    zone = ZoneInfo(tz)
    day = _last_late_day(now.astimezone(zone).date(), days)
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)

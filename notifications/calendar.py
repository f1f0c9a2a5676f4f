"""The Russian production calendar: business days with the yearly decree transfers.

The `holidays` package (country RU) models the decrees, working Saturdays included; a new
year's decree arrives in a new release of `holidays` (see the README on updating it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
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


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days after `start`."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        days -= is_business_day(day)
    return day


def local(at: datetime, tz: str) -> datetime:
    """A UTC moment in a region's (or school's) time zone."""
    return at.astimezone(ZoneInfo(tz))


def business_days_open(since: datetime, now: datetime, tz: str) -> int:
    """How many business days a step has been open, counted on local dates."""
    return business_days_between(local(since, tz).date(), local(now, tz).date())

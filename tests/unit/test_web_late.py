"""Late schools: the cutoff the dashboard uses agrees with the calendar's business-day count."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from notifications.calendar import business_days_open
from states import default_policies
from web.charts import funnel, progress_line, step_bars
from web.progress import is_late

NOW = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)  # after the New Year holidays


@pytest.mark.parametrize("tz", ["Europe/Moscow", "Asia/Kamchatka", "Europe/Kaliningrad"])
def test_late_means_open_longer_than_the_sla_in_business_days(tz: str) -> None:
    """For every opening hour over six weeks, is_late matches business_days_open > sla_days."""
    policies = default_policies()
    for state in ("admins", "teachers", "adoption"):
        for hours in range(0, 24 * 42, 5):
            since = NOW - timedelta(hours=hours)
            expected = business_days_open(since, NOW, tz) > policies[state].sla_days
            assert is_late(since.isoformat(), state, tz, NOW, policies) == expected


def test_a_step_without_a_start_is_never_late() -> None:
    """No `since` (or a finished machine) means nothing to be late with."""
    assert not is_late(None, "admins", "Europe/Moscow", NOW, default_policies())
    assert not is_late(NOW.isoformat(), "done", "Europe/Moscow", NOW, default_policies())


def test_charts_carry_their_numbers_as_text(russian: None) -> None:
    """Every chart shows its figures beside the shapes (in Russian, the pages' default), and
    escapes titles."""
    steps = {"coordinator": 4, "registry": 3, "municipalities": 3, "admins": 1}
    bars = str(step_bars(steps, 4, "<b>x</b>"))
    assert ">100</text>" in bars and ">75</text>" in bars and "&lt;b&gt;" in bars
    assert "1 из 4 (25%)" in str(funnel(steps, 4, "admins"))
    line = str(progress_line([(date(2026, 1, 12), 10.0), (date(2026, 2, 2), 55.5)]))
    assert "55.5%" in line and "12.01.2026" in line and "<polyline" in line
    assert "ещё нет" in str(progress_line([]))


def test_charts_speak_english_on_request() -> None:
    """The same charts for a reader who chose English (the tests' language)."""
    steps = {"coordinator": 4, "registry": 3, "municipalities": 3, "admins": 1}
    assert "1 of 4 (25%)" in str(funnel(steps, 4, "admins"))

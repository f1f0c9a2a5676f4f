"""The reminder policy, the calendar and the layering of the notifications package."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from notifications.calendar import business_days_between, is_business_day
from notifications.errors import BadAddress, TemplateBroken
from notifications.message import address
from notifications.policy import due_levels, in_window, period
from notifications.render import Templates
from states import StepPolicy

ROOT = Path(__file__).resolve().parents[2]


def test_due_levels_follow_sla_and_escalation() -> None:
    """Reminder after sla_days, escalation after escalate_after_days, the next level after twice."""
    p = StepPolicy(10, 15)
    assert due_levels(10, p) == []
    assert due_levels(11, p) == [(0, 10)]
    assert due_levels(16, p) == [(0, 10), (1, 15)]
    assert [lvl for lvl, _ in due_levels(31, p)] == [0, 1, 2]


def test_periods_repeat_every_n_business_days() -> None:
    """Days 11-13 are one period, 14-16 the next; the step's start date keys the spell."""
    since = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert {period(since, d, 10, 3) for d in (11, 12, 13)} == {"2026-03-02#0"}
    assert period(since, 14, 10, 3) == "2026-03-02#1"


def test_production_calendar_has_decree_transfers() -> None:
    """9 January 2026 is a day off by decree; an ordinary Monday is a business day."""
    assert not is_business_day(date(2026, 1, 9))
    assert is_business_day(date(2026, 3, 2))
    # 8 March 2026 is a Sunday, so Monday 9 March is the day off: only Tuesday 10 counts
    assert business_days_between(date(2026, 3, 6), date(2026, 3, 10)) == 1


def test_window_is_local_and_business_days_only() -> None:
    """09:00-18:00 in the recipient's zone, never on a weekend."""
    at = datetime(2026, 3, 18, 7, 0, tzinfo=UTC)
    assert in_window(at, "Europe/Moscow", time(9), time(18))
    assert not in_window(at, "Asia/Kamchatka", time(9), time(18))
    assert not in_window(datetime(2026, 3, 21, 7, 0, tzinfo=UTC), "Europe/Moscow", time(9),
                         time(18))


@pytest.mark.parametrize("bad", ["a@b.c\r\nBcc: x@y.z", "a b@c.d", "<a@b.c>", "a@b.c, x@y.z"])
def test_unusual_addresses_are_refused(bad: str) -> None:
    """An address that could smuggle a header or a second recipient is refused."""
    with pytest.raises(BadAddress):
        address("Имя", bad)


def test_override_templates_render_in_a_sandbox(tmp_path: Path) -> None:
    """A user's template cannot reach Python internals; unknown variables are errors."""
    (tmp_path / "coordinator.txt.j2").write_text(
        '{% set subject = "x" %}{{ region.__class__.__mro__ }}', encoding="utf-8")
    from jinja2.exceptions import UndefinedError

    with pytest.raises(TemplateBroken, match=r"coordinator.txt.j2, line 1: (Security|Undefined)"):
        Templates(tmp_path).render("coordinator", {"region": {}, "coordinator": {}})
    with pytest.raises(UndefinedError):
        Templates().render("coordinator", {"region": {"name": "x"}})


def test_notifications_never_import_workflow() -> None:
    """Layering: notifications may import storage and states, never workflow."""
    for path in (ROOT / "notifications").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "workflow" or n.startswith("workflow.") for n in names), path

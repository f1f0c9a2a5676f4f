"""The reminder pass: due reminders and escalations, once per period, in working hours only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from notifications import outbox
from notifications.deferred import Renderer
from notifications.reminders import run_pass
from storage import Database
from storage.outbox import bounces, reminder_keys
from tests.mailkit import POLICIES, REMINDERS, T0, mail_settings, new_db, seed

# teachers: sla 10, escalate 15 business days. T0 is Monday 2 March 2026.
DAY12 = datetime(2026, 3, 18, 7, 0, tzinfo=UTC)  # Wed, 10:00 Moscow: 12 business days open
DAY17 = datetime(2026, 3, 25, 7, 0, tzinfo=UTC)  # Wed: 17 business days, escalation due


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = new_db(tmp_path)
    seed(d, schools_n=3)
    yield d
    d.dispose()


def passes(db: Database, tmp_path: Path, at: datetime, **kw: object):
    return run_pass(db, at, mail_settings(tmp_path), REMINDERS, POLICIES, **kw)


def queued(db: Database) -> list[dict]:
    with db.read() as conn:
        return list(reversed(outbox.listing(conn)))


def test_late_step_reminds_its_owner_once_per_period(db: Database, tmp_path: Path) -> None:
    """Each late school admin gets one reminder; a repeated pass queues nothing more."""
    first = passes(db, tmp_path, DAY12)
    again = passes(db, tmp_path, DAY12 + timedelta(hours=2))
    assert (first.reminders, first.escalations) == (3, 0)
    assert (again.reminders, again.already_sent) == (0, 6)  # teachers and classes, side by side
    msgs = queued(db)
    assert sorted(m["to"][0] for m in msgs) == [f"admin{i}@example.org" for i in (1, 2, 3)]
    assert all(m["kind"] == "reminder" for m in msgs)


def test_reminder_says_what_is_late_since_when_and_what_to_do(db: Database,
                                                             tmp_path: Path) -> None:
    """The text names the step, its date, the guard's figures and the instruction's next step."""
    passes(db, tmp_path, DAY12)
    with db.read() as conn:  # rendered as the relay renders it when it sends
        from storage.outbox import outbox as table

        row = dict(conn.execute(select(table)).first()._mapping)
    text = Renderer(mail_settings(tmp_path))(row)["body_text"]
    assert "«Внесение или загрузка данных о педагогах»" in text
    assert "Срок: до 17.03.2026 (10 рабочих дней с 02.03.2026), просрочено на 1 рабочий день." \
        in text
    assert "Не выполнено: педагоги — загружено 0 из 40, нужно 40." in text
    assert "по шаблону файла импорта педагогов" in text


def test_repeats_after_repeat_every_days(db: Database, tmp_path: Path) -> None:
    """Three business days later the reminder is due again, and only then."""
    passes(db, tmp_path, DAY12)
    assert passes(db, tmp_path, DAY12 + timedelta(days=2)).reminders == 0
    assert passes(db, tmp_path, DAY12 + timedelta(days=3)).reminders == 0  # Saturday
    assert passes(db, tmp_path, DAY12 + timedelta(days=5)).reminders == 3  # Monday: +3 bd


def test_escalation_goes_up_in_one_message_per_recipient(db: Database, tmp_path: Path) -> None:
    """After escalate_after_days the municipal coordinator gets one letter listing all schools."""
    summary = passes(db, tmp_path, DAY17)
    assert (summary.reminders, summary.escalations) == (3, 1)
    [esc] = [m for m in queued(db) if m["kind"] == "escalation"]
    assert esc["to"] == ["mc@example.org"]
    with db.read() as conn:
        n = conn.execute(select(func.count()).select_from(reminder_keys)
                         .where(reminder_keys.c.email == "mc@example.org")).scalar_one()
    assert n == 6  # three schools, each late with teachers and classes


@pytest.mark.parametrize("at", [
    datetime(2026, 3, 21, 7, 0, tzinfo=UTC),  # Saturday 10:00 Moscow
    datetime(2026, 3, 18, 19, 0, tzinfo=UTC),  # Wednesday 22:00 Moscow
    datetime(2026, 3, 18, 5, 30, tzinfo=UTC),  # Wednesday 08:30 Moscow
])
def test_nothing_is_queued_outside_working_hours(db: Database, tmp_path: Path,
                                                 at: datetime) -> None:
    """On a weekend or at night in the recipient's zone the pass holds everything back."""
    summary = passes(db, tmp_path, at)
    assert summary.reminders == 0 and summary.outside_window == 6  # 3 schools × 2 open steps
    assert queued(db) == []


def test_window_follows_the_recipients_time_zone(tmp_path: Path) -> None:
    """At 10:00 Moscow it is 16:00 in Yakutsk (in the window) and 19:00 in Kamchatka (not)."""
    for tz, expected in (("Asia/Yakutsk", 2), ("Asia/Kamchatka", 0)):
        (tmp_path / tz.replace("/", "_")).mkdir()
        d = new_db(tmp_path / tz.replace("/", "_"))
        seed(d, region_tz=tz)
        assert passes(d, tmp_path, DAY12).reminders == expected
        d.dispose()


def test_decree_transfer_counts_as_a_day_off(tmp_path: Path) -> None:
    """9 January 2026 is a day off by decree: a step opened on 30 Dec is not late on 19 Jan."""
    d = new_db(tmp_path)
    seed(d, since=datetime(2025, 12, 30, 7, 0, tzinfo=UTC))
    # business days after 30.12.2025 up to 19.01.2026: 12-16 and 19 Jan = 6 (31 Dec, 9 Jan off)
    assert passes(d, tmp_path, datetime(2026, 1, 19, 7, 0, tzinfo=UTC)).late_steps == 0
    assert passes(d, tmp_path, datetime(2026, 1, 26, 7, 0, tzinfo=UTC)).reminders == 2
    d.dispose()


def test_dry_run_queues_nothing(db: Database, tmp_path: Path) -> None:
    """--dry-run reports what is due and writes nothing."""
    assert passes(db, tmp_path, DAY12, dry_run=True).reminders == 3
    assert queued(db) == []
    assert passes(db, tmp_path, DAY12).reminders == 3


def test_bounced_address_is_a_broken_contact(db: Database, tmp_path: Path) -> None:
    """A bounced owner is not written to again and shows up as a broken contact."""
    with db.write() as conn:
        conn.execute(bounces.insert().values(email="admin1@example.org", at=T0,
                                             error="550 no such user"))
    summary = passes(db, tmp_path, DAY12)
    assert summary.reminders == 2 and summary.broken_contacts == ["admin1@example.org"]


def test_concurrent_passes_queue_nothing_twice(services, tmp_path: Path) -> None:
    """Two passes at once (threads, each its own connection) queue every reminder once."""
    db = services.db
    seed(db, schools_n=20)
    results = []
    threads = [threading.Thread(target=lambda: results.append(passes(db, tmp_path, DAY12)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.reminders for r in results) == [0, 20]
    assert len(queued(db)) == 20

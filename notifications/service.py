"""The service behind `rollout run`: APScheduler 3 runs the reminder pass, relay and digest."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from notifications.digest import queue_digest
from notifications.errors import SmtpSettingsRefused
from notifications.lock import SchedulerLock
from notifications.relay import deliver
from notifications.reminders import run_pass
from notifications.settings import MailSettings, ReminderSettings
from states import StepPolicy
from storage import Database

log = logging.getLogger("rollout.mail")


@dataclass(frozen=True)
class Schedule:
    remind_every_s: float = 3600.0
    relay_every_s: float = 5.0
    digest_day: str = "mon"
    digest_hour: int = 9  # Moscow time
    standby_poll_s: float = 2.0


def run_service(db: Database, mail: MailSettings, reminders: ReminderSettings,
                policies: Mapping[str, StepPolicy], clock: Callable[[], datetime],
                stop: threading.Event, schedule: Schedule = Schedule()) -> None:
    """Hold the scheduler lock (or wait for it as a standby), then run the jobs until `stop`.

    Every job is idempotent in the database (reminder keys, leases), so even a second
    scheduler would queue and send nothing twice; the lock just avoids the doubled work.
    """
    lock = SchedulerLock(db)
    if not lock.try_acquire():
        log.info("standby: another `rollout run` holds the scheduler lock; waiting")
        if not lock.wait(stop, schedule.standby_poll_s):
            log.info("stopped while on standby")
            return
    log.info("scheduler lock taken: running reminders, relay and digest")
    sched = BackgroundScheduler(timezone=UTC, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 60})

    def remind() -> None:
        run_pass(db, clock(), mail, reminders, policies)

    def relay() -> None:
        try:
            report = deliver(db, mail, clock, stop=stop)
        except SmtpSettingsRefused as exc:  # the operator's to fix; the messages stay queued
            log.error("relay: %s", exc)
            return
        if report.sent or report.deferred or report.failed:
            log.info("relay: %s", report.summary())

    def digest() -> None:
        n = queue_digest(db, clock(), mail, policies)
        log.info("weekly digest queued for %d program manager(s) and auditor(s)", n)

    # A job without a trigger runs once at start; then the interval takes over.
    sched.add_job(_guarded(remind), id="remind-now")
    sched.add_job(_guarded(relay), id="relay-now")
    sched.add_job(_guarded(remind), "interval", seconds=schedule.remind_every_s, id="remind",
                  replace_existing=True)
    sched.add_job(_guarded(relay), "interval", seconds=schedule.relay_every_s, id="relay",
                  replace_existing=True)
    sched.add_job(_guarded(digest), "cron", day_of_week=schedule.digest_day,
                  hour=schedule.digest_hour, timezone="Europe/Moscow", id="digest",
                  replace_existing=True)
    sched.start()
    try:
        stop.wait()
    finally:
        log.info("stopping: finishing the message in flight")
        sched.shutdown(wait=True)  # running jobs see `stop` and return after their message
        lock.release()
        log.info("stopped")


def _guarded(job: Callable[[], None]) -> Callable[[], None]:
    """A failing job is logged and tried again at its next run; the service keeps going."""

    def run() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - one bad run must not stop the service
            log.exception("job %s failed; it runs again at its next time", job.__name__)

    run.__name__ = job.__name__
    return run

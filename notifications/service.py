"""The service behind `rollout run`: APScheduler 3 runs the reminder pass, relay and digest."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from notifications.digest import queue_digest
from notifications.errors import SmtpSettingsRefused
from notifications.lock import SchedulerLock
from notifications.relay import deliver
from notifications.reminders import run_pass
from notifications.settings import MailSettings, ReminderSettings
from states import StepPolicy
from storage import Database
from storage.errors import DatabaseBusy

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
    scheduler would queue and send nothing twice; the lock just avoids the doubled work. A
    lock lost with its database session is taken again, or, if another `run` took it
    meanwhile, this one goes back to standing by.
    """
    lock = SchedulerLock(db)
    outages: dict[str, _Down] = {}  # per job, across schedulers: one line when down, one back
    try:
        while not stop.is_set() and _take(lock, stop, schedule):
            if not _schedule(db, mail, reminders, policies, clock, stop, schedule, lock,
                             outages):
                log.warning("standby: another `rollout run` took the scheduler lock")
    finally:
        lock.release()
        log.info("stopped")


def _take(lock: SchedulerLock, stop: threading.Event, schedule: Schedule) -> bool:
    """Take the scheduler lock, standing by while another `run` holds it (True), or False
    once `stop` is set."""
    down = _Down("scheduler lock")
    try:
        if lock.try_acquire():
            return True
        log.info("standby: another `rollout run` holds the scheduler lock; waiting")
    except DBAPIError as exc:
        down.failed(exc)
    taken = lock.wait(stop, schedule.standby_poll_s, on_error=down.failed)
    if taken:
        down.worked()
    return taken


def _schedule(db: Database, mail: MailSettings, reminders: ReminderSettings,
              policies: Mapping[str, StepPolicy], clock: Callable[[], datetime],
              stop: threading.Event, schedule: Schedule, lock: SchedulerLock,
              outages: dict[str, _Down]) -> bool:
    """Run the jobs until `stop` (True) or until the lock is another's (False)."""
    log.info("scheduler lock taken: running reminders, relay and digest")
    lost = threading.Event()
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

    retaking = False

    def keep_lock() -> None:
        nonlocal retaking
        if lock.held():
            return
        if not retaking:
            log.warning("scheduler lock: its database session is gone; taking the lock again")
            retaking = True
        if lock.try_acquire():  # raises while the database cannot be reached: tried again
            log.info("scheduler lock taken again")
            retaking = False
        else:
            lost.set()

    def guarded(job: Callable[[], None]) -> Callable[[], None]:
        return _guarded(job, outages.setdefault(job.__name__, _Down(job.__name__)))

    # A job without a trigger runs once at start; then the interval takes over.
    sched.add_job(guarded(remind), id="remind-now")
    sched.add_job(guarded(relay), id="relay-now")
    sched.add_job(guarded(remind), "interval", seconds=schedule.remind_every_s, id="remind",
                  replace_existing=True)
    sched.add_job(guarded(relay), "interval", seconds=schedule.relay_every_s, id="relay",
                  replace_existing=True)
    sched.add_job(guarded(digest), "cron", day_of_week=schedule.digest_day,
                  hour=schedule.digest_hour, timezone="Europe/Moscow", id="digest",
                  replace_existing=True)
    if lock.path is None:  # a file lock cannot be lost; a PostgreSQL session lock can
        sched.add_job(guarded(keep_lock), "interval", seconds=schedule.standby_poll_s,
                      id="keep-lock", replace_existing=True)
    sched.start()
    try:
        while not (stop.is_set() or lost.is_set()):
            stop.wait(schedule.standby_poll_s)
    finally:
        log.info("stopping: finishing the message in flight" if stop.is_set() else
                 "stopping the jobs: the lock is another's")
        sched.shutdown(wait=True)  # running jobs see `stop` and return after their message
    return stop.is_set()


class _Down:
    """A job's database outage, told once when it starts and once when it is over."""

    def __init__(self, name: str) -> None:
        self.name, self.down = name, False

    def failed(self, exc: Exception) -> None:
        if not self.down:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            log.error("%s: the database is unavailable (%s); trying again at its next run",
                      self.name, detail)
        self.down = True

    def worked(self) -> None:
        if self.down:
            log.info("%s: the database is back", self.name)
        self.down = False


def _guarded(job: Callable[[], None], down: _Down) -> Callable[[], None]:
    """A failing job is logged and tried again at its next run; the service keeps going.

    A database that cannot be reached (dropped, restarted, held by another writer past the
    busy timeout) is one line when it starts failing and one when it works again.
    """

    def run() -> None:
        try:
            job()
        except (OperationalError, InterfaceError, DatabaseBusy) as exc:
            down.failed(exc)
            return
        except Exception:  # noqa: BLE001 - one bad run must not stop the service
            log.exception("job %s failed; it runs again at its next time", job.__name__)
            return
        down.worked()

    run.__name__ = job.__name__
    return run

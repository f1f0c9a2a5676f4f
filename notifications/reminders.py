"""The reminder pass: work out, then queue in short chunks, the reminders and escalations due."""

from __future__ import annotations

import gc
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, false, func, or_, select

from notifications.calendar import business_days_between, due_date, local, open_cutoff
from notifications.deferred import Line, line
from notifications.directory import Directory, late_reasons, records
from notifications.links import step_url
from notifications.policy import Recipient, due_levels, escalation_chain, in_window, period
from notifications.settings import MailSettings, ReminderSettings
from states import STEPS, StepPolicy, step_by_slug
from storage import Database
from storage.models import machines, open_steps
from storage.outbox import reminder_keys
from storage.text import Phrase, Plural

log = logging.getLogger("rollout.mail")
SYSTEM = "system"
CHUNK = 2000  # letters (or 5× as many lines) per write transaction of a pass (national: 28)


class Late(NamedTuple):
    """One late step of one machine at one level, as its recipients are told about it."""

    machine_id: int
    target: str  # "школа 770001 Школа № 1" / "регион 77 Москва"
    step: str
    level: int
    since: str
    days_open: int
    sla_days: int
    owner_names: str
    period: str
    path: str  # the page where the step is done: "/schools/070101"
    due: str  # the last day of the step's term: "13.03.2026"


@dataclass
class PassSummary:
    """What one pass queued (or, dry, would queue)."""

    at: datetime
    dry_run: bool = False
    reminders: int = 0  # messages with steps the recipient owes
    escalations: int = 0  # messages with only steps of people below the recipient
    items: int = 0  # (machine, step, recipient) lines across all messages
    recipients: list[str] = field(default_factory=list)
    outside_window: int = 0  # items held back: weekend, holiday or night where the recipient is
    already_sent: int = 0  # items whose period was already covered by an earlier pass
    broken_contacts: list[str] = field(default_factory=list)  # bounced, not written to
    late_steps: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "dry_run": self.dry_run, "late_steps": self.late_steps,
                "reminders": self.reminders, "escalations": self.escalations,
                "items": self.items, "recipients": len(self.recipients),
                "outside_window": self.outside_window, "already_sent": self.already_sent,
                "broken_contacts": self.broken_contacts}

    def summary(self) -> Phrase:
        """What the pass did, for people (the command line translates it)."""
        parts = dict(
            reminders=Plural("{n} reminder", "{n} reminders", self.reminders),
            escalations=Plural("{n} escalation", "{n} escalations", self.escalations),
            recipients=Plural("to {n} recipient", "to {n} recipients", len(self.recipients)),
            items=Plural("covering {n} late item", "covering {n} late items", self.items),
            late=Plural("{n} step late", "{n} steps late", self.late_steps),
            held=Plural("{n} item held for the sending window",
                        "{n} items held for the sending window", self.outside_window),
            already=Plural("{n} item already sent this period",
                           "{n} items already sent this period", self.already_sent),
            broken=Phrase("; broken contacts: {emails}", emails=", ".join(
                self.broken_contacts)) if self.broken_contacts else "")
        if self.dry_run:
            return Phrase("would queue {reminders} and {escalations} {recipients} {items}; "
                          "{late}, {held}, {already}{broken}", **parts)
        return Phrase("queued {reminders} and {escalations} {recipients} {items}; {late}, "
                      "{held}, {already}{broken}", **parts)


def run_pass(db: Database, now: datetime, mail: MailSettings, reminders: ReminderSettings,
             policies: Mapping[str, StepPolicy], *, dry_run: bool = False,
             chunk: int = CHUNK, after_chunk: Callable[[int], None] | None = None,
             second_process: bool | None = None) -> PassSummary:
    """One reminder pass at `now`: worked out in a read transaction, then queued in chunks of
    about `chunk` letters, each in its own short write transaction (the writer lock is never
    held for long). Each chunk writes its letters, their reminder keys and a history event
    together, so a pass that dies between chunks, run again, queues exactly what is missing.
    `after_chunk(n)` is called after the n-th chunk (1-based) has committed. On a big registry
    a second process writes the chunks (`second_process`, default: by the number of open
    steps; see reminder_queue.py).
    """
    from notifications.reminder_queue import queue_letters, writer_for  # built on this module

    with _no_gc_pauses():
        writer = None if dry_run else writer_for(db, second_process)
        try:
            with db.read() as conn:
                summary, plan = plan_pass(conn, now, reminders, policies, dry_run=dry_run)
            if plan is not None and writer is not None:
                queue_letters(db, now, mail, reminders, plan, summary, writer, chunk,
                              after_chunk)
        finally:
            if writer is not None:
                writer.close()
    log.info(Phrase("reminder pass at {at}: {summary}", at=now.isoformat(timespec="minutes"),
                    summary=summary.summary()))
    return summary


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """The cyclic collector off for one pass, back on afterwards.

    A national pass allocates millions of short-lived objects (rows, contexts, letters)
    beside a large live registry: the collector ran ten full collections over all of it per
    pass, a third of the pass. Reference counting frees nearly everything anyway.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan_pass(conn: Connection, now: datetime, reminders: ReminderSettings,
              policies: Mapping[str, StepPolicy], *, dry_run: bool = False
              ) -> tuple[PassSummary, Plan | None]:
    """What a pass at `now` owes whom (reads only); `None` for a dry run or nothing owed."""
    summary = PassSummary(at=now, dry_run=dry_run)
    d = Directory.load(conn)
    owed: dict[str, list[Late]] = defaultdict(list)
    people: dict[str, Recipient] = {}
    late_machines: dict[tuple[int, str], Any] = {}
    window_ok: dict[str, bool] = {}
    today: dict[str, date] = {}
    opened: dict[tuple[datetime, str], tuple[int, datetime, str]] = {}
    dues: dict[tuple[date, int], str] = {}
    periods: dict[str, str] = {}

    def due_text(since: date, sla_days: int) -> str:  # a few distinct values per pass
        found = dues.get((since, sla_days))
        if found is None:
            found = dues[(since, sla_days)] = due_date(since, sla_days).strftime("%d.%m.%Y")
        return found

    bounced, broken = d.bounced, summary.broken_contacts
    for m in records(conn, _candidates(d, now, policies), "Candidate"):
        step = step_by_slug(m.step)
        tz = d.tz(m.kind, m.code, m.region_code)
        known = opened.get((m.since, tz))
        if known is None:  # how long the step has been open, counted on local dates
            if tz not in today:
                today[tz] = local(now, tz).date()
            since_local = local(m.since, tz)
            known = opened[(m.since, tz)] = (
                business_days_between(since_local.date(), today[tz]), since_local,
                since_local.strftime("%d.%m.%Y"))
        days, since_local, since_text = known
        policy = policies[step.slug]
        due = due_levels(days, policy)
        if not due:
            continue
        summary.late_steps += 1
        chain = escalation_chain(d.hierarchy(m.kind, m.code, m.region_code, step), 0)
        told: set[str] = set()
        late_machines[(m.id, step.slug)] = (m, step, policy)
        target = d.label(m.kind, m.code)
        owners = path = ""
        for level, threshold in due:
            if level >= len(chain):
                break
            entry: Late | None = None
            for person in chain[level]:
                email = person.email
                if email in told:
                    continue  # one person, one line per machine: at the lowest level they hold
                told.add(email)
                if email in bounced:
                    if email not in broken:
                        broken.append(email)
                    continue
                ok = window_ok.get(person.tz)
                if ok is None:  # `now` is fixed for the pass: once per zone
                    ok = window_ok[person.tz] = in_window(now, person.tz, reminders.window_start,
                                                          reminders.window_end)
                if not ok:
                    summary.outside_window += 1
                    continue
                if entry is None:  # one line per (machine, level), shared by its recipients
                    if level and not owners:
                        owners = ", ".join(p.name for p in chain[0])
                    if not path:  # the page where the step is done
                        path = step_url("", m.kind, m.code, step.slug)
                    when = period(since_local, days, threshold, reminders.repeat_every_days)
                    entry = Late(m.id, target, step.slug, level, since_text, days,
                                 policy.sla_days, owners if level else "",
                                 periods.setdefault(when, when),  # one string per period
                                 path, due_text(since_local.date(), policy.sla_days))
                people[email] = person
                owed[email].append(entry)
    last_key = newest_key(conn)
    drop_already_sent(conn, owed, summary)
    count(owed, summary)
    if dry_run or not owed:
        return summary, None
    reasons: dict[tuple[int, str], tuple[str, ...]] = {}
    lines: dict[tuple[int, str, int], Line] = {}

    def line_of(it: Late) -> Line:
        """The line as templates see it; the guard's figures computed only for what is sent."""
        key = (it.machine_id, it.step, it.level)
        found = lines.get(key)
        if found is None:
            missing = reasons.get(key[:2])
            if missing is None:
                missing = reasons[key[:2]] = late_reasons(conn, d, *late_machines[key[:2]])
            found = lines[key] = line(it.target, it.step, it.since, it.days_open, it.sla_days,
                                      missing, it.owner_names, it.path, it.due)
        return found

    letters = {email: _letter(people[email], items, line_of) for email, items in owed.items()}
    return summary, Plan(owed, letters, last_key)


def _candidates(d: Directory, now: datetime, policies: Mapping[str, StepPolicy]) -> Any:
    """Open steps that their own machine does (a school's steps 4-9, a region's steps 1-3)
    and that may be past their SLA, from the `open_steps` index (not the steps JSON).

    A step is a candidate if it opened before the latest cutoff over every zone in the
    registry; the exact count per zone follows in Python.
    """
    zones = d.zones()
    terms = []
    for step in STEPS:
        if step.slug not in policies:
            continue
        cutoff = max(open_cutoff(now, tz, policies[step.slug].sla_days) for tz in zones)
        terms.append(and_(open_steps.c.kind == step.level, open_steps.c.step == step.slug,
                          open_steps.c.since < cutoff))
    return (select(machines.c.id, open_steps.c.kind, open_steps.c.code,
                   open_steps.c.region_code, open_steps.c.step, open_steps.c.since)
            .join(machines, (machines.c.kind == open_steps.c.kind)
                  & (machines.c.code == open_steps.c.code))
            .where(or_(*terms) if terms else false())
            .order_by(machines.c.id, open_steps.c.step))


Key = tuple[int, str, str, str]  # a reminder key: (machine id, step, recipient, period)


def drop_already_sent(conn: Connection, owed: dict[str, list[Late]],
                      summary: PassSummary) -> None:
    """Drop the lines an earlier pass covered: one query for the keys of this pass's periods."""
    seen: set[Key] = set()
    cols = (reminder_keys.c.machine_id, reminder_keys.c.step, reminder_keys.c.email,
            reminder_keys.c.period)
    periods = sorted({it.period for items in owed.values() for it in items})
    for i in range(0, len(periods), 5000):  # one query unless there are thousands
        q = select(*cols).where(reminder_keys.c.period.in_(periods[i:i + 5000]))
        seen.update(tuple(r) for r in conn.execute(q))
    drop(owed, seen, summary)


def drop(owed: dict[str, list[Late]], seen: set[Key], summary: PassSummary) -> None:
    """Drop the lines whose keys are in `seen`, counting them as already sent."""
    if not seen:
        return
    for email in list(owed):
        fresh = [it for it in owed[email] if (it.machine_id, it.step, email, it.period) not in seen]
        summary.already_sent += len(owed[email]) - len(fresh)
        if fresh:
            owed[email] = fresh
        else:
            del owed[email]


def newest_key(conn: Connection) -> int:
    """The id of the newest reminder key (0 for none): ids grow in the order writers commit,
    as every writer holds the writer lock (storage/db.py)."""
    return int(conn.execute(select(func.max(reminder_keys.c.id))).scalar() or 0)


def count(owed: dict[str, list[Late]], summary: PassSummary) -> None:
    for email, items in owed.items():
        summary.recipients.append(email)
        summary.items += len(items)
        if any(it.level == 0 for it in items):
            summary.reminders += 1
        else:
            summary.escalations += 1


class Letter(NamedTuple):
    """One recipient's letter of a pass: its lines (own, then escalated) and its keys."""

    person: Recipient
    items: list[Late]  # sorted: own lines first, by target and step
    lines: list[Line]  # the same order


def _letter(person: Recipient, items: list[Late], line_of: Callable[[Late], Line]) -> Letter:
    items = sorted(items, key=_order)
    return Letter(person, items, [line_of(it) for it in items])


@dataclass
class Plan:
    owed: dict[str, list[Late]]  # email -> the lines still owed (after the keys on record)
    letters: dict[str, Letter]
    last_key: int  # the newest reminder key when the plan was made


_NUMBER = {s.slug: s.number for s in STEPS}


def _order(it: Late) -> tuple[int, str, int]:
    return (it.level, it.target, _NUMBER[it.step])

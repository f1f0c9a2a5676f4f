"""The reminder pass: queue, in one transaction, the reminders and escalations that are due."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from notifications import outbox
from notifications.calendar import business_days_open, local
from notifications.directory import Directory, late_reasons
from notifications.policy import Recipient, due_levels, escalation_chain, in_window, period
from notifications.render import templates
from notifications.settings import MailSettings, ReminderSettings
from states import STEPS, StepPolicy, step_by_slug
from storage import Database, NewEvent, history
from storage.models import machines
from storage.outbox import reminder_keys

log = logging.getLogger("rollout.mail")
SYSTEM = "system"


@dataclass(frozen=True)
class Late:
    """One late step of one machine, as one recipient is told about it."""

    machine_id: int
    target: str  # "школа 770001 Школа № 1" / "регион 77 Москва"
    step: str
    level: int
    since: str
    days_open: int
    sla_days: int
    owner_names: str
    period: str


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

    def summary(self) -> str:
        verb = "would queue" if self.dry_run else "queued"
        return (f"{verb} {self.reminders} reminder(s) and {self.escalations} escalation(s) to "
                f"{len(self.recipients)} recipient(s) covering {self.items} late item(s); "
                f"{self.late_steps} step(s) late, {self.outside_window} held for the sending "
                f"window, {self.already_sent} already sent this period"
                + (f"; broken contacts: {', '.join(self.broken_contacts)}"
                   if self.broken_contacts else ""))


def run_pass(db: Database, now: datetime, mail: MailSettings, reminders: ReminderSettings,
             policies: Mapping[str, StepPolicy], *, dry_run: bool = False) -> PassSummary:
    """One reminder pass at `now`, in one exclusive write transaction (so passes serialize)."""
    with db.write() as conn:
        summary = queue_reminders(conn, now, mail, reminders, policies, dry_run=dry_run)
        if dry_run:
            conn.rollback()
    log.info("reminder pass at %s: %s", now.isoformat(timespec="minutes"), summary.summary())
    return summary


def queue_reminders(conn: Connection, now: datetime, mail: MailSettings,
                    reminders: ReminderSettings, policies: Mapping[str, StepPolicy], *,
                    dry_run: bool = False) -> PassSummary:
    summary = PassSummary(at=now, dry_run=dry_run)
    d = Directory.load(conn)
    owed: dict[str, list[Late]] = defaultdict(list)
    people: dict[str, Recipient] = {}
    since_cache: dict[str, datetime] = {}
    late_machines: dict[int, Any] = {}
    window_ok: dict[str, bool] = {}
    q = select(machines.c.id, machines.c.kind, machines.c.code, machines.c.region_code,
               machines.c.state, machines.c.steps).where(machines.c.state != "done")
    for m in conn.execute(q):
        step = step_by_slug(m.state)
        if (m.kind == "school") != (step.level == "school"):
            continue  # mirrored or aggregate: the machine that does the step is reminded
        since_iso = m.steps[m.state].get("since")
        if not since_iso:
            continue
        since = since_cache.get(since_iso) or since_cache.setdefault(
            since_iso, datetime.fromisoformat(since_iso))
        tz = d.tz(m.kind, m.code, m.region_code)
        days = business_days_open(since, now, tz)
        policy = policies[step.slug]
        due = due_levels(days, policy)
        if not due:
            continue
        summary.late_steps += 1
        chain = escalation_chain(d.hierarchy(m.kind, m.code, m.region_code, step), 0)
        since_local = local(since, tz)
        told: set[str] = set()
        late_machines[m.id] = (m, step, policy)
        for level, threshold in due:
            if level >= len(chain):
                break
            for person in chain[level]:
                if person.email in told:
                    continue  # one person, one line per machine: at the lowest level they hold
                told.add(person.email)
                if person.email in d.bounced:
                    if person.email not in summary.broken_contacts:
                        summary.broken_contacts.append(person.email)
                    continue
                if person.tz not in window_ok:  # `now` is fixed for the pass: once per zone
                    window_ok[person.tz] = in_window(now, person.tz, reminders.window_start,
                                                     reminders.window_end)
                if not window_ok[person.tz]:
                    summary.outside_window += 1
                    continue
                people[person.email] = person
                owed[person.email].append(Late(
                    m.id, d.label(m.kind, m.code), step.slug, level,
                    since_local.strftime("%d.%m.%Y"), days, policy.sla_days,
                    ", ".join(p.name for p in chain[0]) if level else "",
                    period(since_local, days, threshold, reminders.repeat_every_days)))
    _drop_already_sent(conn, owed, summary)
    reasons: dict[int, tuple[str, ...]] = {}

    def missing(machine_id: int) -> tuple[str, ...]:
        """The guard's figures, computed only for what is actually sent (not for repeats)."""
        if machine_id not in reasons:
            reasons[machine_id] = late_reasons(conn, d, *late_machines[machine_id])
        return reasons[machine_id]

    if not dry_run:
        _queue(conn, owed, people, now, mail, reminders, summary, missing)
    else:
        _count(owed, summary)
    return summary


def _drop_already_sent(conn: Connection, owed: dict[str, list[Late]], summary: PassSummary
                       ) -> None:
    periods = sorted({it.period for items in owed.values() for it in items})
    seen: set[tuple[int, str, str, str]] = set()
    for i in range(0, len(periods), 500):
        q = select(reminder_keys.c.machine_id, reminder_keys.c.step, reminder_keys.c.email,
                   reminder_keys.c.period).where(reminder_keys.c.period.in_(periods[i:i + 500]))
        seen.update(tuple(r) for r in conn.execute(q))
    if not seen:
        return
    for email in list(owed):
        fresh = [it for it in owed[email] if (it.machine_id, it.step, email, it.period) not in seen]
        summary.already_sent += len(owed[email]) - len(fresh)
        if fresh:
            owed[email] = fresh
        else:
            del owed[email]


def _count(owed: dict[str, list[Late]], summary: PassSummary) -> None:
    for email, items in owed.items():
        summary.recipients.append(email)
        summary.items += len(items)
        if any(it.level == 0 for it in items):
            summary.reminders += 1
        else:
            summary.escalations += 1


def _queue(conn: Connection, owed: dict[str, list[Late]], people: dict[str, Recipient],
           now: datetime, mail: MailSettings, reminders: ReminderSettings,
           summary: PassSummary, missing: Any) -> None:
    """One message per recipient listing everything owed; a key per line, in one transaction."""
    t = templates(mail.templates_dir)
    rows, keys = [], []
    for email in sorted(owed):
        items = sorted(owed[email], key=lambda it: (it.level, it.target, it.step))
        own = [_context(it, missing(it.machine_id)) for it in items if it.level == 0]
        escalated = [_context(it, missing(it.machine_id)) for it in items if it.level > 0]
        person = people[email]
        name = "reminder" if own else "escalation"
        rendered = t.render(name, {"person": {"name": person.name, "email": email}, "own": own,
                                   "escalated": escalated,
                                   "repeat_every_days": reminders.repeat_every_days})
        row = outbox.message_row(rendered, [(person.name, email)], sender=mail.sender, now=now)
        rows.append(row)
        keys.extend({"machine_id": it.machine_id, "step": it.step, "email": email,
                     "period": it.period, "level": it.level, "message_id": row["message_id"],
                     "created_at": now} for it in items)
    _count(owed, summary)
    if not rows:
        return
    outbox.enqueue(conn, rows)
    for i in range(0, len(keys), 5000):
        conn.execute(insert(reminder_keys), keys[i:i + 5000])
    history.append(conn, [NewEvent(
        at=now, event="RemindersQueued", actor=SYSTEM, trigger="reminder pass",
        reason=summary.summary(),
        data={"reminders": summary.reminders, "escalations": summary.escalations,
              "items": summary.items, "recipients": len(summary.recipients)})])


_TITLES = {s.slug: s for s in STEPS}


@dataclass(frozen=True)
class Line:
    """One line of a reminder as templates see it (attributes: Jinja's fast lookup path)."""

    target: str
    step_number: int
    step_title: str
    since: str
    days_open: int
    sla_days: int
    missing: tuple[str, ...]
    todo: str
    owner_text: str
    owner_names: str


def _context(it: Late, missing: tuple[str, ...]) -> Line:
    step = _TITLES[it.step]
    return Line(it.target, step.number, step.title, it.since, it.days_open, it.sla_days,
                missing, step.todo, step.owner_text, it.owner_names)

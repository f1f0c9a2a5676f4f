"""The mail services behind `letter`, `remind`, `outbox` and `run` (also used by the demo)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection

from notifications import outbox
from notifications.deferred import subject_of
from notifications.digest import queue_digest
from notifications.errors import MissingData, SmtpSettingsRefused, TemplateMissing, UnknownLetter
from notifications.letters import (
    REGION_LETTERS,
    Letter,
    placeholder_warnings,
    queue_region_letter,
    render_region_letter,
)
from notifications.relay import Delivery, deliver
from notifications.reminders import PassSummary, run_pass
from notifications.service import Schedule, run_service
from states import Reason, Target, Verdict, may_send_letter
from storage import NewEvent, history, repo
from workflow.errors import InvalidInput, PermissionDenied, UnknownCode, UsageError
from workflow.i18n import error_text, reasons, translate
from workflow.services import Services


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, UnknownLetter):
        return UsageError(error_text(exc))
    if isinstance(exc, MissingData | TemplateMissing):
        return InvalidInput(error_text(exc))
    return exc


def render_letter(services: Services, name: str, region: str) -> Letter:
    """A region's letter as it would be sent, with its recipients."""
    with services.db.read() as conn:
        _known_region(conn, region)
        try:
            return render_region_letter(conn, name, region, services.config.mail)
        except (UnknownLetter, MissingData, TemplateMissing) as exc:
            raise _translate(exc) from None


def letter_warnings(services: Services, name: str | None = None) -> list[str]:
    """Addresses of the configuration still left as in the example (for stderr)."""
    return [translate(w) for w in placeholder_warnings(services.config.mail, name)]


def queue_letter(services: Services, name: str, region: str, now: datetime,
                 actor: str | None = None, channel: str = "cli") -> str:
    """Queue a region's letter (`coordinator` or `registry`); returns its Message-ID.

    With an actor, the actor must be the region's regional coordinator or support; the
    letter and its history event are written in one transaction. Without one (the demo, the
    operator) it is recorded as the system.
    """
    actor = (actor or "system").strip().lower()
    with services.db.write() as conn:
        _known_region(conn, region)
        denied = _may_send(conn, actor, region) if actor != "system" else None
        if denied is None:
            try:
                message_id = queue_region_letter(conn, name, region, services.config.mail, now)
            except (UnknownLetter, MissingData, TemplateMissing) as exc:
                raise _translate(exc) from None
            history.append(conn, [NewEvent(
                at=now, event="LetterQueued", kind="region", code=region, region_code=region,
                actor=actor, trigger=f"letter {name} --send by {actor}", reason=name,
                data={"letter": name, "message_id": message_id, "channel": channel})])
            return message_id
    with services.db.write() as conn:  # refused attempts are on record too
        history.append(conn, [NewEvent(at=now, event="ActionDenied", kind="region", code=region,
                                       region_code=region, actor=actor, reason=denied.message,
                                       trigger=f"letter {name} --send by {actor}",
                                       data={"channel": channel})])
    raise PermissionDenied(reasons(denied), denied)


def _known_region(conn: Connection, region: str) -> None:
    if repo.target(conn, "region", region) is None:
        raise UnknownCode("region", region)


def _may_send(conn: Connection, actor: str, region: str) -> Verdict | None:
    """None if `actor` may send the region's letters, else the refusal."""
    grants = repo.actor_grants(conn, actor)
    if grants is None:
        return Verdict.deny(Reason("unknown_actor", f"unknown actor {actor!r}",
                                   f"неизвестный пользователь {actor}"))
    verdict = may_send_letter(actor, grants, Target("region", region, region))
    return None if verdict else verdict


def remind(services: Services, now: datetime, dry_run: bool = False) -> PassSummary:
    """One reminder pass at `now`: reminders and escalations due, queued in one transaction.

    Refused (exit 6) while the configured step definition is not the one in force: its SLAs
    would not be the ones the machines follow."""
    services.check_definition(now)
    cfg = services.config
    return run_pass(services.db, now, cfg.mail, cfg.reminders, cfg.steps, dry_run=dry_run)


def deliver_outbox(services: Services, now: datetime | Callable[[], datetime],
                   limit: int | None = None, stop: threading.Event | None = None) -> Delivery:
    """Deliver due messages with the configured transport (file: .eml files in mail.dir).

    A server that cannot be used as configured is a configuration error (exit 6); the
    messages stay queued.
    """
    try:
        return deliver(services.db, services.config.mail, now, limit=limit, stop=stop)
    except SmtpSettingsRefused as exc:
        raise InvalidInput(error_text(exc)) from None


def digest(services: Services, now: datetime) -> int:
    """Queue this week's digest for the program managers who have not had it."""
    return queue_digest(services.db, now, services.config.mail, services.config.steps)


def list_outbox(services: Services, status: str | None = None, limit: int | None = None
                ) -> list[dict[str, Any]]:
    with services.db.read() as conn:
        return outbox.listing(conn, status, limit,
                              partial(subject_of, mail=services.config.mail))


def serve(services: Services, clock: Callable[[], datetime], stop: threading.Event,
          schedule: Schedule | None = None) -> None:
    """`rollout run`: the scheduler until `stop` is set (SIGTERM); it does not start under a
    step definition that is not the one in force (exit 6, naming `rollout steps migrate`)."""
    services.check_definition(clock())
    cfg = services.config
    run_service(services.db, cfg.mail, cfg.reminders, cfg.steps, clock, stop,
                schedule or Schedule())


__all__ = ["REGION_LETTERS", "deliver_outbox", "digest", "letter_warnings", "list_outbox",
           "queue_letter", "remind", "render_letter", "serve"]

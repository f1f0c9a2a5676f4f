"""Mail commands: letter, remind, outbox list|send, run."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from storage.text import Phrase
from workflow import mail as mail_mod
from workflow.cli.common import AppContext, at_option, echo_json, now, pass_app
from workflow.errors import UsageError
from workflow.i18n import N_, _, error_text, ngettext, translate

# An outbox message's status as people read it (`--json` keeps the slug).
STATUSES = {"queued": N_("queued"), "sent": N_("sent"), "failed": N_("failed")}


def register(cli: click.Group) -> None:
    for command in (letter, remind, outbox, run):
        cli.add_command(command)


@click.command()
@click.argument("name", metavar="NAME")
@click.option("--region", required=True, metavar="CODE", help="The region's code.")
@click.option("--send", is_flag=True, help="Queue the letter in the outbox (needs --as).")
@click.option("--as", "actor", metavar="EMAIL", help="Who sends it (with --send).")
@at_option
@pass_app
def letter(app: AppContext, name: str, region: str, send: bool, actor: str | None,
           at: str | None) -> None:
    """Render a region's letter (coordinator, registry) to stdout; --send queues it."""
    if send:
        if not actor:
            raise UsageError(_("letter --send needs --as EMAIL: the person sending it"))
        message_id = mail_mod.queue_letter(app.services, name, region, now(at), actor)
        _warn(mail_mod.letter_warnings(app.services, name))
        click.echo(_("letter {name} for region {region} queued as {id}; `rollout outbox send` "
                     "delivers it", name=name, region=region, id=message_id))
        return
    found = mail_mod.render_letter(app.services, name, region)
    _warn(mail_mod.letter_warnings(app.services, name))
    rendered = found.rendered
    click.echo(_("To: {addresses}", addresses=", ".join(a for _n, a in found.to)))
    if found.cc:
        click.echo(_("Cc: {addresses}", addresses=", ".join(a for _n, a in found.cc)))
    if found.reply_to:
        click.echo(_("Reply-To: {addresses}",
                     addresses=", ".join(a for _n, a in found.reply_to)))
    click.echo(_("Subject: {subject}", subject=rendered.subject))
    for a in rendered.attachments:
        size = ngettext("{n} byte", "{n} bytes", len(a.data)) if a.data is not None else \
            ngettext("{n} row", "{n} rows", a.text.count(chr(10)) - 1)
        click.echo(_("Attachment: {file} ({mime}, {size})", file=a.filename, mime=a.mime,
                     size=size))
    click.echo("")
    click.echo(rendered.text, nl=False)


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        click.echo(w, err=True)


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be queued; queue nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@at_option
@pass_app
def remind(app: AppContext, dry_run: bool, as_json: bool, at: str | None) -> None:
    """One reminder pass: queue the reminders and escalations that are due."""
    summary = mail_mod.remind(app.services, now(at), dry_run=dry_run)
    if as_json:
        echo_json(summary.as_dict())
    else:
        click.echo(translate(summary.summary()))


@click.group()
def outbox() -> None:
    """See and deliver queued mail."""


@outbox.command("list")
@click.option("--status", type=click.Choice(["queued", "sent", "failed"]))
@click.option("--limit", type=click.IntRange(min=1), help="Show at most N messages.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def outbox_list(app: AppContext, status: str | None, limit: int | None, as_json: bool) -> None:
    """List messages, newest first."""
    rows = mail_mod.list_outbox(app.services, status, limit)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(_("the outbox is empty") if not status else
                   _("no messages with status «{status}»", status=_(STATUSES[status])))
    width = max((len(_(w)) for w in STATUSES.values()), default=0)
    for r in rows:
        extra = f"  ({r['last_error']})" if r["last_error"] and r["status"] != "sent" else ""
        word = _(STATUSES[r["status"]]) if r["status"] in STATUSES else r["status"]
        click.echo(f"#{r['id']:<6} {word:<{width}} "
                   + ngettext("{n} attempt", "{n} attempts", r["attempts"])
                   + f"  {', '.join(r['to'])}  {r['subject']}{extra}")


@outbox.command("send")
@click.option("--limit", type=click.IntRange(min=1), help="Deliver at most N messages.")
@at_option
@pass_app
def outbox_send(app: AppContext, limit: int | None, at: str | None) -> None:
    """Deliver queued messages that are due (transport file: .eml files in mail.dir)."""
    _logging()
    report = mail_mod.deliver_outbox(app.services, now(at), limit=limit)
    click.echo(translate(report.summary()))


@click.command()
@at_option
@pass_app
def run(app: AppContext, at: str | None) -> None:
    """The service: reminder passes hourly, the relay every few seconds, a weekly digest.

    A second `run` on the same database waits as a standby. SIGTERM finishes the message in
    flight and exits 0.
    """
    _logging()
    clock = _clock(at)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        logging.getLogger("rollout.mail").info(_("signal {n}: stopping", n=signum))
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log = logging.getLogger("rollout.mail")
    app.services.db.on_wait = lambda text: log.warning(translate(text))  # beside the jobs' log
    mail_mod.serve(app.services, clock, stop)


def _clock(at: str | None) -> Any:
    """The wall clock, or with --at a clock that starts at that moment and runs on."""
    if not at:
        return lambda: datetime.now(UTC)
    start, t0 = now(at), time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - t0)


def _logging() -> None:
    """What was sent, deferred and failed, to stderr; other libraries stay quiet."""
    log = logging.getLogger("rollout")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(Translating("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


class Translating(logging.Formatter):
    """Log lines in the reader's language: the layers below log a Phrase (storage.text), which
    this translates, a Phrase among the arguments too (or an error that carries one)."""

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.msg, Phrase):
            record.msg = translate(record.msg)
        if isinstance(record.args, tuple) and any(isinstance(a, Phrase | BaseException)
                                                  for a in record.args):
            record.args = tuple(translate(a) if isinstance(a, Phrase) else error_text(a)
                                if isinstance(a, BaseException) else a for a in record.args)
        return super().format(record)

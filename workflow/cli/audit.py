"""`rollout audit`: a machine's history, the whole export, and the chain check."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from storage import anchors as anchors_mod
from storage import history
from workflow import audit as audit_mod
from workflow.cli.common import (
    AppContext,
    at_option,
    echo_json,
    now,
    pass_app,
    pick_target,
    target_options,
)
from workflow.i18n import _, event_name, kind_name, ngettext
from workflow.render import console
from workflow.zones import local_time, zone_name


def register(cli: click.Group) -> None:
    cli.add_command(audit)


@click.group()
def audit() -> None:
    """The tamper-evident history: log, export, verify, anchor."""


@audit.command()
@target_options()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, oldest first).")
@pass_app
def log(app: AppContext, region: str | None, school: str | None, as_json: bool) -> None:
    """A machine's history, oldest first."""
    kind, code = pick_target(region, school)
    with app.services.db.read() as conn:
        events = audit_mod.machine_log(conn, kind, code)
        tz = audit_mod.machine_timezone(conn, kind, code)
    if as_json:
        echo_json(events)
        return
    table = Table(title=_("history of {kind} {code}", kind=kind_name(kind), code=code),
                  caption=_("times: {zone} ({tz})", zone=zone_name(tz), tz=tz),
                  header_style="bold")
    for col in ("#", _("at"), _("recorded"), _("event"), _("step"), _("from → to"), _("actor"),
                _("reason / trigger")):
        table.add_column(col)
    for e in events:
        # `at` is the moment the command claimed (--at); `recorded` when it was really written
        recorded = local_time(e["recorded_at"], tz, seconds=True) or "—"
        table.add_row(str(e["seq"]), local_time(e["at"], tz, seconds=True),
                      recorded, event_name(e["event"]),
                      e["step"] or "",
                      f"{e['from_state'] or ''} → {e['to_state'] or ''}", e["actor"],
                      e["reason"] or e["trigger"] or "")
    console().print(table)


@audit.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "xlsx"]), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True)
@pass_app
def export(app: AppContext, fmt: str, out: str) -> None:
    """Write the whole history to a file: JSONL, or CSV/XLSX safe to open in a spreadsheet."""
    with app.services.db.read() as conn:
        n = audit_mod.export(conn, fmt, Path(out))
    click.echo(_("wrote {n} events to {out}", n=n, out=out))


@audit.command()
@click.option("--anchor", "anchor_texts", multiple=True, metavar="SEQ:HASH",
              help="A head printed earlier by `audit anchor` (repeatable).")
@click.option("--anchors", "anchors_file", type=click.Path(dir_okay=False),
              help="A file of anchors, one SEQ:HASH a line.")
@pass_app
def verify(app: AppContext, anchor_texts: tuple[str, ...], anchors_file: str | None) -> None:
    """Check the chain, the anchors, and that the stored state is what the history says.

    Exit 7 names the first event (or machine, person, school) that does not match.
    """
    given = [audit_mod.parse_anchor(t, f"--anchor {t}") for t in anchor_texts]
    if anchors_file:
        given += audit_mod.read_anchors(Path(anchors_file))
    with app.services.db.snapshot() as conn:
        n, checked, n_anchors = audit_mod.verify(conn, given)
    click.echo(_("history verified: {events}, the chain is intact; anchors checked: {anchors}",
                 events=ngettext("{n} event", "{n} events", n), anchors=n_anchors))
    matching = _("matching the history: machines {machines}, appointments {assignments}, "
                 "school figures {metrics}", machines=checked.machines,
                 assignments=checked.assignments, metrics=checked.metrics)
    if checked.metrics_unchecked:
        matching += ngettext(
            " (and {n} school loaded by the first release, without figures in the history)",
            " (and {n} schools loaded by the first release, without figures in the history)",
            checked.metrics_unchecked)
    click.echo(matching)


@audit.command()
@click.option("--as", "actor", default="operator", show_default=True, metavar="EMAIL",
              help="Who records the anchor.")
@at_option
@pass_app
def anchor(app: AppContext, actor: str, at: str | None) -> None:
    """Verify the history, record its head and print it as SEQ:HASH (the last line).

    Keep that line outside the database (the auditors' digest carries it): with it, `audit
    verify --anchor` proves later that nothing up to that event was cut or rewritten.
    """
    db = app.services.db
    with db.snapshot() as conn:
        n, _checked, _anchors = audit_mod.verify(conn)
        verified = history.head(conn)
    with db.write() as conn:
        mark = anchors_mod.record(conn, now(at), actor.strip().lower(), verified)
    click.echo(ngettext("history verified ({n} event); its head is recorded in the anchors "
                        "table. Keep the line below outside the database:",
                        "history verified ({n} events); its head is recorded in the anchors "
                        "table. Keep the line below outside the database:", n))
    click.echo(str(mark))

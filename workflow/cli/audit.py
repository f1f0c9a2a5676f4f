"""`rollout audit`: a machine's history, the whole export, and the chain check."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from storage import history
from workflow import audit as audit_mod
from workflow.cli.common import AppContext, echo_json, pass_app, pick_target, target_options
from workflow.render import console


def register(cli: click.Group) -> None:
    cli.add_command(audit)


@click.group()
def audit() -> None:
    """The tamper-evident history: log, export, verify."""


@audit.command()
@target_options()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, oldest first).")
@pass_app
def log(app: AppContext, region: str | None, school: str | None, as_json: bool) -> None:
    """A machine's history, oldest first."""
    kind, code = pick_target(region, school)
    with app.services.db.read() as conn:
        events = audit_mod.machine_log(conn, kind, code)
    if as_json:
        echo_json(events)
        return
    table = Table(title=f"history of {kind} {code}", header_style="bold")
    for col in ("#", "at (UTC)", "event", "step", "from → to", "actor", "reason / trigger"):
        table.add_column(col)
    for e in events:
        table.add_row(str(e["seq"]), e["at"][:19].replace("T", " "), e["event"], e["step"] or "",
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
    click.echo(f"wrote {n} events to {out}")


@audit.command()
@pass_app
def verify(app: AppContext) -> None:
    """Recompute the history's hash chain; exit 7 naming the first event that does not match."""
    with app.services.db.read() as conn:
        n = history.verify(conn)
    click.echo(f"history verifies: {n} events, chain intact")

"""Commands that read: report and diagram."""

from __future__ import annotations

import json

import click

from storage import spreadsheets
from workflow import diagram as diagram_mod
from workflow import render
from workflow import report as report_mod
from workflow.cli.common import AppContext, at_option, now, pass_app
from workflow.errors import UsageError
from workflow.i18n import _


def register(cli: click.Group) -> None:
    cli.add_command(report)
    cli.add_command(diagram)


@click.command()
@click.option("--region", metavar="CODE", help="One region: per municipality and school.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
              default="table", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--out", "out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write to FILE instead of the terminal (required for xlsx).")
@at_option
@pass_app
def report(app: AppContext, region: str | None, fmt: str, as_json: bool, out: str | None,
           at: str | None) -> None:
    """Progress: per region, or with --region per municipality and school."""
    fmt = "json" if as_json else fmt
    if fmt == "xlsx" and not out:
        raise UsageError(_("--format xlsx writes a file: give --out FILE"))
    if fmt == "table" and out:
        raise UsageError(_("--out writes json, csv or xlsx: give --format"))
    with app.services.db.read() as conn:
        data = report_mod.regional(conn, region) if region else report_mod.national(
            conn, now(at), app.config.steps)
    if fmt in ("csv", "xlsx"):
        header, rows = render.regional_rows(data) if region else render.national_rows(data)
        if out:
            n = spreadsheets.write_table(out, fmt, header, rows, title="Ход внедрения")
            click.echo(_("rows written: {n} → {out}", n=n, out=out), err=True)
        else:
            click.echo(spreadsheets.csv_text(header, rows), nl=False)
        return
    if out:
        with click.open_file(out, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif region:
        render.print_regional(data)
    else:
        render.print_national(data)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid",
              show_default=True)
@pass_app
def diagram(app: AppContext, fmt: str) -> None:
    """The step graph in force and the life of a step (Mermaid or Graphviz dot)."""
    policies = app.config.steps
    click.echo(diagram_mod.mermaid(policies) if fmt == "mermaid" else diagram_mod.dot(policies),
               nl=False)

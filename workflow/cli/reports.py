"""Commands that read: report and diagram."""

from __future__ import annotations

import json

import click

from workflow import diagram as diagram_mod
from workflow import render
from workflow import report as report_mod
from workflow.cli.common import AppContext, pass_app


def register(cli: click.Group) -> None:
    cli.add_command(report)
    cli.add_command(diagram)


@click.command()
@click.option("--region", metavar="CODE", help="One region: per municipality and school.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@pass_app
def report(app: AppContext, region: str | None, fmt: str, as_json: bool) -> None:
    """Progress: per region, or with --region per municipality and school."""
    fmt = "json" if as_json else fmt
    with app.services.db.read() as conn:
        data = report_mod.regional(conn, region) if region else report_mod.national(conn)
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif fmt == "csv":
        click.echo(render.regional_csv(data) if region else render.national_csv(data), nl=False)
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

"""`rollout demo`: a sample rollout on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import click

from workflow import render
from workflow import report as report_mod
from workflow.i18n import _, ngettext


def register(cli: click.Group) -> None:
    cli.add_command(demo)


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), default="rollout-demo",
              show_default=True, help="Where to build it (a new folder, or an earlier demo's).")
@click.option("--quiet", is_flag=True, help="Print only the progress table and where to look.")
def demo(directory: str, quiet: bool) -> None:
    """Build three sample regions, play five weeks of their rollout, show the progress."""
    from web import write_static
    from workflow.demo import run_demo

    path = Path(directory)
    services, finished = run_demo(path, echo=(lambda _line: None) if quiet else click.echo)
    write_static(services, path.resolve() / "dashboard", finished)
    with services.db.read() as conn:
        render.print_national(report_mod.national(conn))
    cfg = path.resolve() / "config.yaml"
    mail = path.resolve() / "mail"
    n_mail = len(list(mail.glob("*.eml"))) if mail.exists() else 0
    index = path.resolve() / "dashboard" / "index.html"
    click.echo("")
    click.echo(_("Where to look:"))
    click.echo(_("  configuration   {path}", path=cfg))
    click.echo(ngettext("  mail (.eml)     {path}  ({n} message)",
                        "  mail (.eml)     {path}  ({n} messages)", n_mail, path=mail))
    if index.exists():
        click.echo(_("  dashboard       {path}", path=index))
    click.echo(_("Try:"))
    click.echo(f"  rollout --config {cfg} status --region 66")
    click.echo(f"  rollout --config {cfg} report --region 07")
    click.echo(f"  rollout --config {cfg} audit log --school 070101")
    click.echo(f"  rollout --config {cfg} audit verify")
    services.db.dispose()

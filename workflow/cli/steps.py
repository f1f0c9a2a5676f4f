"""`rollout steps diff` and `rollout steps migrate`: move running machines to a changed step
definition (graph, thresholds, SLAs, shares), as process engines migrate their instances."""

from __future__ import annotations

import click

from workflow.cli.common import AppContext, at_option, echo_json, now, pass_app
from workflow.i18n import _, ngettext


def register(cli: click.Group) -> None:
    cli.add_command(steps)


@click.group()
def steps() -> None:
    """The step definition in force, and moving the machines to a changed one."""


@steps.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@at_option
@pass_app
def diff(app: AppContext, as_json: bool, at: str | None) -> None:
    """What the configured definition changes, and for how many machines (writes nothing)."""
    from workflow.definitions import migrate

    report = migrate(app.services.db, app.config.steps, now(at), dry_run=True)
    if as_json:
        echo_json(report.as_dict())
    else:
        print_report(report)


@steps.command("migrate")
@click.option("--dry-run", is_flag=True, help="Count what would move; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@at_option
@pass_app
def migrate_(app: AppContext, dry_run: bool, as_json: bool, at: str | None) -> None:
    """Move every machine to the configured definition: one history event per machine moved;
    nothing done is lost. Region by region, so nobody waits; safe to run again."""
    from workflow.definitions import migrate

    report = migrate(app.services.db, app.config.steps, now(at), dry_run=dry_run)
    if as_json:
        echo_json(report.as_dict())
    else:
        print_report(report)


def print_report(report: object) -> None:
    from workflow.definitions import MigrationReport

    assert isinstance(report, MigrationReport)
    if report.up_to_date:
        click.echo(_("the step definition in force (version {version}) is the configured one: "
                     "nothing to migrate", version=report.to_version))
        return
    click.echo(_("definition {version} → the configuration:", version=report.from_version))
    for step, key, old, new in report.changes:
        click.echo(f"  {step}.{key}: {_show(old)} → {_show(new)}")
    moved = (ngettext("{n} region", "{n} regions", report.moved.get("region", 0)) + ", "
             + ngettext("{n} school", "{n} schools", report.moved.get("school", 0)))
    if report.dry_run:
        click.echo(_("machines looked at: {machines}; would move: {moved}",
                     machines=report.machines, moved=moved))
    else:
        click.echo(_("machines looked at: {machines}; moved: {moved}",
                     machines=report.machines, moved=moved))
    for slug, n in sorted(report.opened.items()):
        click.echo(ngettext("  {slug}: opens on {n} machine", "  {slug}: opens on {n} machines",
                            n, slug=slug))
    for slug, n in sorted(report.pending.items()):
        click.echo(ngettext("  {slug}: back to pending on {n} machine",
                            "  {slug}: back to pending on {n} machines", n, slug=slug))
    if not report.dry_run:
        click.echo(_("steps completed by their evidence once open: {n}", n=report.completed))
        click.echo(_("definition {version} is now in force", version=report.to_version))
    else:
        click.echo(_("nothing was written; apply it with `rollout steps migrate`"))


def _show(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return "—" if value is None else str(value)

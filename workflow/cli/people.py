"""`rollout unassign`: remove a person's role (the counterpart of `assign`)."""

from __future__ import annotations

import click

from workflow.cli.common import AppContext, actor_option, at_option, now, pass_app


def register(cli: click.Group) -> None:
    cli.add_command(unassign)


@click.command()
@click.option("--role", required=True, type=click.Choice(
    ["regional_coordinator", "municipal_coordinator", "school_admin"]))
@click.option("--scope", required=True, metavar="CODE", help="Region, municipality or school code.")
@click.option("--email", required=True, help="The person whose role is removed.")
@click.option("--reason", help="Why (kept in the history).")
@actor_option
@at_option
@pass_app
def unassign(app: AppContext, role: str, scope: str, email: str, reason: str | None, actor: str,
             at: str | None) -> None:
    """Remove a regional or municipal coordinator or a school admin; the steps stay done."""
    from workflow.people import unassign as remove

    click.echo(remove(app.services, role, scope, email, actor, now(at), reason))

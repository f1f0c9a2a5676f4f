"""Commands on the registry and machines: init, import, assign, status, advance, skip, reopen."""

from __future__ import annotations

import sys
from typing import Any

import click

from workflow.cli.common import (
    AppContext,
    actor_option,
    at_option,
    check_arguments,
    echo_json,
    now,
    pass_app,
    pick_target,
    target_options,
)
from workflow.i18n import _
from workflow.render import print_status

# The import kinds, spelled out so that the CLI does not load the importer to list them.
KINDS = ("regions", "municipalities", "schools", "people", "metrics")


def register(cli: click.Group) -> None:
    for command in (init, import_, assign, status, advance, skip, reopen, settle):
        cli.add_command(command)


@click.command()
@pass_app
def init(app: AppContext) -> None:
    """Create or migrate the database; safe to run again."""
    from storage import Database
    from workflow.cli.common import say_waiting

    cfg = app.config
    if cfg.path is None:  # no configuration file anywhere: write the reference one here
        from importlib.resources import files
        from pathlib import Path

        reference = files("workflow").joinpath("reference_config.yaml").read_text("utf-8")
        Path("config.yaml").write_text(reference, encoding="utf-8")
        click.echo(_("wrote config.yaml: the reference configuration, every key at its default"))
    db = Database(cfg.database_url, synchronous=cfg.synchronous)
    db.on_wait = say_waiting
    before = db.revision() if db.tables() else None
    head = db.migrate()
    if before == head:
        click.echo(_("database {url} is up to date (schema {head})", url=db.display_url,
                     head=head))
    else:
        click.echo(_("database {url} migrated to schema {head}", url=db.display_url, head=head))
    _adopt_step_definition(cfg, db)


def _adopt_step_definition(cfg: Any, db: Any) -> None:
    """A new database adopts the configured step definition; one upgraded from the first
    release (its strict line) moves its machines to the configured graph right away, with one
    history event per machine; any other change waits for `rollout steps migrate`."""
    from datetime import UTC, datetime

    from states.graph import fingerprint
    from storage import step_definitions
    from workflow.cli.steps import print_report
    from workflow.definitions import LEGACY_NOTE, ensure_in_force, migrate

    moment = datetime.now(UTC)
    with db.read() as conn:
        stored = step_definitions.definition_in_force(conn)
    if stored is None:
        with db.write() as conn:
            ensure_in_force(conn, cfg.steps, moment)
    elif stored.fingerprint != fingerprint(cfg.steps):
        if stored.note == LEGACY_NOTE:
            click.echo(_("the machines of the first release follow the strict line; moving "
                         "them to the configured step graph"))
            print_report(migrate(db, cfg.steps, moment,
                                 note="rollout init: from the first release's strict line"))
        else:
            click.echo(_("the configured step definition differs from the one in force "
                         "(version {version}): see `rollout steps diff`, then run "
                         "`rollout steps migrate`", version=stored.version))


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and report what would change; write nothing.")
@click.option("--remove-missing", is_flag=True,
              help="people: remove the roles on the file's scopes that the file no longer lists.")
@at_option
@pass_app
def import_(app: AppContext, kind: str, file: str, dry_run: bool, remove_missing: bool,
            at: str | None) -> None:
    """Import KIND (regions, municipalities, schools, people, metrics) from a CSV or XLSX FILE.

    All or nothing: a file with any bad row writes nothing and lists every bad row as
    FILE:ROW: column: problem.
    """
    from workflow.importing import import_file

    result = import_file(app.services, kind, file, now=now(at), dry_run=dry_run,
                         progress=sys.stderr.isatty(), remove_missing=remove_missing)
    for notice in result.notices:  # columns ignored, a header found below a title
        click.echo(notice, err=True)
    for removal in result.removed:
        click.echo(_("removed: {what}", what=removal))
    click.echo(result.summary())


@click.command()
@click.option("--role", required=True, type=click.Choice(
    ["regional_coordinator", "municipal_coordinator", "school_admin"]))
@click.option("--scope", required=True, metavar="CODE", help="Region, municipality or school code.")
@click.option("--email", required=True, help="The appointed person's e-mail.")
@click.option("--name", required=True, help="The appointed person's full name (ФИО).")
@click.option("--position", help="Position (должность), used in letters.")
@click.option("--organisation", help="Organisation (организация), used in letters.")
@click.option("--phone", help="Phone, used in letters.")
@actor_option
@at_option
@pass_app
def assign(app: AppContext, role: str, scope: str, email: str, name: str, position: str | None,
           organisation: str | None, phone: str | None, actor: str, at: str | None) -> None:
    """Appoint a regional or municipal coordinator or a school admin."""
    check_arguments(scope=scope, email=email, name=name, position=position, phone=phone,
                    organisation=organisation)
    click.echo(app.services.assign(role, scope, email, name, actor, now(at), position, phone,
                                   organisation))


@click.command()
@target_options()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def status(app: AppContext, region: str | None, school: str | None, as_json: bool) -> None:
    """Show a machine: its state, each step's status and since when, what blocks it."""
    kind, code = pick_target(region, school)
    data = app.services.status(kind, code)
    if as_json:
        echo_json(data)
    else:
        print_status(data)


def _step_command(name: str, help_text: str, reason_required: bool, school: bool = True):
    @click.command(name, help=help_text)
    @target_options(school)
    @click.option("--step", required=True, metavar="SLUG", help="The step's slug.")
    @actor_option
    @click.option("--reason", required=reason_required, help="Why (kept in the history).")
    @at_option
    @pass_app
    def command(app: AppContext, region: str | None, step: str, actor: str,
                reason: str | None, at: str | None, school: str | None = None) -> None:
        kind, code = pick_target(region, school)
        action = getattr(app.services, "advance" if name == "advance" else name)
        outcome = action(kind, code, step, actor, now(at), reason)
        click.echo(outcome.message)

    return command


advance = _step_command("advance", "Complete the current step of a region or a school.", False)
skip = _step_command("skip", "Skip an optional step of a region, with a reason.", True,
                     school=False)
reopen = _step_command("reopen", "Make a done step current again; later steps become pending.",
                       True)




@click.command()
@click.option("--region", metavar="CODE", help="Only this region (default: every region).")
@at_option
@pass_app
def settle(app: AppContext, region: str | None, at: str | None) -> None:
    """Let schools catch up with their region: finish a cascade that was stopped half-way.

    A region's step reaches a big region's schools a chunk at a time; if the process died
    between chunks, the schools not reached yet still wait. Safe to run again.
    """
    from workflow.cascade import catch_up

    done = catch_up(app.services, now(at), region)
    if not done:
        click.echo(_("every school is up to date with its region; nothing to do"))
    for code, n in done.items():
        click.echo(_("region {code}: {n} step(s) completed by its schools", code=code, n=n))

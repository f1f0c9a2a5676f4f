"""`rollout reconcile`: step 2's registry check, its acceptance, and support's confirmation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from workflow.cli.common import AppContext, at_option, echo_json, now, pass_app
from workflow.errors import UsageError
from workflow.i18n import N_, _

COLUMNS = (N_("Code"), N_("Name"), N_("INN"), N_("KPP"), N_("Details"))


def register(cli: click.Group) -> None:
    cli.add_command(reconcile)


@click.command()
@click.option("--region", required=True, metavar="CODE", help="The region's code.")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), metavar="REQUEST.xlsx",
              help="Write the registry request in the operator's form (XLSX).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--accept", is_flag=True,
              help="Accept the open discrepancies of the last reconciliation (needs --reason).")
@click.option("--entered", is_flag=True,
              help="Support: the request of the last reconciliation was entered.")
@click.option("--reason", help="Why the remaining differences stay (with --accept).")
@click.option("--as", "actor", metavar="EMAIL", help="The person acting (checked).")
@at_option
@pass_app
def reconcile(app: AppContext, region: str, file: str | None, out: str | None, as_json: bool,
              accept: bool, entered: bool, reason: str | None, actor: str | None,
              at: str | None) -> None:
    """Step 2: compare the region's own list of schools (CSV or XLSX FILE) with the registry.

    Records the result; --out writes the registry request (добавить / удалить / привязать) as
    an XLSX in the operator's form. --accept --reason TEXT --as EMAIL accepts what stays open.
    """
    from workflow import reconcile as rec

    if accept and entered:
        raise UsageError(_("give --accept or --entered, not both"))
    if accept or entered:
        if file or out:
            raise UsageError(_("--accept and --entered act on the last reconciliation; "
                               "they take no FILE or --out"))
        if not actor:
            raise UsageError(_("reconcile {option} needs --as EMAIL",
                               option="--accept" if accept else "--entered"))
        if accept:
            click.echo(rec.accept(app.services, region, reason or "", actor, now(at)))
        else:
            click.echo(rec.entered(app.services, region, actor, now(at)))
        return
    if not file:
        raise UsageError(_("reconcile needs the region's list: rollout reconcile --region CODE "
                           "FILE (or --accept / --entered)"))
    done = rec.reconcile(app.services, region, file, now(at), actor)
    written = _write_request(done, Path(out)) if out else None
    if as_json:
        data = done.as_json()
        if out:
            data["request"] = {"file": out, "rows": written}
        echo_json(data)
        return
    _print(done)
    if out:
        click.echo(_("The request in the operator's form: {file} (rows: {n})", file=out,
                     n=written) if written
                   else _("No request written: nothing to change in the registry"))


def _write_request(done: Any, out: Path) -> int:
    """Write aside, then move into place: a reader never sees half a workbook."""
    from notifications.registry_request import request_rows, write_xlsx

    rows = request_rows(done.result.items)
    if not rows:
        return 0
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(write_xlsx(rows))
    tmp.replace(out)
    return len(rows)


def _print(done: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    from workflow.render import console as make_console

    console = make_console()
    r = done.result
    c = r.counts()
    click.echo(_("Registry reconciliation No. {number}, region {region}, file {file}: "
                 "matched {matched}; add {add}, remove {remove}, relink {relink}, change "
                 "{changed}, not matched {unmatched}", number=done.number, region=done.region,
                 file=done.file, **c))
    from workflow.reconcile.present import SECTIONS, detail

    for kind, title in SECTIONS:
        items = getattr(r, kind)
        if not items:
            continue
        table = Table(title=_(title), title_justify="left")
        for col in COLUMNS:
            table.add_column(_(col), overflow="fold")
        for d in items:
            # Text, not markup: a name with [brackets] is shown as written
            table.add_row(*(Text(x) for x in (d.get("code") or "", d["name"], d.get("inn") or "",
                                              d.get("kpp") or "", detail(d))))
        console.print(table)
    if done.open:
        click.echo(_("Open discrepancies: {n}. Step 2 is done after a new reconciliation "
                     "without discrepancies or once they are accepted (reconcile --accept).",
                     n=done.open))
    else:
        click.echo(_("No discrepancies: the registry matches the region's list."))

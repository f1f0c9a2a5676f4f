"""`rollout reconcile`: step 2's registry check, its acceptance, and support's confirmation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from workflow.cli.common import AppContext, at_option, echo_json, now, pass_app
from workflow.errors import UsageError


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
        raise UsageError("give --accept or --entered, not both")
    if accept or entered:
        if file or out:
            raise UsageError("--accept and --entered act on the last reconciliation; "
                             "they take no FILE or --out")
        if not actor:
            raise UsageError(f"reconcile --{'accept' if accept else 'entered'} needs --as EMAIL")
        if accept:
            click.echo(rec.accept(app.services, region, reason or "", actor, now(at)))
        else:
            click.echo(rec.entered(app.services, region, actor, now(at)))
        return
    if not file:
        raise UsageError("reconcile needs the region's list: rollout reconcile --region CODE "
                         "FILE (or --accept / --entered)")
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
        click.echo(f"Заявка в форме оператора: {out} (строк: {written})" if written
                   else "Заявка не записана: изменений для реестра нет")


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
    click.echo(f"Сверка реестра № {done.number}, регион {done.region}, файл {done.file}: "
                  f"совпало {c['matched']}; добавить {c['add']}, удалить {c['remove']}, "
                  f"привязать {c['relink']}, изменить {c['changed']}, "
                  f"не сопоставлено {c['unmatched']}")
    from workflow.reconcile.present import SECTIONS, detail

    for kind, title in SECTIONS:
        items = getattr(r, kind)
        if not items:
            continue
        table = Table(title=title, title_justify="left")
        for col in ("Код", "Наименование", "ИНН", "КПП", "Подробности"):
            table.add_column(col, overflow="fold")
        for d in items:
            # Text, not markup: a name with [brackets] is shown as written
            table.add_row(*(Text(x) for x in (d.get("code") or "", d["name"], d.get("inn") or "",
                                              d.get("kpp") or "", detail(d))))
        console.print(table)
    if done.open:
        click.echo(f"Открыто расхождений: {done.open}. Шаг 2 будет выполнен после новой "
                      "сверки без расхождений или после их принятия (reconcile --accept).")
    else:
        click.echo("Расхождений нет: реестр совпадает со списком региона.")

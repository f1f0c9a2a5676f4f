"""Terminal output: status and report tables with Rich, CSV for spreadsheets."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from states import STEPS
from workflow.i18n import _, kind_name, pick, role_title
from workflow.zones import local_time, zone_name

MARKS = {"done": "✔", "skipped": "↷", "current": "▶", "pending": "·"}


def status_word(status: str) -> str:
    """A step's status as people read it (JSON keeps the slug)."""
    return {"done": _("done"), "skipped": _("skipped"), "current": _("current"),
            "pending": _("pending")}.get(status, status)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away: rich would exit 1; the CLI ends quietly with 0 instead."""
        self.quiet = True
        raise BrokenPipeError()


def console() -> Console:
    """A terminal's own width; 160 columns when piped, so that files and logs are not cramped."""
    probe = Console()
    return _Console(highlight=False, soft_wrap=False,
                    width=None if probe.is_terminal else 160)


def print_status(data: dict[str, Any]) -> None:
    out = console()
    out.print(f"[bold]{kind_name(data['kind'])} {data['code']}[/bold] {data['name']}  "
              + _("state: [bold]{state}[/bold]", state=data["state"]))
    table = Table(show_header=True, header_style="bold")
    tz = data.get("timezone") or "Europe/Moscow"
    for col in ("#", _("step"), _("status"), _("since ({zone})", zone=zone_name(tz)),
                _("title")):
        table.add_column(col)
    for s in data["step_details"]:
        table.add_row(str(s["number"]), s["slug"], f"{MARKS[s['status']]} "
                      f"{status_word(s['status'])}", local_time(s["since"], tz), s["title"])
    out.print(table)
    for o in data.get("open", []):
        out.print(_("open: {number}. {step} since {since}", number=o["number"], step=o["step"],
                    since=local_time(o["since"], tz)))
        for reason in o["holding"]:
            out.print(_("  holds it: {reason}",
                        reason=pick(reason["message"], reason.get("message_ru") or "")))
    for person in data.get("people", []):
        mark = ("  [bold red]" + _("broken contact") + "[/bold red]") if person.get("broken") \
            else ""
        title = role_title(person["role"])
        out.print(f"{title[:1].upper()}{title[1:]}: {person['name']} <{person['email']}>{mark}")
    for broken in data.get("broken_contacts", []):
        out.print(_("mail to {email} bounces since {since}: {error}", email=broken["email"],
                    since=broken["since"][:10], error=broken["error"]))
    if data["kind"] == "region":
        out.print(_("schools: {schools}, municipalities: {municipalities}",
                    schools=data["schools"], municipalities=data["municipalities"]))


def progress_cell(done: int, total: int) -> str:
    if not total:
        return "-"
    return f"{round(100 * done / total)}%"


def _step_columns(table: Table) -> None:
    for step in STEPS:
        table.add_column(str(step.number), justify="right")


def state_label(state: str | None) -> str:
    """A machine's state in a table: its first open step by number (the legend names it)."""
    if not state:
        return "-"
    if state == "done":
        return _("all steps done")
    number = next((s.number for s in STEPS if s.slug == state), None)
    return _("step {number}", number=number) if number else state


def legend() -> str:
    return _("steps: ") + ", ".join(f"{s.number} {s.slug}" for s in STEPS)


def print_national(report: dict[str, Any]) -> None:
    """Regions as rows, the share of schools past each step as columns."""
    table = Table(title=_("Rollout progress by region (share of schools past each step)"),
                  header_style="bold", caption=legend(), box=box.SIMPLE_HEAD)
    table.add_column(_("region"))
    table.add_column(_("name"), max_width=26, overflow="ellipsis", no_wrap=True)
    table.add_column(_("state"))
    table.add_column(_("schools"), justify="right")
    _step_columns(table)
    for r in report["regions"]:
        table.add_row(r["code"], r["name"], state_label(r["state"]), str(r["schools"]),
                      *(progress_cell(r["steps"][s.slug], r["schools"]) for s in STEPS))
    t = report["totals"]
    table.add_row("", _("all regions"), "", str(t["schools"]),
                  *(progress_cell(t["steps"][s.slug], t["schools"]) for s in STEPS))
    out = console()
    out.print(table)
    for r in report["regions"]:
        if r.get("broken_contacts"):
            out.print(_("region {code}: mail bounces for {emails}", code=r["code"],
                        emails=", ".join(r["broken_contacts"])))


def print_regional(report: dict[str, Any]) -> None:
    region = report["region"]
    out = console()
    out.print(f"[bold]{kind_name('region')} {region['code']}[/bold] {region['name']}  "
              + _("state: [bold]{state}[/bold]  schools: {schools}",
                  state=state_label(region["state"]),
                  schools=region["schools"]))
    table = Table(title=_("By municipality (share of schools past each step)"),
                  header_style="bold", caption=legend(), box=box.SIMPLE_HEAD)
    table.add_column(_("municipality"))
    table.add_column(_("name"), max_width=26, overflow="ellipsis", no_wrap=True)
    table.add_column(_("schools"), justify="right")
    _step_columns(table)
    for m in report["municipalities"]:
        table.add_row(m["code"] or "-", m["name"], str(m["schools"]),
                      *(progress_cell(m["steps"][s.slug], m["schools"]) for s in STEPS))
    out.print(table)
    schools = Table(title=_("Schools"), header_style="bold")
    tz = region.get("timezone") or "Europe/Moscow"
    for col in (_("school"), _("name"), _("municipality"), _("state"),
                _("since ({zone})", zone=zone_name(tz))):
        schools.add_column(col)
    for s in report["schools"]:
        schools.add_row(s["code"], s["name"], s["municipality"] or "-", state_label(s["state"]),
                        local_time(s["since"], tz)[:10])
    out.print(schools)


def national_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The national report as a table for CSV or XLSX: a header and one row per region."""
    header = ["code", "name", "state", "schools", *report["steps"], "broken_contacts"]
    rows = [[r["code"], r["name"], r["state"], r["schools"],
             *(r["steps"][s] for s in report["steps"]), " ".join(r.get("broken_contacts", []))]
            for r in report["regions"]]
    return header, rows


def regional_rows(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """One region's report as a table: its municipalities, then its schools."""
    header = ["level", "code", "name", "municipality", "state", "schools", *report["steps"]]
    rows: list[list[Any]] = [["municipality", m["code"] or "", m["name"], "", "", m["schools"],
                              *(m["steps"][s] for s in report["steps"])]
                             for m in report["municipalities"]]
    rows += [["school", s["code"], s["name"], s["municipality"] or "", s["state"], 1,
              *(1 if s["steps"][slug] in ("done", "skipped") else 0 for slug in report["steps"])]
             for s in report["schools"]]
    return header, rows

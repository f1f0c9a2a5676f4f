"""Terminal output: status and report tables with Rich, CSV for spreadsheets."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Console
from rich.table import Table

from states import STEPS

MARKS = {"done": "✔", "skipped": "↷", "current": "▶", "pending": "·"}


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
    out.print(f"[bold]{data['kind']} {data['code']}[/bold] {data['name']}  "
              f"state: [bold]{data['state']}[/bold]")
    table = Table(show_header=True, header_style="bold")
    tz = data.get("timezone") or "Europe/Moscow"
    for col in ("#", "step", "status", f"since ({tz})", "title"):
        table.add_column(col)
    for s in data["step_details"]:
        table.add_row(str(s["number"]), s["slug"], f"{MARKS[s['status']]} {s['status']}",
                      local_time(s["since"], tz), s["title"])
    out.print(table)
    for o in data.get("open", []):
        out.print(f"open: {o['number']}. {o['step']} since {local_time(o['since'], tz)}")
        for reason in o["holding"]:
            out.print(f"  holds it: {reason['message']}")
    for person in data.get("people", []):
        mark = "  [bold red]broken contact[/bold red]" if person.get("broken") else ""
        out.print(f"{person['role']}: {person['name']} <{person['email']}>{mark}")
    for broken in data.get("broken_contacts", []):
        out.print(f"mail to {broken['email']} bounces since {broken['since'][:10]}: "
                  f"{broken['error']}")
    if data["kind"] == "region":
        out.print(f"schools: {data['schools']}, municipalities: {data['municipalities']}")


def local_time(since: str | None, tz: str) -> str:
    """A stored UTC moment as the local time people read it (the history keeps UTC)."""
    if not since:
        return ""
    return datetime.fromisoformat(since).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def progress_cell(done: int, total: int) -> str:
    if not total:
        return "-"
    return f"{round(100 * done / total)}%"


def _step_columns(table: Table) -> None:
    for step in STEPS:
        table.add_column(str(step.number), justify="right")


def legend() -> str:
    return "steps: " + ", ".join(f"{s.number} {s.slug}" for s in STEPS)


def print_national(report: dict[str, Any]) -> None:
    """Regions as rows, the share of schools past each step as columns."""
    table = Table(title="Rollout progress by region (share of schools past each step)",
                  header_style="bold", caption=legend(), box=box.SIMPLE_HEAD)
    table.add_column("region")
    table.add_column("name", max_width=26, overflow="ellipsis", no_wrap=True)
    table.add_column("state")
    table.add_column("schools", justify="right")
    _step_columns(table)
    for r in report["regions"]:
        table.add_row(r["code"], r["name"], r["state"] or "-", str(r["schools"]),
                      *(progress_cell(r["steps"][s.slug], r["schools"]) for s in STEPS))
    t = report["totals"]
    table.add_row("", "all regions", "", str(t["schools"]),
                  *(progress_cell(t["steps"][s.slug], t["schools"]) for s in STEPS))
    out = console()
    out.print(table)
    for r in report["regions"]:
        if r.get("broken_contacts"):
            out.print(f"region {r['code']}: mail bounces for {', '.join(r['broken_contacts'])}")


def print_regional(report: dict[str, Any]) -> None:
    region = report["region"]
    out = console()
    out.print(f"[bold]region {region['code']}[/bold] {region['name']}  state: "
              f"[bold]{region['state']}[/bold]  schools: {region['schools']}")
    table = Table(title="By municipality (share of schools past each step)",
                  header_style="bold", caption=legend(), box=box.SIMPLE_HEAD)
    table.add_column("municipality")
    table.add_column("name", max_width=26, overflow="ellipsis", no_wrap=True)
    table.add_column("schools", justify="right")
    _step_columns(table)
    for m in report["municipalities"]:
        table.add_row(m["code"] or "-", m["name"], str(m["schools"]),
                      *(progress_cell(m["steps"][s.slug], m["schools"]) for s in STEPS))
    out.print(table)
    schools = Table(title="Schools", header_style="bold")
    tz = region.get("timezone") or "Europe/Moscow"
    for col in ("school", "name", "municipality", "state", f"since ({tz})"):
        schools.add_column(col)
    for s in report["schools"]:
        schools.add_row(s["code"], s["name"], s["municipality"] or "-", s["state"],
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

"""The burn-up chart of one step as inline SVG: schools done by day, the plan and the due date.

A figure with a visible caption, axis titles and values as text; the SVG has a <title> and a
<desc> for screen readers. Colours and dashes come from classes in style.css (the CSP forbids
inline styles).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from markupsafe import Markup, escape

from workflow.i18n import _

W, H = 420, 230
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 26, 50


def _d(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _anchor(at: float) -> str:
    """Keep a label over a point inside the chart: flush left or right near an edge."""
    if at > W - RIGHT - 50:
        return "end"
    return "start" if at < LEFT + 50 else "middle"


def chart(b: dict[str, Any], ident: str) -> Markup:
    """One step's burn-up (`b` from web.trends.burnup); `ident` makes the ids unique."""
    n = b["schools"]
    title = f"{b['number']}. {b['title']}"
    points: list[tuple[date, int]] = b["points"]
    days = [d for d in (b["start"], b["due"], b["today"]) if d] + [d for d, _ in points]
    caption = f'<figcaption id="{ident}-t" class="chart-title">{escape(title)}</figcaption>'
    if not points and b["start"] is None:
        never = escape(_("The step has not opened in any school yet."))
        return Markup(f'<figure class="burnup">{caption}<p class="muted">{never}</p></figure>')
    x0, x1 = min(days), max(days)
    span = max((x1 - x0).days, 1)
    top = max(n, max((v for _, v in points), default=0), 1)

    def x(day: date) -> float:
        return round(LEFT + (W - LEFT - RIGHT) * (day - x0).days / span, 1)

    def y(value: float) -> float:
        return round(TOP + (H - TOP - BOTTOM) * (1 - value / top), 1)

    done = points[-1][1] if points else 0
    date_title, y_title = escape(_("Date")), escape(_("Schools that did the step"))
    plan, done_of = escape(_("plan")), escape(_("{done} of {n}", done=done, n=n))
    desc = (_("Step done: {done} of {n} schools on {today}.", done=done, n=n,
              today=_d(b["today"]))
            + (_(" Plan: every school by {due} (the step's deadline is {days} working days "
                 "after it opened on {start}).", due=_d(b["due"]), days=b["sla_days"],
                 start=_d(b["start"])) if b["due"] else ""))
    parts = [f'<figure class="burnup">{caption}',
             f'<svg viewBox="0 0 {W} {H}" role="img" aria-labelledby="{ident}-t {ident}-d">'
             f'<title>{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>',
             # axes, with their titles
             f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}"/>'
             f'<line class="axis" x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" '
             f'y2="{H - BOTTOM}"/>']
    for value in sorted({0, n}):
        parts.append(f'<text class="tick" x="{LEFT - 4}" y="{y(value) + 4}" '
                     f'text-anchor="end">{value}</text>')
    parts.append(f'<text class="tick" x="{LEFT}" y="{H - BOTTOM + 14}">{_d(x0)}</text>'
                 f'<text class="tick" x="{W - RIGHT}" y="{H - BOTTOM + 14}" '
                 f'text-anchor="end">{_d(x1)}</text>'
                 f'<text class="axis-title" x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" '
                 f'text-anchor="middle">{date_title}</text>'
                 f'<text class="axis-title" x="12" y="{(TOP + H - BOTTOM) / 2}" '
                 f'text-anchor="middle" transform="rotate(-90 12 {(TOP + H - BOTTOM) / 2})">'
                 f'{y_title}</text>')
    if b["due"] is not None:  # the plan: every school done by the due date
        due = _("due {date}", date=_d(b["due"]))
        parts.append(f'<polyline class="plan" points="{x(b["start"])},{y(0)} '
                     f'{x(b["due"])},{y(n)} {x(x1)},{y(n)}"/>'
                     f'<line class="due" x1="{x(b["due"])}" y1="{TOP}" x2="{x(b["due"])}" '
                     f'y2="{H - BOTTOM}"/>'
                     f'<text class="due-label" x="{x(b["due"])}" y="{TOP - 8}" '
                     f'text-anchor="{_anchor(x(b["due"]))}">{escape(due)}</text>'
                     f'<text class="plan-label" x="{x(b["due"]) - 4}" y="{y(n) + 14}" '
                     f'text-anchor="end">{plan}</text>')
    if points:  # a step line: the count holds until the next day with a change
        coords = [(x(x0), y(0))]
        for d, v in points:
            coords += [(x(d), coords[-1][1]), (x(d), y(v))]
        coords.append((x(x1), y(done)))
        parts.append('<polyline class="done" points="'
                     + " ".join(f"{a},{c}" for a, c in coords) + '"/>')
    parts.append(f'<text class="value" x="{W - RIGHT}" y="{y(done) - 6}" text-anchor="end">'
                 f'{done_of}</text></svg>')
    parts.append("</figure>")
    return Markup("".join(parts))

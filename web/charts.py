"""Inline SVG charts drawn from the data: step bars, the step funnel, a progress line.

Every chart carries its numbers as text (and a <title> for screen readers); colours come from
attributes, not style attributes, so the Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from states import STEPS
from workflow.i18n import _

DONE_FILL = "#2e7d32"
TRACK_FILL = "#e3e7ea"
LINE = "#1565c0"


def pct(done: int, total: int) -> int:
    return round(100 * done / total) if total else 0


def step_bars(steps: dict[str, int], total: int, label: str = "") -> Markup:
    """Nine small columns, one per step: the share of schools that did it, the % above each."""
    w, gap, h, top = 30, 4, 34, 12
    parts = [f'<svg class="bars" viewBox="0 0 {len(STEPS) * (w + gap)} {h + top + 12}" '
             f'role="img" aria-label="{escape(label)}">']
    for i, step in enumerate(STEPS):
        share = pct(steps.get(step.slug, 0), total)
        x = i * (w + gap)
        bar = round(h * share / 100)
        title = f"{step.number}. {step.title}"
        tip = _("{title}: {done} of {total} ({share}%)", title=title,
                done=steps.get(step.slug, 0), total=total, share=share)
        parts.append(
            f'<g><title>{escape(tip)}</title>'
            f'<rect x="{x}" y="{top}" width="{w}" height="{h}" fill="{TRACK_FILL}"/>'
            f'<rect x="{x}" y="{top + h - bar}" width="{w}" height="{bar}" fill="{DONE_FILL}"/>'
            f'<text x="{x + w / 2}" y="9" font-size="9" text-anchor="middle">{share}</text>'
            f'<text x="{x + w / 2}" y="{top + h + 10}" font-size="9" text-anchor="middle"'
            f' fill="#555">{step.number}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel(steps: dict[str, int], total: int, current: str | None = None) -> Markup:
    """The funnel of the nine steps: per step its title (HTML text, which wraps on a phone), a
    bar, and 'done of total (share)'; the current step in bold."""
    what = escape(_("Funnel of the steps: how many schools did each step"))
    parts = [f'<ol class="funnel" aria-label="{what}">']
    for step in STEPS:
        done = steps.get(step.slug, 0)
        share = pct(done, total)
        mark = ' class="current"' if step.slug == current else ""
        value = _("{done} of {total} ({share}%)", done=done, total=total, share=share)
        parts.append(
            f'<li{mark}><span class="title">{step.number}. {escape(step.title)}</span>'
            f'<svg class="fbar" viewBox="0 0 100 4" preserveAspectRatio="none" '
            f'aria-hidden="true"><rect width="100" height="4" fill="{TRACK_FILL}"/>'
            f'<rect width="{share}" height="4" fill="{DONE_FILL}"/></svg>'
            f'<span class="value">{escape(value)}</span></li>')
    parts.append("</ol>")
    return Markup("".join(parts))


def progress_line(points: Sequence[tuple[date, float]]) -> Markup:
    """Progress over time (% of step-completions), a line with the first and last value marked."""
    if not points:
        none = escape(_("No steps done in the history yet."))
        return Markup(f'<p class="muted">{none}</p>')
    w, h, left, bottom, top, right = 600, 220, 58, 40, 12, 70
    start, end = points[0][0], points[-1][0]
    span = max((end - start).days, 1)

    def xy(day: date, value: float) -> tuple[float, float]:
        x = left + (w - left - right) * (day - start).days / span
        return round(x, 1), round(top + (h - top - bottom) * (1 - value / 100), 1)

    coords = [xy(d, v) for d, v in points]
    if len(coords) == 1:
        coords.append((w - right, coords[0][1]))
    path = " ".join(f"{x},{y}" for x, y in coords)
    what = escape(_("Progress by day: share of the steps done"))
    date_title, y_title = escape(_("Date")), escape(_("Steps done, %"))
    parts = [f'<svg class="line" viewBox="0 0 {w} {h}" role="img" '
             f'aria-label="{what}">']
    for tick in (0, 50, 100):
        _x, y = xy(start, tick)
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y}" y2="{y}" stroke="#ccc"/>'
                     f'<text x="{left - 4}" y="{y + 4}" font-size="10" text-anchor="end">'
                     f'{tick}%</text>')
    parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    x1, y1 = coords[-1] if len(points) > 1 else coords[0]
    parts.append(f'<circle cx="{x1}" cy="{y1}" r="3" fill="{LINE}"/>'
                 f'<text x="{x1 + 6}" y="{y1 + 4}" font-size="11">{points[-1][1]}%</text>'
                 f'<text x="{left}" y="{h - bottom + 14}" font-size="10">{start:%d.%m.%Y}</text>'
                 f'<text x="{w - right}" y="{h - bottom + 14}" font-size="10" text-anchor="end">'
                 f'{end:%d.%m.%Y}</text>'
                 # the axes' titles: every chart says what it plots
                 f'<text x="{(left + w - right) / 2}" y="{h - 6}" font-size="11" '
                 f'text-anchor="middle" fill="#5b6670">{date_title}</text>'
                 f'<text x="12" y="{(top + h - bottom) / 2}" font-size="11" text-anchor="middle" '
                 f'fill="#5b6670" transform="rotate(-90 12 {(top + h - bottom) / 2})">'
                 f'{y_title}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

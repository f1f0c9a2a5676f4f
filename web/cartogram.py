"""The map of the country: a tile-grid cartogram of the regions, one linked tile each, in SVG.

Tiles sit where `regions_grid` puts them; federal districts are outlined by a thicker line
wherever a tile's neighbour belongs to another district (or is the sea). A tile is coloured
by lateness (the longest lateness of any open step in the region) or by progress (the share
of the nine steps its schools have done). Colours come from attributes, not style, so the
Content-Security-Policy keeps forbidding inline styles; every tile carries its numbers as text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from markupsafe import Markup, escape

from web.regions_grid import COLUMNS, DISTRICTS, GRID, ROWS
from workflow.i18n import N_, _

TILE, GAP, PAD = 40, 2, 3
OUTLINE = "#263238"
AT = {(row, col): district for district, row, col in GRID.values()}


class By(StrEnum):
    LATE = "late"
    PROGRESS = "progress"


# (upper bound inclusive, fill, text colour, legend)
LATE_BINS = [
    (0, "#c8e6c9", "#1b1b1b", N_("no late steps")),
    (5, "#fff59d", "#1b1b1b", N_("up to 5 working days")),
    (20, "#ffb74d", "#1b1b1b", N_("6–20 working days")),
    (10**6, "#e57373", "#1b1b1b", N_("over 20 working days")),
]
HELD = ("#8e1b1b", "#ffffff",
        N_("the region is late with its own step (1–3): every school waits"))
PROGRESS_BINS = [
    (24, "#edf8e9", "#1b1b1b", N_("up to 24 %")),
    (49, "#bae4b3", "#1b1b1b", "25–49 %"),
    (74, "#74c476", "#1b1b1b", "50–74 %"),
    (99, "#31a354", "#ffffff", "75–99 %"),
    (100, "#006d2c", "#ffffff", "100 %"),
]
EMPTY = ("#eceff1", "#78909c")


def legend(by: By) -> list[dict[str, str]]:
    bins = LATE_BINS + [(0, *HELD)] if by == By.LATE else PROGRESS_BINS
    return [{"fill": fill, "text": _(text)} for _bound, fill, _ink, text in bins]


def _colour(row: dict[str, Any], by: By) -> tuple[str, str, str]:
    """Fill, text colour and the tile's second line."""
    if by == By.LATE:
        late = row["lateness"]
        if late.held:
            return HELD[0], HELD[1], _("{days} d.", days=late.worst_days)
        value, label = late.worst_days, (_("{days} d.", days=late.worst_days) if late.worst_days
                                          else "✓")
    else:
        value, label = row["progress"], f"{row['progress']}%"
    fill, ink = next((f, t) for bound, f, t, _ in
                     (LATE_BINS if by == By.LATE else PROGRESS_BINS) if value <= bound)
    return fill, ink, label


def tiles(rows: Iterable[dict[str, Any]], by: By) -> list[dict[str, Any]]:
    """One tile per region that has a place on the grid: its numbers and its colour."""
    out = []
    for r in rows:
        if r["code"] not in GRID:
            continue
        district, row, col = GRID[r["code"]]
        fill, ink, label = _colour(r, by)
        late = r["lateness"]
        out.append({"code": r["code"], "name": r["name"], "district": district,
                    "row": row, "column": col, "schools": r["schools"],
                    "late_schools": late.late, "held_by_region": late.held,
                    "longest_late_days": late.worst_days, "longest_late_step": late.worst_step,
                    "progress": r["progress"], "fill": fill, "ink": ink, "label": label})
    return out


def _outline(code: str) -> list[str]:
    district, row, col = GRID[code]
    x, y, s = PAD + col * (TILE + GAP), PAD + row * (TILE + GAP), TILE + GAP
    x0, y0 = x - GAP / 2, y - GAP / 2
    sides = {(-1, 0): (x0, y0, x0 + s, y0), (1, 0): (x0, y0 + s, x0 + s, y0 + s),
             (0, -1): (x0, y0, x0, y0 + s), (0, 1): (x0 + s, y0, x0 + s, y0 + s)}
    return [f'<line x1="{a}" y1="{b}" x2="{c}" y2="{d}"/>'
            for (dr, dc), (a, b, c, d) in sides.items() if AT.get((row + dr, col + dc)) != district]


def svg(tile_rows: list[dict[str, Any]], link: Callable[[str], str | None], by: By) -> Markup:
    """The map: every tile of the grid, those of `tile_rows` coloured and linked."""
    shown = {t["code"]: t for t in tile_rows}
    width = 2 * PAD + COLUMNS * (TILE + GAP)
    height = 2 * PAD + ROWS * (TILE + GAP)
    what = (_("Map of the regions by lateness") if by == By.LATE
            else _("Map of the regions by progress"))
    parts = [f'<svg class="map" viewBox="0 0 {width} {height}" role="group" '
             f'aria-label="{escape(what)}">']
    for code, (district, row, col) in sorted(GRID.items(), key=lambda kv: kv[1][1:]):
        x, y = PAD + col * (TILE + GAP), PAD + row * (TILE + GAP)
        t = shown.get(code)
        if t is None:
            none = escape(_("{code}: no data", code=code))
            parts.append(f'<g><title>{none}</title>'
                         f'<rect x="{x}" y="{y}" '
                         f'width="{TILE}" height="{TILE}" fill="{EMPTY[0]}"/>'
                         f'<text x="{x + TILE / 2}" y="{y + 24}" font-size="13" '
                         f'text-anchor="middle" fill="{EMPTY[1]}">{code}</text></g>')
            continue
        title = escape(_("{name} ({district} FD): {schools} schools, {late} late, the longest "
                         "{days} working days, {progress} % of the steps done", name=t["name"],
                         district=DISTRICTS[district], schools=t["schools"],
                         late=t["late_schools"], days=t["longest_late_days"],
                         progress=t["progress"]))
        body = (f'<title>{title}</title><rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" '
                f'rx="3" fill="{t["fill"]}"/>'
                f'<text x="{x + TILE / 2}" y="{y + 17}" font-size="14" font-weight="bold" '
                f'text-anchor="middle" fill="{t["ink"]}">{code}</text>'
                f'<text x="{x + TILE / 2}" y="{y + 32}" font-size="10" text-anchor="middle" '
                f'fill="{t["ink"]}">{escape(t["label"])}</text>')
        href = link(code)
        parts.append(f'<a href="{escape(href)}" aria-label="{title}">{body}</a>' if href
                     else f"<g>{body}</g>")
    parts.append(f'<g stroke="{OUTLINE}" stroke-width="2" stroke-linecap="square">')
    for code in GRID:
        parts.extend(_outline(code))
    parts.append("</g></svg>")
    return Markup("".join(parts))

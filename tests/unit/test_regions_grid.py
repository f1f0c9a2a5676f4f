"""The map's data: every subject of the federation once, in its federal district, contiguous."""

from __future__ import annotations

from collections import Counter

from benchmarks.national import REGIONS
from web.regions_grid import DISTRICTS, GRID, district_of


def test_every_subject_has_one_tile_and_a_district() -> None:
    """The 89 codes the project imports, each on its own tile, in one of the eight districts."""
    assert set(GRID) == {code for code, *_ in REGIONS} and len(GRID) == 89
    assert len({(row, col) for _, row, col in GRID.values()}) == 89
    counts = Counter(d for d, _, _ in GRID.values())
    assert counts == {"ЦФО": 18, "СЗФО": 11, "ЮФО": 12, "СКФО": 7, "ПФО": 14, "УФО": 6,
                      "СФО": 10, "ДФО": 11}
    assert set(counts) == set(DISTRICTS)
    assert district_of("77") == "ЦФО" and district_of("99") == "—"


def test_each_district_is_one_block_of_tiles() -> None:
    """Tiles of a district touch each other (side by side), so its outline is one shape."""
    for district in DISTRICTS:
        cells = {(r, c) for d, r, c in GRID.values() if d == district}
        seen, todo = set(), [next(iter(cells))]
        while todo:
            r, c = todo.pop()
            if (r, c) in seen:
                continue
            seen.add((r, c))
            todo += [n for n in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)) if n in cells]
        assert seen == cells, district


def test_west_is_left_and_east_is_right() -> None:
    """Калининград is the westmost tile, Чукотка and Камчатка the eastmost, Мурманск north of
    Дагестан."""
    cols = {code: col for code, (_, _, col) in GRID.items()}
    rows = {code: row for code, (_, row, _) in GRID.items()}
    assert cols["39"] == min(cols.values())
    assert {cols["87"], cols["41"]} == {max(cols.values())}
    assert rows["51"] < rows["77"] < rows["05"]

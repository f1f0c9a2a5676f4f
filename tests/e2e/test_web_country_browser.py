"""The country page in a real browser on a national dataset (89 regions): worst first, the
filter form, sorting by a column, search, the map's 89 links, an export, a phone's width."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests import dashkit, nationkit
from tests.e2e.browserkit import NEEDS_CHROMIUM, shot, sign_in_with_key
from web import create_app
from web.access import create_token
from web.regions_grid import GRID

pytestmark = NEEDS_CHROMIUM
CODES = "#region-table tbody td[data-label='Код']"



@pytest.fixture(scope="module")
def nation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    services = dashkit.make_services(tmp_path_factory.mktemp("nation-browser"))
    nationkit.build(services, scale=0.04)
    token = create_token(services, nationkit.PM, nationkit.NOW)
    with dashkit.running(create_app(services, lambda: nationkit.NOW)) as base:
        yield base, token


def codes(page: Any) -> list[str]:
    return [c.strip() for c in page.locator(CODES).all_inner_texts()]


def test_worst_first_filter_sort_search_map_and_export(browser: Any, nation: Any) -> None:
    base, token = nation
    context, page = sign_in_with_key(browser, base, token, 1400,
                                     accept_downloads=True)
    rows = codes(page)
    assert len(rows) == 89 and rows[0] == nationkit.STUCK
    first = page.locator("#region-table tbody tr").first
    assert "ждут регион" in first.inner_text()
    assert page.locator("svg.map a").count() == 89
    shot(page, "country-national-1400")

    page.select_option("#district", "ЦФО")
    page.check("#late")
    page.click("form.search button[type=submit]")
    page.wait_for_load_state()
    central = codes(page)  # Москва is on step 3 within its SLA: not late, not shown
    assert "district=" in page.url and "late=1" in page.url
    assert set(central) == {c for c, (d, _, _) in GRID.items() if d == "ЦФО"} - {"77"}

    page.click("#region-table thead a:text('Регион')")
    page.wait_for_load_state()
    names = [n.strip() for n in page.locator(
        "#region-table tbody td[data-label='Регион']").all_inner_texts()]
    assert names == sorted(names, key=str.casefold) and "district=" in page.url
    assert set(codes(page)) == set(central)

    with page.expect_download() as download:
        page.click("a:text('XLSX')")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert [r[0] for r in list(book.active.iter_rows(values_only=True))[1:]] == codes(page)

    page.fill("#q", "Дагестан")
    page.click("form.search button[type=submit]")
    page.wait_for_load_state()
    assert codes(page) == []  # still filtered to ЦФО: Дагестан is not there
    page.click("a:text('Сбросить')")
    page.fill("#q", "дагестан")
    page.click("form.search button[type=submit]")
    page.wait_for_load_state()
    assert codes(page) == ["05"]

    page.goto(f"{base}/")
    page.click("svg.map a[href='/regions/14']")
    page.wait_for_url(f"{base}/regions/14")
    context.close()


def test_the_country_page_on_a_phone(browser: Any, nation: Any) -> None:
    """At 390 px the page does not scroll sideways, each row's late count is on screen, and the
    funnel's text is as large as the page's."""
    base, token = nation
    context, page = sign_in_with_key(browser, base, token, 390,
                                     accept_downloads=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    late = page.locator("#region-table tbody td[data-label='Просрочено школ']").first
    box = late.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert late.is_visible()
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector("
                         "'ol.funnel .title')).fontSize)")
    assert size >= 14
    shot(page, "country-national-390")
    context.close()

"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import dashkit
from tests.e2e.browserkit import NEEDS_CHROMIUM, shot
from web import create_app

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dashkit.Rollout]]:
    rollout = dashkit.seed(tmp_path_factory.mktemp("browser"))
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as base:
        yield base, rollout


def test_sign_in_country_region_and_blocking_school(browser: Any, site: Any) -> None:
    """A program manager signs in, sees the country, opens a region and its blocking school."""
    base, rollout = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/")
    assert page.locator("h1").inner_text() == "Вход"
    page.click("summary")  # the operator's key, for people who have no mail yet
    page.fill("#token", rollout.tokens["pm@example.org"])
    page.click("#token-submit")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").inner_text() == "Ход внедрения по стране"
    cookie = next(c for c in context.cookies() if c["name"] == "rollout_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert rollout.tokens["pm@example.org"] not in cookie["value"]
    shot(page, "country")
    page.click("#region-table >> text=Республика Адыгея")  # the map has its name too
    page.wait_for_url(f"{base}/regions/01")
    assert "Назначение администраторов ОО" in page.locator("h2").first.inner_text()
    shot(page, "region")
    page.click("a[href='/schools/0100003']")
    page.wait_for_url(f"{base}/schools/0100003")
    assert page.locator("h1").inner_text() == "Лицей <Адыгейск> & Ко"
    assert page.get_by_text("не назначен администратор ОО").count() >= 1
    shot(page, "school")
    context.close()


def test_pages_fit_a_phone_screen(browser: Any, site: Any) -> None:
    """On a 390 px wide screen the page itself does not scroll sideways (wide tables do)."""
    base, rollout = site
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.click("summary")
    page.fill("#token", rollout.tokens["rc01@example.org"])
    page.click("#token-submit")
    page.goto(f"{base}/regions/01")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "region-phone")
    context.close()

"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright (and the
language switch: «English» in the header, and «Русский» back)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import dashkit
from tests.e2e.browserkit import NEEDS_CHROMIUM, shot, sign_in_with_key
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


def test_the_reader_turns_the_pages_english_and_back(browser: Any, site: Any) -> None:
    """On a region page the reader clicks «English»: the same page, in English, and the next
    page too; «Русский» brings Russian back, still on the page the reader was on."""
    base, rollout = site
    context, page = sign_in_with_key(browser, base, rollout.tokens["pm@example.org"])
    page.goto(f"{base}/regions/01?late=1")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("h2").first.inner_text().startswith("Где стоит регион")
    page.click("header >> a.lang:has-text('English')")
    page.wait_for_url(f"{base}/regions/01?late=1")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h2").first.inner_text().startswith("Where the region stands")
    assert page.locator("header nav a").first.inner_text() == "Country"
    cookie = next(c for c in context.cookies() if c["name"] == "rollout_lang")
    assert cookie["value"] == "en" and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    shot(page, "region-english")
    page.click("header nav >> text=Country")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").last.inner_text() == "Rollout across the country"
    page.click("header >> a.lang:has-text('Русский')")
    page.wait_for_url(f"{base}/")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator("h1").last.inner_text() == "Ход внедрения по стране"
    context.close()

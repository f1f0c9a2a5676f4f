"""The language switch in a real browser: «English» in the header, and «Русский» back."""

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
    rollout = dashkit.seed(tmp_path_factory.mktemp("language-browser"))
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as base:
        yield base, rollout


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

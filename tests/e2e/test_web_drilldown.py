"""Drill-down, trends and accessibility in a real browser (Debian's chromium, headless).

axe-core comes from the pip package axe-playwright-python (its bundled axe.min.js, no network);
every page must have no violation of serious or critical impact. Screenshots go to
test-artifacts/.
"""

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
    rollout = dashkit.seed(tmp_path_factory.mktemp("drilldown"))
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as base:
        yield base, rollout


def test_region_page_lists_every_late_school_by_step_with_people_and_phones(
        browser: Any, site: Any) -> None:
    """From the country page, one click on the region's late count shows each late school under
    its step, with what holds it and whom to call, phone included."""
    base, rollout = site
    _, page = sign_in_with_key(browser, base, rollout.tokens["pm@example.org"])
    page.click("a[href='/regions/01#late']")
    page.wait_for_url(f"{base}/regions/01#late")
    late = page.locator("#late")
    assert late.locator("h3").all_inner_texts() == [
        "4. Назначение администраторов ОО: 2 школы",
        "5. Внесение или загрузка данных о педагогах: 1 школа"]
    admins, teachers = late.locator("table").all()
    assert admins.locator("tbody tr").count() == 2
    row = teachers.locator("tbody tr").first
    assert "Школа № 2 г. Майкопа" in row.inner_text()
    assert "педагоги: загружено 12 из 40, нужно 40" in row.inner_text()
    people = row.locator("ul.people li").all_inner_texts()
    assert people[0].startswith("администратор ОО: Школьный Семён")  # the school's own first
    assert "Муниципов Михаил — тел. +7 900 111-11-11 — mc1@example.org" in people[1]
    assert row.locator("a[href='tel:+79001111111']").count() == 1
    lyceum = admins.locator("tbody tr", has_text="Лицей <Адыгейск> & Ко")
    assert "у школы 0100003 не назначен администратор ОО" in lyceum.inner_text()
    assert "муниципальный координатор: Адыгова Алла" in lyceum.inner_text()
    shot(page, "region-late-by-step")
    page.context.close()


def test_burnup_charts_have_titles_axes_and_the_plan(browser: Any, site: Any) -> None:
    """The region's trends: nine burn-up charts, each with a visible title, both axis titles,
    the schools done and the plan's due date."""
    base, rollout = site
    _, page = sign_in_with_key(browser, base, rollout.tokens["rc01@example.org"])
    page.goto(f"{base}/regions/01")
    page.click("text=Динамика по дням")
    page.wait_for_url(f"{base}/regions/01/trends")
    figures = page.locator("figure.burnup")
    assert figures.count() == 9
    for i in range(9):
        figure = figures.nth(i)
        assert figure.locator("figcaption").is_visible()
        texts = figure.locator("svg text").all_text_contents()
        assert "Дата" in texts and "Школ, выполнивших шаг" in texts
    admins = figures.nth(3)
    assert admins.locator("figcaption").inner_text() == "4. Назначение администраторов ОО"
    texts = admins.locator("svg text").all_text_contents()
    assert "2 из 4" in texts and "срок 26.01.2026" in texts and "план" in texts
    assert "Выполнили шаг: 2 из 4 школ" in admins.locator("desc").text_content()
    shot(page, "region-trends")
    page.context.close()


PAGES = [  # (who, path, expected status) — every kind of page the web serves
    (None, "/signin", 200),
    ("pm@example.org", "/", 200),
    ("pm@example.org", "/regions/01", 200),
    ("pm@example.org", "/municipalities/01-001", 200),
    ("pm@example.org", "/schools/0100002", 200),
    ("auditor@example.org", "/history?kind=school&code=0100001", 200),
    ("pm@example.org", "/trends", 200),
    ("pm@example.org", "/regions/01/trends", 200),
    ("pm@example.org", "/regions/99", 404),
    ("rc77@example.org", "/regions/01", 403),
    ("rc01@example.org", "/", 200),
]


def test_axe_finds_no_serious_or_critical_violation_on_any_page(browser: Any, site: Any) -> None:
    """axe-core, run in the page, reports nothing serious or critical on every kind of page."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    base, rollout = site
    found = {}
    for who, path, status in PAGES:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        if who is not None:
            context.add_cookies([{"name": "rollout_token", "value": rollout.tokens[who],
                                  "url": base}])
        page = context.new_page()
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == status, path
        results = axe.run(page).response
        bad = [f"{v['id']} ({v['impact']}): {v['help']} — "
               + "; ".join(n["target"][0] for n in v["nodes"][:3])
               for v in results["violations"] if v["impact"] in ("serious", "critical")]
        if bad:
            found[path] = bad
        name = path.strip("/").replace("/", "-").split("?")[0] or "country"
        shot(page, f"axe-{who.split('@')[0] if who else 'anon'}-{name}")
        context.close()
    assert found == {}

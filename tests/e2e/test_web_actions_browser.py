"""Acting in a real browser (Debian's chromium, headless, Playwright): sign in by the link read
from the outbox, then appoint, complete steps; on a desktop and on a 390 px phone screen.

Screenshots of each page are kept in test-artifacts/ (ignored by git)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import insert, select

from storage import repo
from storage.models import assignments, municipalities, schools
from storage.repo import insert_new_machines
from tests import dashkit, webkit
from tests.e2e.browserkit import NEEDS_CHROMIUM, shot
from web import create_app
from workflow.engine import new_machine_values
from workflow.reconcile import reconcile_as_registered

pytestmark = NEEDS_CHROMIUM
RC02, ADMIN4, SUPPORT = "rc02@example.org", "admin4@example.org", "support@example.org"
PHONE = {"width": 390, "height": 844}



def _region_02_at_step_3(rollout: dashkit.Rollout) -> None:
    """Region 02 gets a municipality and a school, its coordinator, steps 1 and 2 done."""
    s = rollout.services
    with s.db.write() as conn:
        conn.execute(insert(municipalities).values(code="02-001", region_code="02",
                                                   name="Уфа", timezone=None))
        conn.execute(insert(schools).values(dashkit._school("0200001", "02", "02-001",
                                                            "Школа № 1 г. Уфы")))
        insert_new_machines(conn, "school", [("0200001", "02")],
                            new_machine_values(dashkit.START))
    s.assign("regional_coordinator", "02", RC02, "Башкирова Дина", SUPPORT, dashkit.at(14))
    s.advance("region", "02", "coordinator", SUPPORT, dashkit.at(14))
    reconcile_as_registered(s, "02", dashkit.at(15))
    s.advance("region", "02", "registry", RC02, dashkit.at(16))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dashkit.Rollout]]:
    rollout = dashkit.seed(tmp_path_factory.mktemp("acting"))
    _region_02_at_step_3(rollout)
    rollout.services.assign("school_admin", "0100004", ADMIN4, "Четверикова Ольга",
                            "rc01@example.org", dashkit.at(2, 2))
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as base:
        yield base, rollout


def sign_in(page: Any, base: str, rollout: dashkit.Rollout, email: str, name: str) -> None:
    """Ask for a link on /signin, read it from the outbox as from the mailbox, press «Войти»."""
    page.goto(f"{base}/signin")
    page.fill("#email", email)
    page.click("text=Получить ссылку для входа")
    assert "Если этот адрес есть в системе" in page.locator(".ok").inner_text()
    shot(page, f"signin-sent-{name}")
    page.goto(base + webkit.link_in(webkit.letters_to(rollout.services, email)[-1]))
    shot(page, f"signin-link-{name}")
    page.click("button:has-text('Войти')")
    page.wait_for_url(f"{base}/")


def steps_of(rollout: dashkit.Rollout, kind: str, code: str) -> dict[str, str]:
    with rollout.services.db.read() as conn:
        row = repo.get_machine(conn, kind, code)
    assert row is not None
    return row.statuses


def test_regional_coordinator_appoints_and_completes_step_3(browser: Any, site: Any) -> None:
    base, rollout = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, rollout, RC02, "rc")
    cookie = next(c for c in context.cookies() if c["name"] == "rollout_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    item = page.locator(".todo .item", has_text="Деление школ по муниципалитетам")
    assert "у 1 из 1 муниципалитетов нет муниципального координатора" in item.inner_text()
    shot(page, "rc-home")
    item.locator("a.button").click()
    page.wait_for_url(f"{base}/regions/02/steps/municipalities")
    shot(page, "rc-step-3")
    page.fill("#name-02-001", "Уфимцева Гульнара")
    page.fill("#email-02-001", "mc-ufa@example.org")
    page.fill("#position-02-001", "начальник отдела образования")
    page.click("#appoint-02-001")
    page.wait_for_url(f"{base}/regions/02/steps/municipalities?done=assign")
    assert "Назначение записано" in page.locator(".flash").inner_text()
    assert "Уфимцева Гульнара" in page.locator(".people").inner_text()
    shot(page, "rc-appointed")
    page.click("#complete")
    page.wait_for_url(f"{base}/regions/02/steps/municipalities?done=complete")
    assert "Шаг отмечен выполненным" in page.locator(".flash").inner_text()
    assert "выполнен" in page.locator(".state").inner_text()
    shot(page, "rc-step-3-done")
    assert steps_of(rollout, "region", "02")["municipalities"] == "done"
    with rollout.services.db.read() as conn:
        assert conn.execute(select(assignments.c.email).where(
            assignments.c.scope == "02-001")).scalar_one() == "mc-ufa@example.org"
    context.close()


def test_school_admin_on_a_phone_sees_open_steps_and_completes_adoption(browser: Any,
                                                                       site: Any) -> None:
    base, rollout = site
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, base, rollout, ADMIN4, "admin")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    item = page.locator(".todo .item", has_text="Освоение функционала сайта")
    assert "срок" in item.inner_text()
    shot(page, "admin-home-phone")
    item.locator("a.button").click()
    page.wait_for_url(f"{base}/schools/0100004/steps/adoption")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "admin-step-phone")
    page.tap("#complete")
    page.wait_for_url(f"{base}/schools/0100004/steps/adoption?done=complete")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "admin-done-phone")
    assert steps_of(rollout, "school", "0100004")["adoption"] == "done"
    page.goto(f"{base}/")
    assert "Сейчас от вас ничего не требуется" in page.locator("main").inner_text()
    context.close()


def test_support_completes_step_1(browser: Any, site: Any) -> None:
    base, rollout = site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, rollout, SUPPORT, "support")
    item = page.locator(".todo .item", has_text="Москва")
    assert "1. Подключение регионального координатора" in item.inner_text()
    shot(page, "support-home")
    item.locator("a.button").click()
    page.wait_for_url(f"{base}/regions/77/steps/coordinator")
    shot(page, "support-step-1")
    page.click("#complete")
    page.wait_for_url(f"{base}/regions/77/steps/coordinator?done=complete")
    shot(page, "support-step-1-done")
    assert steps_of(rollout, "region", "77")["coordinator"] == "done"
    context.close()


def test_a_coordinators_pages_fit_a_phone_screen(browser: Any, site: Any) -> None:
    """The home page and the action pages with the longest forms do not scroll sideways at
    390 px (a regional coordinator's step 3 with two municipalities, a school's step 4)."""
    base, rollout = site
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, base, rollout, "rc01@example.org", "rc01-phone")
    for path, name in (("/", "rc01-home-phone"),
                       ("/regions/01/steps/municipalities", "rc01-step-3-phone"),
                       ("/schools/0100003/steps/admins", "rc01-school-step-4-phone"),
                       ("/regions/01/steps/registry", "rc01-step-2-phone")):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        shot(page, name)
    context.close()

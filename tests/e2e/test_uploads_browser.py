"""Uploads in a real browser (Debian's chromium, headless, Playwright): a regional coordinator
signs in by the e-mail link, uploads a people file with a bad row (the row is named, nothing is
imported), fixes it and confirms; reconciles the region's own list on its page; support
uploads schools. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from storage.models import assignments, schools
from storage.outbox import outbox
from tests import dashkit
from tests.builders import SUPPORT, World
from tests.conftest import T0, make_services
from tests.e2e.browserkit import NEEDS_CHROMIUM, shot
from web import create_app
from workflow.reconcile import sample_list

RC = "rc@region07.ru"

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(autouse=True)
def russian(monkeypatch: pytest.MonkeyPatch) -> None:
    """The served pages speak Russian (no ROLLOUT_LANG)."""
    monkeypatch.delenv("ROLLOUT_LANG", raising=False)



@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, World]]:
    services = make_services(f"sqlite:///{tmp_path / 'rollout.db'}", tmp_path)
    world = World(services, tmp_path, T0).standard().through_step3()
    with dashkit.running(create_app(services, lambda: world.now)) as base:
        yield base, world
    services.db.dispose()


def sign_in(browser: Any, base: str, world: World, email: str) -> Any:
    """Ask for the link on the sign-in page, take it from the letter, press «Войти»."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.fill("#email", email)
    page.click("button:has-text('Получить ссылку для входа')")
    page.wait_for_selector("p.ok")
    with world.services.db.read() as conn:
        body = conn.execute(select(outbox.c.body_text).where(outbox.c.kind == "signin")
                            .order_by(outbox.c.id.desc())).scalars().first()
    link = re.search(r"https?://\S+/signin/link\?\S+", body or "")
    assert link, body
    parts = urlsplit(link.group(0))
    page.goto(f"{base}{parts.path}?{parts.query}")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def people_file(tmp: Path, scope: str) -> Path:
    path = tmp / "люди-07.csv"
    path.write_text("Эл. почта;ФИО;Роль;Область\n"
                    "adm1@s1.ru;Иванов Иван Иванович;Администратор ОО;S1\n"
                    f"adm2@s2.ru;Петрова Анна Сергеевна;Администратор ОО;{scope}\n",
                    encoding="utf-8-sig")
    return path


def admins(world: World) -> list[str]:
    with world.services.db.read() as conn:
        return sorted(conn.execute(select(assignments.c.email).where(
            assignments.c.role == "school_admin")).scalars())


def test_coordinator_uploads_people_with_a_bad_row_then_confirms(browser: Any, site: Any,
                                                                  tmp_path: Path) -> None:
    """Row 3 names a school that does not exist: the page names the row, nothing imported;
    the fixed file is previewed and confirmed; then the region's list is reconciled."""
    base, world = site
    page = sign_in(browser, base, world, RC)
    page.goto(f"{base}/uploads")
    page.select_option("#kind", "people")
    page.set_input_files("#file", str(people_file(tmp_path, "S3")))
    page.click("button:has-text('Проверить файл')")
    problems = page.locator("#problems")
    problems.wait_for()
    assert "3: scope: неизвестный код 'S3'" in problems.inner_text()
    assert "ничего не импортировано" in problems.inner_text()
    shot(page, "upload-people-bad-row")
    assert admins(world) == []
    page.set_input_files("#file", str(people_file(tmp_path, "S2")))
    page.click("button:has-text('Проверить файл')")
    preview = page.locator("#preview")
    preview.wait_for()
    assert "Ошибок нет" in preview.inner_text()
    shot(page, "upload-people-preview")
    assert admins(world) == []
    page.click("button:has-text('Подтвердить импорт')")
    page.wait_for_url(f"{base}/uploads?done=imported")
    assert page.get_by_text("Файл импортирован").count() == 1
    shot(page, "upload-people-imported")
    assert admins(world) == ["adm1@s1.ru", "adm2@s2.ru"]

    listing = sample_list(world.services, "07", tmp_path / "список-07.xlsx")
    page.goto(f"{base}/regions/07/reconcile")
    page.set_input_files("#file", str(listing))
    page.click("button:has-text('Провести сверку')")
    page.wait_for_url(f"{base}/regions/07/reconcile?done=reconciled")
    assert page.get_by_text("Скачать заявку в СТП").count() == 1
    shot(page, "reconcile-region-07")
    page.context.close()


def test_support_uploads_schools(browser: Any, site: Any, tmp_path: Path) -> None:
    """Support previews a schools workbook's CSV and confirms it: the new school exists."""
    base, world = site
    page = sign_in(browser, base, world, SUPPORT)
    path = tmp_path / "школы.csv"
    path.write_text("Регион;Муниципалитет;Код;Наименование;Педагогов;Классов;Учащихся\n"
                    "07;0701;S9;МБОУ «СОШ № 9»;20;11;300\n", encoding="cp1251")
    page.goto(f"{base}/uploads")
    page.select_option("#kind", "schools")
    page.set_input_files("#file", str(path))
    page.click("button:has-text('Проверить файл')")
    page.locator("#preview").wait_for()
    shot(page, "upload-schools-preview")
    page.click("button:has-text('Подтвердить импорт')")
    page.wait_for_url(f"{base}/uploads?done=imported")
    shot(page, "upload-schools-imported")
    with world.services.db.read() as conn:
        assert conn.execute(select(schools.c.name).where(schools.c.code == "S9")).scalar() \
            == "МБОУ «СОШ № 9»"
    page.context.close()

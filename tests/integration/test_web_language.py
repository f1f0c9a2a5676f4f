"""The pages in the reader's language: Russian by default, English through the switch."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from states import STEPS
from storage.models import municipalities, people, regions, schools
from storage.reconciliations import reconciliations
from tests import dashkit
from web import create_app
from web.regions_grid import DISTRICTS

CYRILLIC = re.compile("[а-яА-ЯёЁ]")
# Data keep their names in every language: regions, municipalities, schools and people are not
# translated, nor are the federal districts; nor are the step titles and instructions of states/
# (yet; nor their guards' reasons, which is why no page here shows a school held by one), nor the
# switch's «Русский», which names the language in itself.
OURS = {*(s.title for s in STEPS), *(s.todo for s in STEPS), *DISTRICTS, *DISTRICTS.values(),
        "Русский"}


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> dashkit.Rollout:
    return dashkit.seed(tmp_path_factory.mktemp("language"))


@pytest.fixture(scope="module")
def data(rollout: dashkit.Rollout) -> list[str]:
    """Every name in the database (and the names of the files reconciled), longest first, as
    written and as the page escapes it."""
    with rollout.services.db.read() as conn:
        names = {n for t in (regions, municipalities, schools, people)
                 for n in conn.execute(select(t.c.name)).scalars() if n}
        names |= set(conn.execute(select(reconciliations.c.file)).scalars())
    return sorted({*OURS, *names, *map(html.escape, names)}, key=len, reverse=True)


@pytest.fixture(scope="module")
def base(rollout: dashkit.Rollout) -> Iterator[str]:
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as url:
        yield url


def english(page: str, data: list[str]) -> str:
    """The page's text with the data taken out: what is left must not be Russian."""
    text = re.sub(r"<[^>]+>", " ", page)
    for name in data:
        text = text.replace(name, "")
    return text


def test_pages_are_russian_by_default_whatever_the_browser_asks(base: str) -> None:
    """No cookie: Russian, even with Accept-Language: en and ROLLOUT_LANG=en in the tests."""
    with httpx.Client(base_url=base, headers={"Accept-Language": "en-GB,en"}) as c:
        r = c.get("/signin")
    assert '<html lang="ru">' in r.text and "Получить ссылку для входа" in r.text
    assert 'href="/lang/en?next=%2Fsignin" hreflang="en" lang="en">English</a>' in r.text


def test_the_switch_sets_a_lax_http_only_cookie_and_returns_to_the_page(base: str) -> None:
    """GET /lang/en?next=/path answers 303 back to the path, the cookie says en."""
    with httpx.Client(base_url=base) as c:
        r = c.get("/lang/en", params={"next": "/signin?next=%2Fregions%2F01"})
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fregions%2F01"
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith("rollout_lang=en;") and "httponly" in cookie
        assert "samesite=lax" in cookie and "path=/" in cookie
        page = c.get("/signin")
        assert '<html lang="en">' in page.text and "Get a sign-in link" in page.text
        assert ">Русский</a>" in page.text
        back = c.get("/lang/ru", params={"next": "/signin"})
        assert back.headers["location"] == "/signin"
        assert "Получить ссылку для входа" in c.get("/signin").text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "javascript:alert(1)", "", "/ok\r\nSet-Cookie: x=1"])
def test_the_switch_never_redirects_off_site(base: str, target: str) -> None:
    """Anything but a path of this site goes home."""
    with httpx.Client(base_url=base) as c:
        r = c.get("/lang/en", params={"next": target})
    assert r.status_code == 303 and r.headers["location"] == "/"


@pytest.mark.parametrize(("who", "path", "status"), [
    (None, "/signin", 200),
    (None, "/regions/01", 401),
    ("rc01@example.org", "/", 200),
    ("rc01@example.org", "/regions/01/steps/coordinator", 200),
    ("rc01@example.org", "/regions/01/steps/registry", 200),
    ("rc01@example.org", "/schools/0100001/steps/adoption", 200),
    ("rc01@example.org", "/regions/77", 403),
    ("pm@example.org", "/schools/nope", 404),
    ("pm@example.org", "/", 200),
    ("pm@example.org", "/regions/01", 200),
    ("pm@example.org", "/municipalities/01-001", 200),
    ("pm@example.org", "/schools/0100001", 200),
    ("pm@example.org", "/history", 200),
    ("pm@example.org", "/history?kind=school&code=0100001", 200),
    ("pm@example.org", "/trends", 200),
    ("pm@example.org", "/regions/01/trends", 200),
    ("rc01@example.org", "/uploads", 200),
    ("rc01@example.org", "/regions/01/reconcile", 200),
])
def test_an_english_page_has_no_russian_outside_the_data(
        base: str, rollout: dashkit.Rollout, data: list[str], who: str | None, path: str,
        status: int) -> None:
    """Sign-in, home, step, error, country (the programme manager's home), region, municipality,
    school, history, trends, upload and reconciliation pages in English: every word of ours is
    English."""
    cookies = {"rollout_lang": "en"} | ({"rollout_token": rollout.tokens[who]} if who else {})
    with httpx.Client(base_url=base, cookies=cookies) as c:
        r = c.get(path)
    assert r.status_code == status
    assert '<html lang="en">' in r.text
    left = english(r.text, data)
    assert CYRILLIC.findall(left) == [], [w for w in left.split() if CYRILLIC.search(w)]


def test_the_server_default_can_be_english(rollout: dashkit.Rollout) -> None:
    """`serve` under ROLLOUT_LANG=en: English until the reader switches to Russian."""
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW, "en")) as url, \
            httpx.Client(base_url=url) as c:
        assert "Get a sign-in link" in c.get("/signin").text
        c.get("/lang/ru", params={"next": "/signin"})
        assert "Получить ссылку для входа" in c.get("/signin").text


def test_the_json_api_keeps_its_words(base: str, rollout: dashkit.Rollout) -> None:
    """The API's keys and the map's labels do not follow the page language."""
    headers = {"Authorization": f"Bearer {rollout.tokens['pm@example.org']}"}
    with httpx.Client(base_url=base, headers=headers) as c:
        ru = c.get("/api/map").json()
    with httpx.Client(base_url=base, headers=headers, cookies={"rollout_lang": "en"}) as c:
        en = c.get("/api/map").json()
    assert ru == en


@pytest.mark.parametrize(("lang", "said"), [
    ("ru", "Это вне вашей зоны ответственности."),
    ("en", "This is outside your area of responsibility."),
])
def test_a_refusal_out_of_scope_speaks_the_page_language(
        base: str, rollout: dashkit.Rollout, lang: str, said: str) -> None:
    """Another region's reconciliation: 403 in the reader's language, not the API's English."""
    cookies = {"rollout_lang": lang, "rollout_token": rollout.tokens["rc01@example.org"]}
    with httpx.Client(base_url=base, cookies=cookies) as c:
        r = c.get("/regions/77/reconcile")
    assert r.status_code == 403 and said in r.text
    assert "outside your scope" not in r.text

"""The dashboard pages as a person sees them: sign-in, scope, blocking schools, safety."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import dashkit
from web import create_app, views, write_static


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> dashkit.Rollout:
    return dashkit.seed(tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def client(rollout: dashkit.Rollout) -> Iterator[httpx.Client]:
    with dashkit.running(create_app(rollout.services, lambda: dashkit.NOW)) as base, \
            httpx.Client(base_url=base) as c:
        yield c


def page(client: httpx.Client, rollout: dashkit.Rollout, path: str, who: str) -> httpx.Response:
    return client.get(path, headers={"Cookie": f"rollout_token={rollout.tokens[who]}"})


def test_a_page_without_a_token_shows_the_sign_in_form(client: httpx.Client) -> None:
    """Unauthenticated pages answer 401 with the form, which returns to the page asked for."""
    r = client.get("/regions/01")
    assert r.status_code == 401 and 'name="token"' in r.text
    assert 'name="next" value="/regions/01"' in r.text


def form_token(client: httpx.Client) -> str:
    """The sign-in form's token (its cookie stays in the client)."""
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").text)
    assert found
    return found.group(1)


def test_signing_in_by_token_opens_a_session_with_an_http_only_lax_cookie(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """A good token redirects to the page asked for and opens a session (the cookie holds the
    session, never the token); a bad one does not; over plain HTTP the cookie is not Secure."""
    r = client.post("/signin", data={"token": rollout.tokens["pm@example.org"],
                                     "next": "/regions/01", "csrf": form_token(client)})
    assert r.status_code == 303 and r.headers["location"] == "/regions/01"
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("rollout_session=") and rollout.tokens["pm@example.org"] not in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    client.cookies.delete("rollout_session")
    bad = client.post("/signin", data={"token": "nope.nope", "next": "/",
                                       "csrf": form_token(client)})
    assert bad.status_code == 401 and "rollout_session" not in bad.headers.get("set-cookie", "")
    assert "Ключ не подошёл" in bad.text


def test_sign_in_never_redirects_off_site(client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """`next` pointing elsewhere falls back to the home page."""
    for target in ("https://evil.example", "//evil.example", "/\\evil.example"):
        r = client.post("/signin", data={"token": rollout.tokens["pm@example.org"],
                                         "next": target, "csrf": form_token(client)})
        assert r.headers["location"] == "/"
    client.cookies.delete("rollout_session")


def test_every_answer_carries_the_security_headers(client: httpx.Client,
                                                   rollout: dashkit.Rollout) -> None:
    """CSP, nosniff, no framing, no referrer, on pages, errors and the API alike."""
    for r in (client.get("/"), page(client, rollout, "/", "pm@example.org"),
              client.get("/api/report"), page(client, rollout, "/regions/77", "rc01@example.org")):
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_country_page_shows_every_region_with_state_and_late_schools(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """A program manager sees all regions, each with its current step and late schools."""
    html = page(client, rollout, "/", "pm@example.org").text
    for name in ("Республика Адыгея", "Республика Башкортостан", "Москва"):
        assert name in html
    assert "4. Назначение администраторов ОО" in html
    # 3 of Адыгея's schools late on step 4, and Москва's one school held by its region, late
    # on step 1 since January
    assert re.search(r'class="num late">4</span>школ с просроченным шагом', html)
    assert html.count("<svg") >= 4  # the funnel and a bar chart per region


def test_region_page_names_the_blocking_school_and_its_reason(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """The region's current step, the school holding it back, and the guard's reason."""
    html = page(client, rollout, "/regions/01", "rc01@example.org").text
    assert "Где стоит регион: 4. Назначение администраторов ОО" in html
    assert 'href="/schools/0100003"' in html
    assert "не назначен администратор ОО" in html
    assert "Майкоп" in html and "Адыгейск" in html


def test_school_names_are_escaped(client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """Markup in data is shown as text, never run."""
    html = page(client, rollout, "/schools/0100003", "pm@example.org").text
    assert "Лицей &lt;Адыгейск&gt; &amp; Ко" in html and "<Адыгейск>" not in html


def test_school_page_shows_steps_blocker_people_and_history_to_an_auditor(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """Nine steps with dates, what blocks the school, who is responsible, the history."""
    html = page(client, rollout, "/schools/0100002", "auditor@example.org").text
    assert "педагоги: загружено 12 из 40, нужно 40" in html
    assert "Школьный Семён" in html and "История (" in html
    assert "15.01.2026 10:00" in html  # registry done, shown in Moscow time


def test_history_is_for_auditors_and_program_managers_only(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """The search finds a school's events for an auditor; a coordinator gets 403."""
    r = page(client, rollout, "/history?kind=school&code=0100001&event=StepCompleted",
             "auditor@example.org")
    assert r.status_code == 200 and "Найдено событий: 9" in r.text
    assert r.text.count("<td>школа 0100001</td>") == 9  # one row per event, its object named
    # in Russian, at the region's local time, its zone named as people name it
    assert r.text.count("<td>Шаг выполнен</td>") == 9 and "StepCompleted</td>" not in r.text
    assert "02.02.2026 10:00 <span class=\"muted\">МСК, Москва</span>" in r.text
    assert '<option value="StepCompleted" selected>Шаг выполнен</option>' in r.text
    school = page(client, rollout, "/schools/0100001", "auditor@example.org").text
    assert "<th>Когда (МСК, Москва)</th>" in school and "<td>Назначение</td>" in school
    assert page(client, rollout, "/history", "rc01@example.org").status_code == 403
    no_history = page(client, rollout, "/schools/0100001", "rc01@example.org").text
    assert "История (" not in no_history


def test_a_municipal_coordinator_sees_only_their_municipality(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """Home lists no other region; their municipality opens, the region page does not."""
    home = page(client, rollout, "/", "mc1@example.org").text
    assert "Москва" not in home and 'href="/municipalities/01-001"' in home
    muni = page(client, rollout, "/municipalities/01-001", "mc1@example.org")
    assert muni.status_code == 200 and "Школа № 2 г. Майкопа" in muni.text
    assert "Лицей" not in muni.text
    assert page(client, rollout, "/regions/01", "mc1@example.org").status_code == 403
    assert page(client, rollout, "/schools/0100003", "mc1@example.org").status_code == 403


def test_long_school_lists_are_paged_with_a_count(client: httpx.Client, rollout: dashkit.Rollout,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Never the whole list: a page of schools, the total beside it, a link to the next page."""
    monkeypatch.setattr(views, "PAGE", 1)
    html = page(client, rollout, "/regions/01", "pm@example.org").text
    assert "показаны 1 из 2, страница 1 из 2" in html and 'href="/regions/01?page=2"' in html
    second = page(client, rollout, "/regions/01?page=2", "pm@example.org").text
    assert "страница 2 из 2" in second and 'href="/regions/01?page=1"' in second
    html = page(client, rollout, "/regions/77", "pm@example.org").text
    assert "Шаг выполняет регион; все школы ждут его" in html


def xlsx_text(path: Path) -> str:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)  # read-only keeps the file open: close it
    try:
        return "\n".join(";".join(str(v) for v in row)
                         for row in book.active.iter_rows(values_only=True))
    finally:
        book.close()


def test_static_snapshot_starts_at_index_and_holds_no_contacts(
        rollout: dashkit.Rollout, tmp_path: Path) -> None:
    """index.html first, every local link resolves, no e-mail address anywhere."""
    files = write_static(rollout.services, tmp_path / "out", dashkit.NOW)
    assert files[0].name == "index.html"
    names = {f.name for f in files}
    for f in files:
        text = xlsx_text(f) if f.suffix == ".xlsx" else f.read_text(encoding="utf-8")
        assert "@example.org" not in text
        for href in re.findall(r'href="([^"]+)"', text):
            assert href.startswith("mailto:") or href.split("#")[0] in names, (f.name, href)
    assert "school-0100003.html" in names
    assert {"regions.xlsx", "regions.csv"} <= names  # the country table, as in index.html
    assert "Республика Адыгея" in xlsx_text(tmp_path / "out" / "regions.xlsx")


def test_static_snapshot_has_municipality_and_trends_pages(
        rollout: dashkit.Rollout, tmp_path: Path) -> None:
    """Each municipality has its page, linked from its region's, with its people (names only:
    the snapshot is forwarded) and its late schools; the country and each region have trends."""
    files = {f.name: f for f in write_static(rollout.services, tmp_path / "out", dashkit.NOW)}
    assert {"municipality-01-001.html", "municipality-01-002.html", "trends.html",
            "trends-01.html"} <= set(files)
    region = files["region-01.html"].read_text(encoding="utf-8")
    assert 'href="municipality-01-002.html"' in region and 'href="trends-01.html"' in region
    muni = files["municipality-01-001.html"].read_text(encoding="utf-8")
    assert "муниципальный координатор:</span> Муниципов Михаил" in muni
    assert "111-11-11" not in muni
    assert "5. Внесение или загрузка данных о педагогах: 1 школа" in muni
    assert 'href="school-0100002.html"' in muni


def test_country_page_says_what_changed_this_week_and_links_to_whom_to_call(
        client: httpx.Client, rollout: dashkit.Rollout) -> None:
    """Nothing was finished in the week to 2 March: region 01 has stalled since 2 February; its
    late count links to the list of late schools with their people. A coordinator of region 77
    reads the week of their own region only."""
    html = page(client, rollout, "/", "pm@example.org").text
    assert "Школы выполнили шагов: 0." in html and "Новых просрочек нет." in html
    assert ('Без движения 5 рабочих дней и дольше: <a href="/regions/01">Республика Адыгея</a>'
            " (последний шаг выполнен 02.02.2026).") in html
    assert '<a href="/regions/01#late">3</a>' in html
    assert 'href="/trends"' in html
    mine = page(client, rollout, "/", "rc77@example.org").text
    assert "Регионов без движения нет." in mine and 'href="/trends"' not in mine
    assert page(client, rollout, "/trends", "rc77@example.org").status_code == 403


def test_late_schools_are_paged_and_scoped(client: httpx.Client, rollout: dashkit.Rollout,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Two late schools a page: the second page holds the third, under its own step with the
    step's full count; a municipal coordinator sees the phones of their municipality's people
    but not the region coordinator's."""
    from web import drilldown

    monkeypatch.setattr(drilldown, "PAGE", 2)
    first = page(client, rollout, "/regions/01", "pm@example.org").text
    assert "показаны 2 из 3, страница 1 из 2" in first
    assert 'href="/regions/01?late=2#late"' in first
    second = page(client, rollout, "/regions/01?late=2", "pm@example.org").text
    assert "показаны 1 из 3, страница 2 из 2" in second
    assert "<h3>5. Внесение или загрузка данных о педагогах: 1 школа</h3>" in second
    assert "<h3>4. Назначение администраторов ОО" not in second
    muni = page(client, rollout, "/municipalities/01-001", "mc1@example.org").text
    assert "+7 900 111-11-11" in muni  # their own contacts, in scope
    assert "Регионова Римма" not in muni  # the municipality's page lists its own people

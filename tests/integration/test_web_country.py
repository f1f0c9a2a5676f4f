"""The country page on a national dataset (89 regions): worst first, sort, filter, search, map,
exports; a region stuck at step 1 counts as late."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import insert

from storage.models import assignments, people
from tests import dashkit, nationkit
from web import create_app, write_static
from web.access import create_token
from web.regions_grid import GRID

ROW = re.compile(r'<td data-label="Код">([^<]+)</td>')


@pytest.fixture(scope="module")
def nation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, dict]]:
    services = dashkit.make_services(tmp_path_factory.mktemp("nation"))
    counts = nationkit.build(services, scale=0.02)
    token = create_token(services, nationkit.PM, nationkit.NOW)
    with dashkit.running(create_app(services, lambda: nationkit.NOW)) as base, \
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c, {"services": services, "counts": counts}


def codes(client: httpx.Client, query: str = "") -> list[str]:
    r = client.get(f"/{query}")
    assert r.status_code == 200
    return ROW.findall(r.text)


def test_the_region_stuck_at_step_1_comes_first_with_all_its_schools_late(nation) -> None:
    """Дагестан never connected: its schools all wait on it, so it tops the list; Москва, on
    step 3 for two days, is within its SLA and holds nobody late."""
    client, data = nation
    html = client.get("/").text
    rows = ROW.findall(html)
    assert len(rows) == 89 and rows[0] == nationkit.STUCK
    first = html[html.index('<td data-label="Код">05</td>'):]
    first = first[:first.index("</tr>")]
    n = data["counts"][nationkit.STUCK]
    assert (f'data-label="Просрочено школ"><a href="/regions/05#late">{n}</a> '
            '<span class="muted">(ждут регион)') in first  # the list of whom to call
    assert re.search(r"просрочен на \d+ раб\. дн\.", first)
    moscow = html[html.index('<td data-label="Код">77</td>'):]
    moscow = moscow[:moscow.index("</tr>")]
    assert 'data-label="Просрочено школ">0<' in moscow and "просрочен на" not in moscow
    assert rows.index(nationkit.SLOW) < rows.index(nationkit.FRESH)


def test_sort_filter_and_search_change_the_rows(nation) -> None:
    client, _ = nation
    assert codes(client, "?sort=name&dir=asc") != codes(client)
    html = client.get("/?sort=name&dir=asc").text
    names = re.findall(r'<td data-label="Регион"><a href="/regions/\d+">([^<]+)</a>', html)
    assert names == sorted(names, key=str.casefold) and names[0] == "Алтайский край"
    assert set(codes(client, "?district=СКФО")) == {c for c, (d, _, _) in GRID.items()
                                                   if d == "СКФО"}
    assert set(codes(client, "?tz=Asia/Vladivostok")) == {"25", "27", "79"}
    assert codes(client, "?step=coordinator") == [nationkit.STUCK]
    late = codes(client, "?late=1")
    assert nationkit.FRESH not in late and nationkit.STUCK in late and len(late) < 89
    assert codes(client, "?q=дагестан") == ["05"]
    html = client.get("/?q=1401234567").text  # not an INN of the dataset: nothing found
    assert ROW.findall(html) == [] and "Ни один регион не подходит" in html


def test_search_by_a_school_inn_finds_its_region_and_the_school(nation) -> None:
    client, _ = nation
    inn = nationkit.make_inn("140000002")  # Якутия's third school
    html = client.get(f"/?q={inn}").text
    assert ROW.findall(html) == ["14"]
    assert 'href="/schools/1400002"' in html


def test_sort_links_and_export_links_keep_the_filters(nation) -> None:
    client, _ = nation
    html = client.get("/?district=ДФО&late=1").text
    heads = re.findall(r'<th[^>]*><a href="([^"]+)"', html)
    assert heads and all("district=" in h and "late=1" in h for h in heads)
    exports = re.findall(r'href="(/export/regions\.(?:csv|xlsx)[^"]*)"', html)
    assert len(exports) == 2 and all("district=" in e and "late=1" in e for e in exports)


def test_exports_hold_the_rows_on_screen(nation) -> None:
    """XLSX opens in openpyxl, CSV is UTF-8 with a BOM and `;`; both with the screen's rows."""
    client, _ = nation
    query = "?district=ЦФО&sort=name&dir=asc"
    shown = codes(client, query)
    book = load_workbook(io.BytesIO(client.get(f"/export/regions.xlsx{query}").content))
    sheet = [row for row in book.active.iter_rows(values_only=True)]
    assert sheet[0][:3] == ("Код", "Регион", "Федеральный округ")
    assert [r[0] for r in sheet[1:]] == shown
    assert all(r[2] == "Центральный" for r in sheet[1:])
    raw = client.get(f"/export/regions.csv{query}")
    assert raw.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.content.decode("utf-8-sig")), delimiter=";"))
    assert [r[0] for r in table[1:]] == shown
    assert "attachment" in raw.headers["content-disposition"]
    assert client.get("/export/regions.pdf").status_code == 404


def test_the_map_has_a_linked_tile_per_region(nation) -> None:
    client, _ = nation
    html = client.get("/").text
    svg = html[html.index('<svg class="map"'):]
    svg = svg[:svg.index("</svg>")]
    links = re.findall(r'<a href="/regions/(\d+)"', svg)
    assert sorted(links) == sorted(GRID)
    api = client.get("/api/map").json()
    assert len(api["tiles"]) == 89 and api["by"] == "late"
    stuck = next(t for t in api["tiles"] if t["code"] == nationkit.STUCK)
    assert stuck["held_by_region"] == stuck["schools"] > 0 and stuck["longest_late_days"] > 0
    progress = client.get("/api/map?by=progress").json()
    assert progress["by"] == "progress"
    assert {t["fill"] for t in progress["tiles"]} != {t["fill"] for t in api["tiles"]}
    assert client.get("/api/map?by=colour").status_code == 400


def test_a_coordinator_sees_and_exports_only_their_region(nation) -> None:
    client, data = nation
    services = data["services"]
    with services.db.write() as conn:
        conn.execute(insert(people), [{"email": "rc14@example.org", "name": "Якутова Яна",
                                       "position": None, "phone": None}])
        conn.execute(insert(assignments), [{"email": "rc14@example.org", "role":
                                            "regional_coordinator", "scope": "14",
                                            "since": nationkit.NOW}])
    token = create_token(services, "rc14@example.org", nationkit.NOW)
    who = {"Authorization": f"Bearer {token}"}
    home = client.get("/", headers=who).text  # their own work, not the country's table
    assert "Что сделать сейчас" in home and ROW.findall(home) == []
    assert client.get("/regions/77", headers=who).status_code == 403
    raw = client.get("/export/regions.csv", headers=who).content.decode("utf-8-sig")
    assert [r[0] for r in csv.reader(io.StringIO(raw), delimiter=";")][1:] == ["14"]
    assert [t["code"] for t in client.get("/api/map", headers=who).json()["tiles"]] == ["14"]
    assert client.get("/api/map", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_the_snapshot_holds_the_map_and_the_table_files(nation, tmp_path: Path) -> None:
    _, data = nation
    files = write_static(data["services"], tmp_path, nationkit.NOW)
    index = files[0].read_text(encoding="utf-8")
    assert index.count('<a href="region-') >= 2 * 89  # a tile and a row per region
    assert ROW.findall(index)[0] == nationkit.STUCK
    assert (tmp_path / "regions.xlsx").exists() and (tmp_path / "regions.csv").exists()


def test_a_region_exports_every_school_holding_its_step(nation) -> None:
    """The region page lists its blocking schools a page at a time; the export holds them all,
    each with its lateness and what holds it."""
    client, data = nation
    html = client.get("/regions/50").text
    total = int(re.search(r"Школы, которые держат шаг «[^»]+»: (\d+)", html).group(1))
    assert 'href="/export/regions/50/schools.xlsx"' in html
    book = load_workbook(io.BytesIO(client.get("/export/regions/50/schools.xlsx").content))
    sheet = list(book.active.iter_rows(values_only=True))
    assert sheet[0][0] == "Код школы" and len(sheet) - 1 == total
    assert all(str(r[0]).startswith("50") for r in sheet[1:])
    assert any(isinstance(r[5], int) and r[5] > 0 for r in sheet[1:])  # late by N days
    raw = client.get("/export/regions/50/schools.csv").content
    assert raw.startswith("\ufeff".encode()) and raw.decode("utf-8-sig").count("\r\n") == total + 1
    assert client.get("/export/regions/99/schools.csv").status_code == 404


def test_the_page_of_a_region_late_on_its_own_step_counts_all_its_schools_late(nation) -> None:
    """Дагестан's page says as much as the country page: every school late, by its days."""
    client, data = nation
    html = client.get(f"/regions/{nationkit.STUCK}").text
    n = data["counts"][nationkit.STUCK]
    assert f'class="num late">{n}</span>с просроченным шагом' in html
    assert re.search(r"Шаг просрочен на \d+ раб\. дн\.: все школы региона", html)
    munis = re.findall(r'<td class="n late">(\d+)</td>', html)
    assert munis and sum(map(int, munis)) == n

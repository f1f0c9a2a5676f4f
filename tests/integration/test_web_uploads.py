"""Uploads over HTTP as a signed-in person: preview (the importer's dry run, row errors on the
page), confirm (exactly the previewed file, once), CSRF, the size cap, and the region's own
list reconciled on its page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from storage.models import assignments
from tests import dashkit
from tests.builders import SUPPORT, World
from web import create_app
from workflow.reconcile import sample_list
from workflow.signin import open_session

RC = "rc@region07.ru"
GOOD = "email,name,role,scope\nadm@s1.ru,Админ Первый,school_admin,S1\n"
BAD = GOOD + "adm2@s2.ru,Админ Второй,school_admin,НЕТ-ТАКОЙ\n"


class Person:
    """A signed-in browser: the session cookie and the form token of its pages."""

    def __init__(self, client: httpx.Client, world: World, email: str) -> None:
        secret, session = open_session(world.services, email, world.now)
        self.client, self.csrf = client, session.csrf
        self.cookies = {"Cookie": f"rollout_session={secret}"}

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers=self.cookies)

    def upload(self, path: str, name: str, body: str | bytes, csrf: str | None = None,
               **fields: str) -> httpx.Response:
        data = {"csrf": self.csrf if csrf is None else csrf, **fields}
        content = body.encode() if isinstance(body, str) else body
        return self.client.post(path, headers=self.cookies, data=data,
                                files={"file": (name, content, "text/csv")})

    def post(self, path: str, **fields: str) -> httpx.Response:
        return self.client.post(path, headers=self.cookies, data={"csrf": self.csrf, **fields})


@pytest.fixture(autouse=True)
def russian(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages speak Russian, as `serve` does (no ROLLOUT_LANG)."""
    monkeypatch.delenv("ROLLOUT_LANG", raising=False)


@pytest.fixture
def site(world: World) -> Iterator[tuple[httpx.Client, World]]:
    world.standard().through_step3()
    with dashkit.running(create_app(world.services, lambda: world.now)) as base, \
            httpx.Client(base_url=base) as client:
        yield client, world


def admins(world: World) -> list[str]:
    with world.services.db.read() as conn:
        return sorted(conn.execute(select(assignments.c.email).where(
            assignments.c.role == "school_admin")).scalars())


def confirm_path(page: str) -> str:
    found = re.search(r'action="(/uploads/[^"/]+/confirm)"', page)
    assert found, page
    return found.group(1)


def test_a_bad_row_is_named_then_the_fixed_file_is_confirmed(site: Any) -> None:
    """The coordinator's file with a bad scope: 422, the page names row 3 and its column,
    nothing imported. The fixed file: a preview that counts it, then the confirm imports it
    and a second confirm imports nothing."""
    client, world = site
    rc = Person(client, world, RC)
    r = rc.upload("/uploads", "люди.csv", BAD, kind="people")
    assert r.status_code == 422
    assert "3: scope: неизвестный код" in r.text and "ничего не импортировано" in r.text
    assert admins(world) == []
    r = rc.upload("/uploads", "люди.csv", GOOD, kind="people")
    assert r.status_code == 200 and "Подтвердить импорт" in r.text
    assert admins(world) == []
    path = confirm_path(r.text)
    r = rc.post(path)
    assert r.status_code == 303 and r.headers["location"] == "/uploads?done=imported"
    assert admins(world) == ["adm@s1.ru"]
    r = rc.post(path)
    assert r.status_code == 422 and "уже импортирован" in r.text


def test_without_the_form_token_nothing_is_previewed_or_confirmed(site: Any) -> None:
    """A form posted from elsewhere (no CSRF token) is refused: 403, nothing kept."""
    client, world = site
    rc = Person(client, world, RC)
    r = rc.upload("/uploads", "p.csv", GOOD, csrf="forged", kind="people")
    assert r.status_code == 403
    r = rc.upload("/uploads", "p.csv", GOOD, kind="people")
    r2 = client.post(confirm_path(r.text), headers=rc.cookies, data={"csrf": "forged"})
    assert r2.status_code == 403 and admins(world) == []


def test_another_person_cannot_confirm_my_upload(site: Any) -> None:
    """The upload is bound to its owner: support posting its confirm finds nothing."""
    client, world = site
    r = Person(client, world, RC).upload("/uploads", "p.csv", GOOD, kind="people")
    r = Person(client, world, SUPPORT).post(confirm_path(r.text))
    assert r.status_code in (403, 422) and admins(world) == []


def test_an_upload_past_the_cap_is_refused_while_streaming(site: Any) -> None:
    """A body larger than the cap is 413, whether declared or only counted as it arrives."""
    client, world = site
    rc = Person(client, world, RC)
    big = b"x" * (21 * 2**20)
    r = rc.upload("/uploads", "big.csv", big, kind="people")
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield (f"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{rc.csrf}\r\n"
               "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
               "Content-Type: text/csv\r\n\r\n").encode()
        for _ in range(21):
            yield b"y" * 2**20
    r = client.post("/uploads", headers={**rc.cookies,
                                         "Content-Type": "multipart/form-data; boundary=b"},
                    content=chunks())
    assert r.status_code == 413 and admins(world) == []


def test_a_kind_outside_the_role_is_not_offered_nor_accepted(site: Any) -> None:
    """The coordinator's form offers people and metrics, not schools; posting schools: 403."""
    client, world = site
    rc = Person(client, world, RC)
    page = rc.get("/uploads").text
    assert 'value="people"' in page and 'value="schools"' not in page
    r = rc.upload("/uploads", "s.csv", "region,code,name\n07,S9,Школа\n", kind="schools")
    assert r.status_code == 403


def test_support_uploads_schools(site: Any) -> None:
    """Support previews and confirms a schools file; the school exists afterwards."""
    client, world = site
    support = Person(client, world, SUPPORT)
    body = ("region,municipality,code,name,teachers_expected,classes_expected,"
            "students_expected\n07,0701,S9,Школа № 9,10,5,100\n")
    r = support.upload("/uploads", "школы.csv", body, kind="schools")
    assert r.status_code == 200 and "Будет добавлено" in r.text
    r = support.post(confirm_path(r.text))
    assert r.status_code == 303
    assert world.status("school", "S9")["code"] == "S9"


def test_the_region_list_is_reconciled_on_the_region_page(site: Any, tmp_path: Any) -> None:
    """The coordinator uploads the region's own list: the tables show, the request downloads
    as XLSX, and the open discrepancies are accepted with a reason (step 2 then completes)."""
    client, world = site
    rc = Person(client, world, RC)
    listing = sample_list(world.services, "07", tmp_path / "список-07.xlsx")
    r = rc.upload("/regions/07/reconcile", listing.name, listing.read_bytes())
    assert r.status_code == 303, re.findall(r"<li>(.*?)</li>", r.text)
    assert r.headers["location"] == "/regions/07/reconcile?done=reconciled"
    page = rc.get("/regions/07/reconcile").text
    assert "Добавить (есть в списке региона, нет в реестре)" in page
    r = rc.get("/regions/07/reconcile/request.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    r = rc.post("/regions/07/reconcile/accept", reason="СОШ закрыта приказом от 01.09")
    assert r.status_code == 303
    assert "Открытых расхождений: 0" in rc.get("/regions/07/reconcile").text

"""Sign-in by e-mail link: single use, expiry, rate limits, sessions ended server-side, cookies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests import dashkit, webkit
from web import create_app
from workflow.signin import redeem_link, request_link

RC01 = "rc01@example.org"


@dataclass
class Clock:
    """The moment the app sees; tests move it forward by hand."""

    at: datetime = field(default=dashkit.NOW)

    def __call__(self) -> datetime:
        return self.at


Site = tuple[str, dashkit.Rollout, "Clock"]


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[tuple[str, dashkit.Rollout, Clock]]:
    """The seeded rollout served, on SQLite and on PostgreSQL (links and sessions in the DB)."""
    rollout = dashkit.seed(tmp_path, None if db_url.startswith("sqlite") else db_url)
    clock = Clock()
    with dashkit.running(create_app(rollout.services, clock)) as base:
        yield base, rollout, clock
    rollout.services.db.dispose()


def test_a_link_signs_in_once_and_the_answer_hides_who_is_known(site: Site) -> None:
    """A known address gets a letter with a link, an unknown one gets nothing, and both read
    the same page; opening the link changes nothing until its button is pressed; it works once."""
    base, rollout, _ = site
    with httpx.Client(base_url=base) as client:
        known = webkit.ask_link(client, RC01)
        unknown = webkit.ask_link(client, "nobody@example.org")
        assert known.status_code == unknown.status_code == 200
        assert known.text == unknown.text and "Если этот адрес есть в системе" in known.text
        assert webkit.letters_to(rollout.services, "nobody@example.org") == []
        [letter] = webkit.letters_to(rollout.services, RC01)
        assert "Ссылка действует до 02.03.2026 12:20 (московское время)" in letter
        path = webkit.link_in(letter)
        for _ in range(2):  # GET shows the button only: a mail scanner does not use the link up
            assert client.get(path).status_code == 200
        assert "rollout_session" not in client.cookies
        first = webkit.use_link(client, path)
        assert first.status_code == 303 and first.headers["location"] == "/"
        home = client.get("/")
        assert home.status_code == 200 and "Регионова Римма" in home.text
        assert "Что сделать сейчас" in home.text
    with httpx.Client(base_url=base) as other:
        again = webkit.use_link(other, path)
        assert again.status_code == 401 and "уже использована или истекла" in again.text
        assert "rollout_session" not in other.cookies
        assert other.get("/").status_code == 401


def test_an_expired_link_does_not_sign_in(site: Site) -> None:
    base, rollout, clock = site
    with httpx.Client(base_url=base) as client:
        webkit.ask_link(client, RC01)
        path = webkit.link_in(webkit.letters_to(rollout.services, RC01)[-1])
        clock.at = dashkit.NOW + timedelta(minutes=rollout.services.config.web.link_minutes,
                                           seconds=1)
        r = webkit.use_link(client, path)
        assert r.status_code == 401 and "rollout_session" not in client.cookies


def test_link_requests_beyond_the_limits_are_refused(site: Site) -> None:
    """5 an hour per address, 20 an hour per client, known addresses or not; an hour later
    the address may ask again."""
    base, rollout, clock = site
    web = rollout.services.config.web
    with httpx.Client(base_url=base) as client:
        answers = [webkit.ask_link(client, RC01).status_code
                   for _ in range(web.links_per_address + 1)]
        assert answers == [200] * web.links_per_address + [429]
        assert len(webkit.letters_to(rollout.services, RC01)) == web.links_per_address
        others = [webkit.ask_link(client, f"x{i}@example.org").status_code
                  for i in range(web.links_per_client - web.links_per_address + 1)]
        assert others[-1] == 429 and set(others[:-1]) == {200}
        refused = webkit.ask_link(client, "pm@example.org")  # a new address, the same client
        assert refused.status_code == 429 and "Слишком много запросов" in refused.text
        assert webkit.letters_to(rollout.services, "pm@example.org") == []
        clock.at = dashkit.NOW + timedelta(hours=1, seconds=1)
        assert webkit.ask_link(client, RC01).status_code == 200


def test_a_signed_out_session_cookie_no_longer_works(site: Site) -> None:
    """Sign-out ends the session in the database: the cookie kept aside opens nothing."""
    base, rollout, _ = site
    with httpx.Client(base_url=base) as client:
        csrf = webkit.sign_in(client, rollout.services, RC01)
        kept = client.cookies["rollout_session"]
        assert client.post("/signout", data={"csrf": "wrong"}).status_code == 403
        assert client.get("/").status_code == 200  # a forged sign-out ends nothing
        out = client.post("/signout", data={"csrf": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/signin"
    with httpx.Client(base_url=base, cookies={"rollout_session": kept}) as replay:
        assert replay.get("/").status_code == 401
        assert replay.get("/api/report").status_code == 401
        r = replay.post("/regions/77/steps/coordinator/complete", data={"csrf": csrf})
        assert r.status_code == 401


def test_two_racing_uses_of_one_link_open_one_session(db_url: str, tmp_path: Path) -> None:
    """The link is used by a conditional UPDATE: of eight threads at once, exactly one wins."""
    rollout = dashkit.seed(tmp_path, None if db_url.startswith("sqlite") else db_url)
    services = rollout.services
    assert request_link(services, RC01, "198.51.100.7", dashkit.NOW)
    secret = webkit.link_in(webkit.letters_to(services, RC01)[-1]).partition("t=")[2]
    barrier = threading.Barrier(8)
    won: list[object] = []

    def use() -> None:
        barrier.wait()
        try:
            won.append(redeem_link(services, secret, dashkit.NOW))
        except Exception as exc:  # a serialization failure is a loss, not a second session
            won.append(exc)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sessions = [w for w in won if isinstance(w, tuple)]
    assert len(sessions) == 1, won
    services.db.dispose()


def test_the_cookie_is_secure_when_the_proxy_says_https(site: Site) -> None:
    """HttpOnly and SameSite=Lax always; Secure when the request came over HTTPS, as a trusted
    proxy reports it in X-Forwarded-Proto (uvicorn --proxy-headers, here from 127.0.0.1)."""
    base, rollout, _ = site
    for headers, secure in (({}, False), ({"X-Forwarded-Proto": "https"}, True)):
        with httpx.Client(base_url=base, headers=headers) as client:
            token = webkit.csrf_of(client.get("/signin").text)
            # the form's cookie is Secure too: this client on plain HTTP sends it by hand
            r = client.post("/signin", data={"token": rollout.tokens["pm@example.org"],
                                             "csrf": token},
                            headers={"Cookie": f"rollout_form={token}"})
            cookie = r.headers["set-cookie"].lower()
            assert r.status_code == 303 and "httponly" in cookie and "samesite=lax" in cookie
            assert ("; secure" in cookie) is secure, (headers, cookie)
            if secure:
                assert "max-age=31536000" in r.headers["strict-transport-security"]

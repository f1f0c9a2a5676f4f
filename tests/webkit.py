"""Signing in through the e-mail link in tests: the link is read from the outbox, as a person
reads it from their mail, and used through the pages."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from storage.outbox import outbox
from workflow.services import Services

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def letters_to(services: Services, email: str, kind: str = "signin") -> list[str]:
    """The text of the letters of `kind` queued for `email`, oldest first."""
    with services.db.read() as conn:
        rows = conn.execute(select(outbox.c.recipients, outbox.c.body_text)
                            .where(outbox.c.kind == kind).order_by(outbox.c.id)).all()
    return [r.body_text for r in rows if any(a == email for _, a in r.recipients["to"])]


def link_in(text: str) -> str:
    """The path and query of the sign-in link in a letter."""
    found = re.search(r"https?://\S+/signin/link\?t=\S+", text)
    assert found, text
    url = urlsplit(found.group(0))
    return f"{url.path}?{url.query}"


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def ask_link(client: httpx.Client, email: str) -> httpx.Response:
    token = csrf_of(client.get("/signin").text)
    return client.post("/signin", data={"email": email, "csrf": token, "next": "/"})


def use_link(client: httpx.Client, path: str) -> httpx.Response:
    page = client.get(path)
    secret = re.search(r'name="t" value="([^"]*)"', page.text)
    assert secret, page.text[:500]
    return client.post("/signin/link", data={"t": secret.group(1), "csrf": csrf_of(page.text)})


def sign_in(client: httpx.Client, services: Services, email: str) -> str:
    """Sign `client` in as `email` through the link; returns the session's CSRF token."""
    assert ask_link(client, email).status_code == 200
    r = use_link(client, link_in(letters_to(services, email)[-1]))
    assert r.status_code == 303, r.text[:500]
    return csrf_of(client.get("/").text)

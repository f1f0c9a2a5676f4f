"""Every letter a person gets (appointment notice, reminder, escalation, digest) links to a page
under web.base_url where the step is done (or the view it summarises), and that page opens for
the addressee once signed in."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, NamedTuple

import httpx
import pytest
from sqlalchemy import select

from notifications.deferred import render_stored
from storage.outbox import outbox
from tests import dashkit
from tests.builders import World
from web import create_app
from workflow.mail import digest, remind
from workflow.signin import open_session

RC = "rc@region07.ru"
BASE = "http://127.0.0.1:8080"  # web.base_url's default


class Letter(NamedTuple):
    kind: str
    recipients: dict[str, Any]
    body_text: str
    body_html: str


def letters(world: World) -> dict[str, list[Letter]]:
    """Each queued letter as its addressee will read it: reminders and escalations are stored
    as contexts and rendered at delivery, so they are rendered here the way the relay does."""
    with world.services.db.read() as conn:
        rows = conn.execute(select(outbox.c.kind, outbox.c.recipients, outbox.c.body_text,
                                   outbox.c.body_html, outbox.c.context)).all()
    out: dict[str, list[Letter]] = defaultdict(list)
    for r in rows:
        text, html = r.body_text, r.body_html
        if r.context is not None:
            rendered = render_stored(r.context, world.services.config.mail)
            text, html = rendered.text, rendered.html
        out[r.kind].append(Letter(r.kind, r.recipients, text, html))
    return out


def links(text: str) -> list[str]:
    """The paths of the web app a letter links to (materials elsewhere are left aside)."""
    return [m.rstrip(".,;)") for m in re.findall(re.escape(BASE) + r"(/[^\s\"<]*)", text)]


@pytest.fixture
def mailed(world: World) -> World:
    """Region 07 through step 3 (its municipal coordinators notified), an admin appointed to
    S1 (notified), then six weeks later a reminder pass (late: teachers and classes of S1, the
    admins of S2 and S2F, escalated upwards) and the weekly digest."""
    world.standard().through_step3()
    world.services.assign("school_admin", "S1", "adm@s1.ru", "Иванов Иван Иванович", RC,
                          world.now)
    later = world.tick(days=42)  # a Tuesday again, 10:00 in Moscow
    remind(world.services, later)
    digest(world.services, later)
    return world


def test_each_letter_kind_carries_a_link_that_opens_for_its_addressee(mailed: World) -> None:
    """Appointment notices, reminders, escalations and the digest each link into the app; every
    link, in the plain text and in the HTML, answers 200 to the addressee signed in."""
    by_kind = letters(mailed)
    assert {"appointed", "reminder", "escalation", "digest"} <= set(by_kind), sorted(by_kind)
    opened: dict[str, set[str]] = defaultdict(set)
    with dashkit.running(create_app(mailed.services, lambda: mailed.now)) as base, \
            httpx.Client(base_url=base) as client:
        for kind in ("appointed", "reminder", "escalation", "digest"):
            for row in by_kind[kind]:
                paths = links(row.body_text)
                assert paths, f"{kind} to {row.recipients}: no link\n{row.body_text}"
                assert set(links(row.body_html)) >= set(paths)
                email = row.recipients["to"][0][1]
                secret, _ = open_session(mailed.services, email, mailed.now)
                for path in paths:
                    r = client.get(path, headers={"Cookie": f"rollout_session={secret}"})
                    assert r.status_code == 200, f"{kind} to {email}: {path} → {r.status_code}"
                    opened[kind].add(path)
    assert "/schools/S1/steps/teachers" in opened["appointed"]
    assert "/schools/S1/steps/teachers" in opened["reminder"]
    assert any(p.startswith("/schools/") and "/steps/" in p for p in opened["escalation"])
    assert {"/", "/regions/07"} <= opened["digest"]

"""Reminders rendered at delivery: the pass stores what a letter says, the relay renders it.

A national pass queues ~37,000 letters with ~160,000 lines; rendering them all in the pass took
most of its time and stored ~230 MB of bodies. The pass now stores each letter's context (the
recipient and the lines, as plain data: ~1/10 of the bytes) in `outbox.context`, and the relay
renders it with the same templates just before it builds the message. The Message-ID and the
Date are fixed when the message is queued, as before, so a retry sends the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from notifications.letters import links
from notifications.render import Rendered, templates
from notifications.settings import MailSettings
from states import step_by_slug

DEFERRED = ("reminder", "escalation")  # the letters a pass renders at delivery
VERSION = 1


class Line(NamedTuple):
    """One line of a reminder as templates see it (attributes, like the dataclass it was)."""

    target: str
    step: str
    step_number: int
    step_title: str
    since: str
    days_open: int
    sla_days: int
    missing: tuple[str, ...]
    todo: str
    owner_text: str
    owner_names: str
    path: str
    due: str


def line(target: str, slug: str, since: str, days_open: int, sla_days: int,
         missing: tuple[str, ...], owner_names: str, path: str, due: str) -> Line:
    step = step_by_slug(slug)
    return Line(target, step.slug, step.number, step.title, since, days_open, sla_days,
                missing, step.todo, step.owner_text, owner_names, path, due)


def _row(x: Line) -> list[Any]:
    """A line as stored: what the step's slug does not already say."""
    return [x.target, x.step, x.since, x.days_open, x.sla_days, x.missing, x.owner_names,
            x.path, x.due]


def pack(person: Mapping[str, str], own: Sequence[Line], escalated: Sequence[Line],
         repeat_every_days: int) -> str:
    """The stored context of one letter: compact JSON, lists rather than objects, the
    step's title and instructions left to its slug, Cyrillic as UTF-8 (not \\u escapes)."""
    return json.dumps({"v": VERSION, "person": [person["name"], person["email"], person["role"]],
                       "own": [_row(x) for x in own], "escalated": [_row(x) for x in escalated],
                       "repeat_every_days": repeat_every_days},
                      ensure_ascii=False, separators=(",", ":"))


def load(text: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(text)
    return found


def unpack(stored: Mapping[str, Any], urls: Mapping[str, Any]) -> dict[str, Any]:
    """The template context the pass used to render with (`urls`: `letters.links(mail)`)."""
    name, email, role = stored["person"]

    def lines(rows: list[list[Any]]) -> list[Line]:
        return [line(t, slug, since, days, sla, tuple(missing), owners, path, due)
                for t, slug, since, days, sla, missing, owners, path, due in rows]

    return {"person": {"name": name, "email": email, "role": role},
            "own": lines(stored["own"]), "escalated": lines(stored["escalated"]),
            "repeat_every_days": stored["repeat_every_days"], "links": urls}


def template_of(stored: Mapping[str, Any]) -> str:
    return "reminder" if stored["own"] else "escalation"


def render_stored(text: str, mail: MailSettings) -> Rendered:
    """Render a stored context now, with the configured templates (one letter)."""
    stored = load(text)
    return templates(mail.templates_dir).render(template_of(stored), unpack(stored, links(mail)))


def subject_of(text: str, mail: MailSettings) -> str:
    """The subject a stored context will be sent with (for `outbox list` before it is)."""
    return render_stored(text, mail).subject


class Renderer:
    """Fills in the subject and bodies of rows stored as contexts (the relay's, per run:
    the template files are checked once, not per message)."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail
        self._urls = links(mail)
        self._render: Callable[..., Rendered] | None = None

    def __call__(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row with its subject and bodies (a copy; rows without a context as they are).

        Raises TemplateBroken or TemplateMissing when an override template fails."""
        text = row.get("context")
        if text is None:
            return dict(row)
        stored = load(text)
        if self._render is None:
            self._render = templates(self.mail.templates_dir).batch()
        rendered = self._render(template_of(stored), unpack(stored, self._urls))
        return {**row, "subject": rendered.subject, "body_text": rendered.text,
                "body_html": rendered.html}

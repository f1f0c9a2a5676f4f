"""The sign-in letter: a single-use link to the web pages, queued in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from notifications import outbox
from notifications.calendar import local
from notifications.render import templates
from notifications.settings import MailSettings

# How a person's local time is named in the letter (the zones of Russia's regions)
ZONE_NAMES = {
    "Europe/Kaliningrad": "калининградское время", "Europe/Moscow": "московское время",
    "Europe/Samara": "самарское время", "Asia/Yekaterinburg": "екатеринбургское время",
    "Asia/Omsk": "омское время", "Asia/Krasnoyarsk": "красноярское время",
    "Asia/Novosibirsk": "новосибирское время", "Asia/Irkutsk": "иркутское время",
    "Asia/Yakutsk": "якутское время", "Asia/Vladivostok": "владивостокское время",
    "Asia/Magadan": "магаданское время", "Asia/Kamchatka": "камчатское время",
}


def queue_signin_letter(conn: Connection, mail: MailSettings, now: datetime, *, email: str,
                        name: str, url: str, expires_at: datetime, timezone: str) -> str:
    """Queue the letter with the link; its expiry is shown in the person's local time."""
    expires = local(expires_at, timezone).strftime("%d.%m.%Y %H:%M")
    ctx = {"person": {"name": name, "email": email}, "url": url, "expires": expires,
           "timezone_name": ZONE_NAMES.get(timezone, f"время {timezone}")}
    rendered = templates(mail.templates_dir).render("signin", ctx)
    row = outbox.message_row(rendered, [(name, email)], sender=mail.sender, now=now)
    return outbox.enqueue(conn, [row])[0]

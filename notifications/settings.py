"""Typed, frozen settings of the mail side, built by the configuration loader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False  # require STARTTLS (with certificate checks)
    tls: bool = False  # implicit TLS (port 465)
    timeout_s: float = 30.0
    connections: int = 4  # SMTP sessions a relay keeps open in parallel
    username: str | None = None  # from ROLLOUT_SMTP_USERNAME only
    password: str | None = None  # from ROLLOUT_SMTP_PASSWORD only, never from the file


@dataclass(frozen=True)
class MailSettings:
    sender: str = "Внедрение ФГИС «Моя школа» <rollout@example.org>"
    transport: str = "file"  # file | smtp
    dir: Path = Path("mail")
    smtp: SmtpSettings = SmtpSettings()
    operator_email: str = "vv.savchenko@mgou.ru"
    support_email: str = "support@example.org"
    templates_dir: Path | None = None  # overrides of notifications/templates
    # Links in letters: the pages where a step is done (`/regions/CODE`, `/schools/CODE`) and
    # the operator's materials named in the instruction (templates of files and letters, and
    # the registration instructions for parents and students).
    base_url: str = "http://127.0.0.1:8080"
    templates_url: str = "https://myschool.guppros.ru/poleznye-materialy/shablony-faylov/"
    registration_url: str = ("https://myschool.guppros.ru/instrukcii-po-platforme/"
                             "obuchayuschimsya-i-zakonnym-predstavitelyam/")


@dataclass(frozen=True)
class ReminderSettings:
    window_start: time = time(9, 0)
    window_end: time = time(18, 0)
    repeat_every_days: int = 3

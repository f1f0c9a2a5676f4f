"""config.yaml: parsed once, in three stages (shape, typed frozen objects, semantic checks).

Every failure names the key path and how to fix it; the CLI exits 6.
"""

from __future__ import annotations

import builtins
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from notifications.addresses import BadAddress, normalize, split_named
from notifications.settings import MailSettings, ReminderSettings, SmtpSettings
from states import STEPS, GraphError, StepPolicy, check_graph, default_policies, graph_of
from workflow.errors import ConfigInvalid
from workflow.i18n import _

MAX_DAYS = 250  # business days: about a year; more is a typo, and overflows date arithmetic
DIALECTS = ("sqlite", "postgresql")

# The shape of the file: every key it may hold. None means "a value" (checked in stage 2).
SHAPE: dict[str, Any] = {
    "database": {"url": None, "synchronous": None},
    "operator": {"email": None},
    "support": {"email": None},
    "mail": {"sender": None, "transport": None, "dir": None, "templates": None,
             "smtp": {"host": None, "port": None, "starttls": None, "tls": None,
                      "timeout_s": None, "connections": None}},
    "reminders": {"window": None, "repeat_every_days": None},
    "web": {"base_url": None, "link_minutes": None, "session_hours": None,
            "links_per_address": None, "links_per_client": None},
    "steps": {s.slug: {"sla_days": None, "escalate_after_days": None, "threshold": None,
                       "region_share": None, "after": None} for s in STEPS},
}


@dataclass(frozen=True)
class WebSettings:
    """`web:` — sign-in links, sessions and the rate limits of link requests (per hour)."""

    link_minutes: int = 20  # a sign-in link works this long, once
    session_hours: int = 12  # a session ends this long after sign-in (or at sign-out)
    links_per_address: int = 5  # link requests per e-mail address per hour
    links_per_client: int = 20  # link requests per client (IP address) per hour


@dataclass(frozen=True)
class Config:
    """The whole configuration, typed."""

    base_dir: Path
    path: Path | None = None
    database_url: str = "sqlite:///rollout.db"
    synchronous: str = "NORMAL"
    mail: MailSettings = MailSettings()
    reminders: ReminderSettings = ReminderSettings()
    steps: Mapping[str, StepPolicy] = field(default_factory=default_policies)
    base_url: str = "http://127.0.0.1:8080"  # links in e-mails and sign-in links point here
    web: WebSettings = WebSettings()


def load(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
         ) -> Config:
    """Load `path` (or $ROLLOUT_CONFIG, or ./config.yaml if it exists), then the environment."""
    env = os.environ if env is None else env
    explicit = path or env.get("ROLLOUT_CONFIG")
    cfg_path = Path(explicit) if explicit else Path("config.yaml")
    raw: Any = {}
    if cfg_path.exists():
        try:
            raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigInvalid(_("{file}: not valid YAML: {error}", file=cfg_path,
                                  error=exc)) from None
        except RecursionError:
            raise ConfigInvalid(_("{file}: not valid YAML: nested too deeply",
                                  file=cfg_path)) from None
        except OSError as exc:  # a folder, or a file we may not read
            raise ConfigInvalid(_("{file}: cannot be read ({error})", file=cfg_path,
                                  error=exc.strerror)) from None
    elif explicit:
        raise ConfigInvalid(_("{file}: no such configuration file", file=cfg_path))
    base = cfg_path.resolve().parent if cfg_path.exists() else Path.cwd()
    return build(raw, base, cfg_path if cfg_path.exists() else None, env)


def build(raw: Any, base: Path, path: Path | None = None,
          env: Mapping[str, str] | None = None) -> Config:
    env = {} if env is None else env
    where = f"{path}: " if path else ""
    _check_shape(raw, SHAPE, "", where)
    r = _Reader(raw, where, base)
    url = r.database_url(env)
    smtp = SmtpSettings(
        host=r.host(env),
        port=_port(env["ROLLOUT_SMTP_PORT"], "ROLLOUT_SMTP_PORT", "")
        if env.get("ROLLOUT_SMTP_PORT") else r.port("mail.smtp.port", 25),
        starttls=r.bool("mail.smtp.starttls", False),
        tls=r.bool("mail.smtp.tls", False),
        timeout_s=r.number("mail.smtp.timeout_s", 30.0, low=0.1, high=3600.0),
        connections=r.int("mail.smtp.connections", 4, low=1, high=64),
        username=env.get("ROLLOUT_SMTP_USERNAME") or None,
        password=env.get("ROLLOUT_SMTP_PASSWORD") or None,
    )
    templates = r.folder("mail.templates")
    mail = MailSettings(
        sender=r.sender("mail.sender", MailSettings.sender),
        transport=r.choice("mail.transport", "file", ("file", "smtp")),
        dir=r.mail_dir("mail.dir", "mail"),
        smtp=smtp,
        operator_email=r.email("operator.email", MailSettings.operator_email),
        support_email=r.email("support.email", MailSettings.support_email),
        templates_dir=templates,
    )
    window = r.get("reminders.window", ["09:00", "18:00"])
    if not (isinstance(window, list) and len(window) == 2):
        raise ConfigInvalid(where + _("reminders.window: give two times, like {example}",
                                      example='["09:00", "18:00"]'))
    start, end = (_time(w, f"{where}reminders.window[{i}]") for i, w in enumerate(window))
    if start >= end:
        raise ConfigInvalid(where + _("reminders.window: the start {start} must be before the "
                                      "end {end}", start=window[0], end=window[1]))
    reminders = ReminderSettings(start, end, r.int("reminders.repeat_every_days", 3, low=1,
                                                                 high=MAX_DAYS))
    steps = {}
    for s in STEPS:
        d = s.policy
        key = f"steps.{s.slug}"
        sla = r.int(f"{key}.sla_days", d.sla_days, low=1, high=MAX_DAYS)
        esc = r.int(f"{key}.escalate_after_days", d.escalate_after_days, low=1, high=MAX_DAYS)
        if esc < sla:
            raise ConfigInvalid(where + _("{key}.escalate_after_days: {esc} is before sla_days "
                                          "{sla}; escalation comes after the reminder", key=key,
                                          esc=esc, sla=sla))
        steps[s.slug] = StepPolicy(
            sla, esc,
            threshold=r.number(f"{key}.threshold", d.threshold, low=0.0, high=1.0),
            region_share=r.number(f"{key}.region_share", d.region_share, low=0.0, high=1.0),
            after=r.slugs(f"{key}.after", d.after))
    try:
        check_graph(graph_of(steps))
    except GraphError as exc:
        raise ConfigInvalid(f"{where}{exc}") from None
    base_url = r.str("web.base_url", Config.base_url).rstrip("/")
    if not re.match(r"^https?://[^\s/]+", base_url):
        raise ConfigInvalid(where + _("web.base_url: {url} is not an http(s) address like "
                                      "https://rollout.example.ru", url=repr(base_url)))
    d_web = WebSettings()
    web = WebSettings(
        link_minutes=r.int("web.link_minutes", d_web.link_minutes, low=1, high=24 * 60),
        session_hours=r.int("web.session_hours", d_web.session_hours, low=1, high=24 * 30),
        links_per_address=r.int("web.links_per_address", d_web.links_per_address, low=1,
                                high=1000),
        links_per_client=r.int("web.links_per_client", d_web.links_per_client, low=1,
                               high=100000))
    return Config(base_dir=base, path=path, database_url=_database_url(url, base),
                  synchronous=r.choice("database.synchronous", "NORMAL", ("NORMAL", "FULL")),
                  mail=mail, reminders=reminders, steps=steps, base_url=base_url, web=web)


def _check_shape(raw: Any, shape: dict[str, Any], prefix: str, where: str) -> None:
    if not isinstance(raw, dict):
        name = prefix.rstrip(".") or _("the file")
        raise ConfigInvalid(where + _("{key}: expected a mapping of keys, got {type}", key=name,
                                      type=type(raw).__name__))
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if key == "password" and prefix.startswith("mail"):
            raise ConfigInvalid(where + _("{key}: a password is never read from the file; set "
                                          "ROLLOUT_SMTP_PASSWORD", key=path))
        if key not in shape:
            known = ", ".join(shape)
            raise ConfigInvalid(where + _("{key}: unknown key (known here: {known})", key=path,
                                          known=known))
        if isinstance(shape[key], dict) and value is not None:
            _check_shape(value, shape[key], f"{path}.", where)


class _Reader:
    """Typed access to the raw mapping by key path; every failure names the key.

    Its methods `str`, `int` and `bool` shadow the builtins inside the class body, so the
    annotations after them spell `builtins.str` and `builtins.int`.
    """

    def __init__(self, raw: dict[str, Any], where: str, base: Path) -> None:
        self.raw, self.where, self.base = raw, where, base

    def get(self, path: str, default: Any) -> Any:
        node: Any = self.raw
        for part in path.split("."):
            if not isinstance(node, dict) or node.get(part) is None:
                return default
            node = node[part]
        return node

    def fail(self, path: str, problem: str) -> ConfigInvalid:
        return ConfigInvalid(f"{self.where}{path}: {problem}")

    def str(self, path: str, default: str) -> str:
        v = self.get(path, default)
        if not isinstance(v, str) or not v.strip():
            raise self.fail(path, _("expected a non-empty string, got {value}", value=repr(v)))
        return v.strip()

    def opt_str(self, path: builtins.str) -> builtins.str | None:
        v = self.get(path, None)
        return None if v is None else self.str(path, "")

    def email(self, path: builtins.str, default: builtins.str) -> builtins.str:
        v = self.str(path, default)
        try:
            return normalize(v)  # the one rule, the same as at import and at sending
        except BadAddress as exc:
            raise self.fail(path, _("{value} is not an e-mail address: {detail}", value=repr(v),
                                    detail=exc.detail)) from None

    def sender(self, path: builtins.str, default: builtins.str) -> builtins.str:
        """`Name <address>` or a bare address; the address must pass the one rule."""
        v = self.str(path, default)
        _name, addr = split_named(v)
        try:
            normalize(addr)
        except BadAddress as exc:
            raise self.fail(path, _("{value} is not an e-mail address, nor a name and an "
                                    "address like \"{example}\" ({detail})", value=repr(v),
                                    example="Имя <rollout@example.org>",
                                    detail=exc.detail)) from None
        return v

    def host(self, env: Mapping[builtins.str, builtins.str]) -> builtins.str:
        name = "ROLLOUT_SMTP_HOST"
        v = env.get(name) or self.str("mail.smtp.host", "localhost")
        if not v.isprintable() or " " in v.strip():
            where, key = ("", name) if env.get(name) else (self.where, "mail.smtp.host")
            raise ConfigInvalid(where + _("{key}: {value} is not a host name", key=key,
                                          value=repr(v)))
        return v.strip()

    def database_url(self, env: Mapping[builtins.str, builtins.str]) -> builtins.str:
        """database.url or ROLLOUT_DATABASE_URL: a URL SQLAlchemy can open, checked now."""
        if env.get("ROLLOUT_DATABASE_URL"):
            where, key, v = "", "ROLLOUT_DATABASE_URL", env["ROLLOUT_DATABASE_URL"].strip()
        else:
            where, key = self.where, "database.url"
            v = self.str(key, "sqlite:///rollout.db")
        _check_database_url(v, self.base, f"{where}{key}")
        return v

    def folder(self, path: builtins.str) -> Path | None:
        """An optional folder that must exist (relative to the configuration file)."""
        v = self.opt_str(path)
        if v is None:
            return None
        p = _under(self.base, v)
        if not p.is_dir():
            raise self.fail(path, _("{path}: is not a folder", path=p) if p.exists() else
                            _("{path}: no such folder", path=p))
        return p

    def mail_dir(self, path: builtins.str, default: builtins.str) -> Path:
        """A folder for .eml files: it exists, or its nearest existing parent is a folder."""
        given = self.get(path, None) is not None
        p = _under(self.base, self.str(path, default))
        if p.exists() and not p.is_dir():
            raise self.fail(path, _("{path}: is a file, not a folder", path=p))
        parent = next((a for a in p.parents if a.exists()), None)
        if not p.exists() and (parent is None or not parent.is_dir()):
            raise self.fail(path, _("{path}: cannot be created ({parent} is not a folder)",
                                    path=p, parent=parent))
        if given and not os.access(p if p.exists() else parent or p, os.W_OK):
            raise self.fail(path, _("{path}: no permission to write there", path=p))
        return p

    def choice(self, path: builtins.str, default: builtins.str,
               options: tuple[builtins.str, ...]) -> builtins.str:
        v = self.get(path, default)
        if v not in options:
            raise self.fail(path, _("{value} is not one of {options}", value=repr(v),
                                    options=", ".join(options)))
        return str(v)

    def bool(self, path: builtins.str, default: bool) -> bool:
        v = self.get(path, default)
        if not isinstance(v, bool):
            raise self.fail(path, _("expected true or false, got {value}", value=repr(v)))
        return v

    def int(self, path: builtins.str, default: builtins.int, low: builtins.int = 0,
            high: builtins.int | None = None) -> builtins.int:
        v = self.get(path, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < low or (
                high is not None and v > high):
            raise self.fail(path, _("expected a whole number {bound}, got {value}",
                                    bound=_bound(low, high), value=repr(v)))
        return v

    def number(self, path: builtins.str, default: float, low: float = 0.0,
               high: float | None = None) -> float:
        v = self.get(path, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or (
                v < low or (high is not None and v > high)):
            raise self.fail(path, _("expected a number {bound}, got {value}",
                                    bound=_bound(low, high), value=repr(v)))
        return float(v)

    def slugs(self, path: builtins.str, default: tuple[builtins.str, ...]
              ) -> tuple[builtins.str, ...]:
        """A list of step slugs (`after`); an empty list is kept as empty, not as the default."""
        node: Any = self.raw
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        if node is None:
            return ()
        if isinstance(node, builtins.str):
            node = [node]
        if not isinstance(node, list) or not all(isinstance(v, builtins.str) for v in node):
            raise self.fail(path, _("expected a list of step slugs, got {value}",
                                    value=repr(node)))
        return tuple(dict.fromkeys(v.strip() for v in node))

    def port(self, path: builtins.str, default: builtins.int) -> builtins.int:
        return _port(self.get(path, default), path, self.where)


def _port(v: Any, path: str, where: str) -> int:
    try:
        port = int(v)
    except (TypeError, ValueError):
        port = -1
    if not 0 < port < 65536 or isinstance(v, bool) or (isinstance(v, float) and v != port):
        raise ConfigInvalid(where + _("{key}: expected a port number 1-65535, got {value}",
                                      key=path, value=repr(v)))
    return port


def _time(v: Any, name: str) -> time:
    if isinstance(v, int):  # YAML 1.1 reads an unquoted 09:00 as sexagesimal minutes
        return time(v // 60, v % 60) if 0 <= v < 24 * 60 else _bad_time(v, name)
    try:
        return time.fromisoformat(str(v))
    except ValueError:
        return _bad_time(v, name)


def _bad_time(v: Any, name: str) -> time:
    raise ConfigInvalid(_("{key}: {value} is not a time like \"09:00\"", key=name,
                          value=repr(v)))


def _bound(low: float, high: float | None) -> str:
    return _("between {low} and {high}", low=low, high=high) if high is not None else \
        _("≥ {low}", low=low)


def _under(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _check_database_url(url: str, base: Path, key: str) -> None:
    """Refuse now what create_engine would fail on later with a traceback (exit 1)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigInvalid(_("{key}: {url} is not a database URL (say sqlite:///rollout.db "
                              "or postgresql+psycopg://user@host/db)", key=key,
                              url=repr(url))) from None
    if parsed.get_backend_name() not in DIALECTS:
        raise ConfigInvalid(_("{key}: {name} is not a supported database (supported: "
                              "{supported})", key=key, name=repr(parsed.get_backend_name()),
                              supported=", ".join(DIALECTS)))
    try:
        parsed.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigInvalid(_("{key}: the driver of {name} is not installed ({error}); "
                              "PostgreSQL: postgresql+psycopg://user@host/db", key=key,
                              name=repr(parsed.drivername), error=exc)) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = _under(base, parsed.database).parent
        if not folder.is_dir():
            raise ConfigInvalid(_("{key}: the folder {folder} of the database file does not "
                                  "exist", key=key, folder=folder))


def _database_url(url: str, base: Path) -> str:
    """A relative SQLite path is relative to the configuration file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        rest = url[len(prefix):]
        if rest and rest != ":memory:":
            return prefix + str(base / rest)
    return url

"""Rendering: the Jinja2 environment (autoescape on), the URL schemes of `serve` and of the
static snapshot, and one function per page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha1
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifications.links import step_url
from notifications.russian import plural
from states import STEPS
from web import cartogram
from web.access import Viewer
from web.language import NAMES, other_language, switch_url
from workflow.i18n import N_, catalogue, event_name, language
from workflow.zones import zone_name

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
STEP_TITLES = {s.slug: f"{s.number}. {s.title}" for s in STEPS}
KINDS = {"region": N_("region"), "school": N_("school"), "municipality": N_("municipality")}
STATUSES = {"done": N_("done"), "skipped": N_("skipped"), "current": N_("open"),
            "pending": N_("waiting")}


class Urls:
    """Links of the served web pages."""

    static = False
    css = "/static/style.css"
    home = "/"
    history = "/history"

    def region(self, code: str) -> str | None:
        return f"/regions/{quote(code, safe='')}"

    def municipality(self, code: str) -> str | None:
        return f"/municipalities/{quote(code, safe='')}"

    def school(self, code: str) -> str | None:
        return f"/schools/{quote(code, safe='')}"

    def page(self, base: str | None, number: int) -> str | None:
        return f"{base}?{urlencode({'page': number})}" if base else None

    def history_of(self, kind: str, code: str) -> str | None:
        return f"/history?{urlencode({'kind': kind, 'code': code})}"

    def export(self, fmt: str, query: str = "") -> str | None:
        """The country table as `fmt` (csv or xlsx), with the filters of `query` (`?…`)."""
        return f"/export/regions.{fmt}{query}"

    def export_schools(self, kind: str, code: str, fmt: str) -> str | None:
        """The schools holding a region's (municipality's) step back, as `fmt`."""
        base = self.region(code) if kind == "region" else self.municipality(code)
        return f"/export{base}/schools.{fmt}"

    def late_page(self, base: str | None, number: int) -> str | None:
        return f"{base}?{urlencode({'late': number})}#late" if base else None

    def trends(self, region: str | None = None) -> str | None:
        return f"/regions/{quote(region, safe='')}/trends" if region else "/trends"

    def step(self, kind: str, code: str, slug: str) -> str | None:
        """The page where a step of a region or a school is done (served pages only)."""
        return step_url("", kind, code, slug)


def file_name(prefix: str, code: str) -> str:
    """A safe file name for a code; codes with other characters get a short hash."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", code)
    if safe != code:
        safe += "-" + sha1(code.encode()).hexdigest()[:8]
    return f"{prefix}-{safe}.html"


@dataclass
class StaticUrls(Urls):
    """Links of the static snapshot: flat files beside index.html; no history, no paging."""

    schools: set[str] = field(default_factory=set)  # school pages that were written
    munis: set[str] = field(default_factory=set)
    static = True
    css = "style.css"
    home = "index.html"
    history = ""

    def region(self, code: str) -> str | None:
        return file_name("region", code)

    def municipality(self, code: str) -> str | None:
        return file_name("municipality", code) if code in self.munis else None

    def school(self, code: str) -> str | None:
        return file_name("school", code) if code in self.schools else None

    def page(self, base: str | None, number: int) -> str | None:
        return None

    def history_of(self, kind: str, code: str) -> str | None:
        return None

    def export(self, fmt: str, query: str = "") -> str | None:
        return f"regions.{fmt}"  # written beside index.html, unfiltered

    def export_schools(self, kind: str, code: str, fmt: str) -> str | None:
        return None

    def late_page(self, base: str | None, number: int) -> str | None:
        return None

    def trends(self, region: str | None = None) -> str | None:
        return file_name("trends", region) if region else "trends.html"

    def step(self, kind: str, code: str, slug: str) -> str | None:
        return None


def _when(value: Any, tz: str = "Europe/Moscow", with_time: bool = True) -> str:
    """An ISO string or datetime shown in local time, the Russian way (31.12.2026 09:00)."""
    if not value:
        return "—"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    at = at.astimezone(ZoneInfo(tz))
    return at.strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")


def _step_title(slug: str | None) -> str:
    if slug == "done":
        return gettext(N_("every step done"))
    return STEP_TITLES.get(slug or "", slug or "")


def gettext(message: str) -> str:
    """`message` in the language of the page being rendered."""
    return catalogue(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalogue(language()).ngettext(singular, plural, n)


def _word(table: dict[str, str]) -> Any:
    """A template's lookup of a slug's word (`KIND_WORDS[kind]`), in the page's language."""
    class Words:
        def get(self, key: str, default: str = "") -> str:
            return gettext(table[key]) if key in table else default

        def __getitem__(self, key: str) -> str:
            return gettext(table[key])
    return Words()


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = False  # the Babel extractor reads them untrimmed too
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = _when
    env.filters["upfirst"] = lambda text: str(text)[:1].upper() + str(text)[1:]
    env.filters["pct"] = lambda done, total: round(100 * done / total) if total else 0
    env.filters["event_name"] = lambda name: event_name(name) if name else ""
    env.filters["plural"] = plural
    env.filters["tel"] = lambda phone: re.sub(r"[^0-9+]", "", phone or "")
    env.filters["zone"] = lambda tz, at=None: zone_name(tz, at)
    env.filters["step_name"] = _step_title
    env.globals.update(STEPS=STEPS, STATUS_WORDS=_word(STATUSES), KIND_WORDS=_word(KINDS),
                       cartogram=cartogram.svg, switch_url=switch_url,
                       other_language=other_language, LANGUAGE_NAMES=NAMES)
    return env


ENV = _environment()


def render(template: str, viewer: Viewer | None, urls: Urls, now: datetime, /,
           **ctx: Any) -> str:
    """Render one page; every page gets the viewer, the links and the moment it shows."""
    return ENV.get_template(template).render(viewer=viewer, urls=urls, now=now,
                                             lang=language(), **ctx)


def stylesheet() -> str:
    return (STATIC / "style.css").read_text(encoding="utf-8")

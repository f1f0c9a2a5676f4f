"""Templates: Jinja2 in Russian, StrictUndefined, plain text and HTML, overrides sandboxed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment

from notifications import russian
from notifications.errors import TemplateMissing

PACKAGED = Path(__file__).with_name("templates")
LETTERS = ("coordinator", "registry", "appointed", "reminder", "escalation", "digest")


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime: str  # "text/csv"
    text: str


@dataclass(frozen=True)
class Rendered:
    """A letter as rendered: its subject and both bodies, attachments aside."""

    name: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = field(default=())


def _env(cls: type[Environment], loader: Any) -> Environment:
    # auto_reload is off: `Templates.refresh` checks the files once per letter or per batch,
    # not at every `get_template` (each include of each message of a pass used to stat a file)
    env = cls(loader=loader, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
              keep_trailing_newline=True, auto_reload=False,
              autoescape=select_autoescape(enabled_extensions=("html", "html.j2"),
                                           default_for_string=False))
    env.filters["ru_date"] = russian.ru_date
    env.filters["ru_datetime"] = _ru_datetime
    env.filters.update(russian.FILTERS)  # declension, greetings, plurals, quotes
    return env


def _ru_datetime(value: Any) -> str:
    return value.strftime("%d.%m.%Y %H:%M") if hasattr(value, "strftime") else str(value)


class Templates:
    """Finds a letter's templates in the override directory first, then in the package.

    Our own templates are trusted and render in a plain environment (fast: a reminder pass
    renders tens of thousands); any template in the override directory is user-editable, so
    a letter that uses one renders entirely in a SandboxedEnvironment.
    """

    def __init__(self, override_dir: Path | None = None) -> None:
        self.override_dir = override_dir
        self._plain = _env(Environment, FileSystemLoader(str(PACKAGED)))
        self._sandboxed: Environment | None = None
        if override_dir is not None:
            loader = ChoiceLoader([FileSystemLoader(str(override_dir)),
                                   FileSystemLoader(str(PACKAGED))])
            self._sandboxed = _env(SandboxedEnvironment, loader)

    def refresh(self) -> None:
        """Forget compiled templates whose file changed since it was compiled."""
        for env in (self._plain, self._sandboxed):
            cache = env.cache if env is not None else None
            if cache and not all(t.is_up_to_date for t in cache.values()):
                cache.clear()

    def _environment(self, name: str) -> Environment:
        if self._sandboxed is not None and self.override_dir is not None and any(
                (self.override_dir / f).exists() for f in self._files(name)):
            return self._sandboxed
        return self._plain

    @staticmethod
    def _files(name: str) -> tuple[str, ...]:
        return (f"{name}.txt.j2", f"{name}.html.j2", "_layout.html.j2", "_macros.j2")

    def render(self, name: str, context: dict[str, Any],
               attachments: tuple[Attachment, ...] = ()) -> Rendered:
        """Render `name`.txt.j2 (which sets `subject`) and `name`.html.j2 with `context`."""
        self.refresh()
        return self._compiled(name)(context, attachments)

    def batch(self) -> Callable[..., Rendered]:
        """`render` for many letters at once: files checked and templates resolved once.

        For a reminder pass: tens of thousands of letters from the same few templates.
        """
        self.refresh()
        found: dict[str, Callable[..., Rendered]] = {}

        def render(name: str, context: dict[str, Any],
                   attachments: tuple[Attachment, ...] = ()) -> Rendered:
            if name not in found:
                found[name] = self._compiled(name)
            return found[name](context, attachments)

        return render

    def _compiled(self, name: str) -> Callable[..., Rendered]:
        env = self._environment(name)
        try:
            text_t = env.get_template(f"{name}.txt.j2")
            html_t = env.get_template(f"{name}.html.j2")
        except TemplateNotFound as exc:
            raise TemplateMissing(name, str(exc)) from None

        def render(context: dict[str, Any], attachments: tuple[Attachment, ...] = ()
                   ) -> Rendered:
            module = text_t.make_module(context)
            subject = " ".join(str(getattr(module, "subject", "")).split())
            if not subject:
                raise TemplateMissing(name, f"{name}.txt.j2 sets no subject")
            html = html_t.render(context, subject=subject)
            return Rendered(name, subject, str(module), html, attachments)

        return render


@lru_cache(maxsize=8)
def templates(override_dir: Path | None = None) -> Templates:
    """One Templates per override directory (compiled templates are cached inside)."""
    return Templates(override_dir)

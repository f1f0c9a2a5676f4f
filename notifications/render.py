"""Templates: Jinja2 in Russian, StrictUndefined, plain text and HTML, overrides sandboxed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from notifications import russian
from notifications.errors import TemplateBroken, TemplateMissing
from storage.text import Phrase

PACKAGED = Path(__file__).with_name("templates")
LETTERS = ("coordinator", "registry", "appointed", "reminder", "escalation", "digest")


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime: str  # "text/csv"
    text: str = ""
    data: bytes | None = None  # a binary file (the registry request's XLSX) instead of text


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


class OverrideLoader(FileSystemLoader):
    """The override folder: its files only, never through a symbolic link.

    A link could make a letter carry any file the service may read (`{% include %}` of a
    link to a key file); editing templates must not give that power.
    """

    def get_source(self, environment: Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        for base in self.searchpath:
            path = Path(base)
            for part in split_template_path(template):
                path = path / part
                if path.is_symlink():
                    raise TemplateBroken(str(path), None, Phrase(
                        "a symbolic link; links in the templates folder (mail.templates) are "
                        "not used"))
        return super().get_source(environment, template)


def _broken(exc: BaseException) -> TemplateBroken:
    """An override template's error as TemplateBroken naming its file and line."""
    if isinstance(exc, TemplateSyntaxError):
        return TemplateBroken(exc.filename or exc.name or "?", exc.lineno, exc.message or "")
    file, line, tb = "?", None, exc.__traceback__
    while tb is not None:  # Jinja rewrote the frames: the last .j2 one is the template's line
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            file, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
        tb = tb.tb_next
    return TemplateBroken(file, line, f"{type(exc).__name__}: {exc}")


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
            loader: BaseLoader = ChoiceLoader([OverrideLoader(str(override_dir)),
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
                (self.override_dir / f).exists() or (self.override_dir / f).is_symlink()
                for f in self._files(name)):
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
        trusted = env is self._plain  # our own templates: an error there is a bug, not input
        try:
            text_t = env.get_template(f"{name}.txt.j2")
            html_t = env.get_template(f"{name}.html.j2")
        except TemplateNotFound as exc:
            raise TemplateMissing(name, str(exc)) from None
        except TemplateSyntaxError as exc:
            if trusted:
                raise
            raise _broken(exc) from None

        def render(context: dict[str, Any], attachments: tuple[Attachment, ...] = ()
                   ) -> Rendered:
            try:
                module = text_t.make_module(context)
                subject = " ".join(str(getattr(module, "subject", "")).split())
                html = html_t.render(context, subject=subject) if subject else ""
                text = str(module)
            except (TemplateBroken, TemplateMissing):
                raise
            except Exception as exc:
                if trusted:
                    raise
                raise _rewritten(env, exc) from None
            if not subject:
                file = name + ".txt.j2"
                raise TemplateMissing(name, Phrase("{file} sets no subject", file=file))
            return Rendered(name, subject, text, html, attachments)

        return render


def _rewritten(env: Environment, exc: Exception) -> TemplateBroken:
    """Let Jinja map the traceback to template lines (make_module does not), then name them."""
    try:
        env.handle_exception()
    except Exception as rewritten:  # noqa: BLE001 - it re-raises `exc` with template frames
        return _broken(rewritten)
    return _broken(exc)


@lru_cache(maxsize=8)
def templates(override_dir: Path | None = None) -> Templates:
    """One Templates per override directory (compiled templates are cached inside)."""
    return Templates(override_dir)

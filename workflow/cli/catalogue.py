"""Keeping the Russian catalogue: extract the message ids, merge them into the .po, compile .mo.

The ids come from the workflow package and the web (its modules and its Jinja2 templates, with
Jinja2's Babel extractor), so the command line, the letters and the pages share one catalogue.

Run `python -m workflow.cli.catalogue` after changing a message (then translate what it lists as
missing); the tests fail while a message id lacks its translation or the .mo lags the .po.
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from workflow.i18n import DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]  # the workflow package
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PHRASES = {"Phrase": None, "Plural": (1, 2)}  # storage.text, in the layers below workflow
BELOW = ("storage", "notifications")
WEB = ROOT.parent / "web"
# The templates' `_()`, `gettext`, `ngettext` and {% trans %}, read as web.pages renders them.
TEMPLATES = [("templates/**.html", "jinja2.ext:babel_extract")]
TEMPLATE_OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                          "lstrip_blocks": "true", "newstyle_gettext": "true"}}
PO = LOCALE_DIR / "ru" / "LC_MESSAGES" / f"{DOMAIN}.po"
MO = PO.with_suffix(".mo")
MADE = datetime(2026, 12, 1, tzinfo=UTC)  # fixed, so that an unchanged catalogue stays unchanged


def code_messages() -> Iterator[str | tuple[str, str]]:
    """Every message id the workflow and web packages pass to `_`, `N_` or `ngettext`, every
    one of the web's templates, and every `Phrase`/`Plural` of the layers below (storage/,
    notifications/), which import no catalogue."""
    sources: list[tuple[Path, list[tuple[str, str]], Any, Any]] = [
        (ROOT, [("**.py", "python")], KEYWORDS, None),
        (WEB, [("**.py", "python")], KEYWORDS, None),
        (WEB, TEMPLATES, {"_": None, "gettext": None, "ngettext": (1, 2)}, TEMPLATE_OPTIONS),
        *((ROOT.parent / p, [("**.py", "python")], PHRASES, None) for p in BELOW)]
    for folder, method_map, keywords, options in sources:
        for _file, _line, message, _comments, _context in extract_from_dir(
                folder, method_map, options_map=options, keywords=keywords):
            if message:
                yield message if isinstance(message, str) else (message[0], message[1])


def help_messages() -> Iterator[str]:
    """Every help text of the command line: the commands' docstrings and the options' help."""
    from workflow.cli import COMMANDS, cli

    group = click.Group()
    for module in sorted(set(COMMANDS.values())):
        importlib.import_module(f"workflow.cli.{module}").register(group)
    yield from _helps(cli)
    for command in group.commands.values():
        yield from _helps(command)


def _helps(command: click.Command) -> Iterator[str]:
    for item in [command, *command.params]:
        text = item.__dict__.get("_help_id", getattr(item, "help", None))
        if text:
            yield text
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _helps(sub)


def wanted() -> list[str | tuple[str, str]]:
    seen: dict[str | tuple[str, str], None] = {}
    for message in [*code_messages(), *help_messages()]:
        seen.setdefault(message, None)
    return list(seen)


def read_catalogue(path: Path = PO) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale="ru", domain=DOMAIN)


def compiled(catalogue: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    return buffer.getvalue()


def update() -> list[str]:
    """Rewrite the .po with every wanted id (translations kept, unused ids dropped) and the
    .mo from it; returns the ids still without a Russian text."""
    old = read_catalogue() if PO.exists() else Catalog(locale="ru", domain=DOMAIN)
    new = Catalog(locale="ru", domain=DOMAIN, project="rollout", version="0.2", fuzzy=False,
                  copyright_holder="the rollout project", msgid_bugs_address="",
                  creation_date=MADE, revision_date=MADE,
                  last_translator="the rollout project", language_team="Russian")
    missing = []
    for message in wanted():
        key = message if isinstance(message, str) else message[0]
        previous = old.get(key)
        string: Any = previous.string if previous is not None else ("" if isinstance(
            message, str) else ("", "", ""))
        new.add(message, string)
        if not (string if isinstance(string, str) else all(string or ())):
            missing.append(key)
    buffer = io.BytesIO()
    write_po(buffer, new, width=100, omit_header=False, no_location=True)
    PO.parent.mkdir(parents=True, exist_ok=True)
    PO.write_bytes(buffer.getvalue())
    MO.write_bytes(compiled(read_catalogue()))
    return missing


if __name__ == "__main__":
    left = update()
    for key in left:
        print(f"untranslated: {key}", file=sys.stderr)
    sys.exit(1 if left else 0)

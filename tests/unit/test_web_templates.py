"""The web templates say nothing of their own outside the catalogue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

from web.pages import TEMPLATES

CYRILLIC = re.compile("[а-яА-ЯёЁ]")
GETTEXT_MESSAGES = {"_": ("message",), "gettext": ("message",),
                    "ngettext": ("singular", "plural")}
GETTEXT = set(GETTEXT_MESSAGES)


def strings_outside_gettext(node: nodes.Node) -> Iterator[str]:
    """The template's text and string literals, but for the messages given to `_()` and
    `ngettext()` (their keyword values are looked at; comments are gone once parsed)."""
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) \
            and node.node.name in GETTEXT:
        for value in (*node.args[len(GETTEXT_MESSAGES[node.node.name]):], *node.kwargs):
            yield from strings_outside_gettext(value)
        return
    if isinstance(node, nodes.TemplateData):
        yield node.data
    elif isinstance(node, nodes.Const) and isinstance(node.value, str):
        yield node.value
    for child in node.iter_child_nodes():
        yield from strings_outside_gettext(child)


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_a_template_holds_no_cyrillic_outside_the_catalogue(path: Path) -> None:
    """Every Russian word a page shows comes from the catalogue, so English readers get English."""
    tree = Environment(extensions=["jinja2.ext.i18n"]).parse(path.read_text(encoding="utf-8"))
    russian = [s.strip() for s in strings_outside_gettext(tree) if CYRILLIC.search(s)]
    assert russian == []


def test_the_check_sees_russian_text_and_literals() -> None:
    """The walk finds text and literals outside the calls, and only those."""
    tree = Environment(extensions=["jinja2.ext.i18n"]).parse(
        '{# Комментарий #}<p>Текст</p>{{ "литерал" if x }}{{ _("Text %(n)s", n="вне") }}'
        '{{ ngettext("a", "b", n) }}')
    found = [s for s in strings_outside_gettext(tree) if CYRILLIC.search(s)]
    assert found == ["<p>Текст</p>", "литерал", "вне"]

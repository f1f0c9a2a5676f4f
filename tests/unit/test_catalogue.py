"""The Russian catalogue: every message has both languages, the .mo is the .po compiled."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from states import ROLE_TITLES
from workflow.cli import catalogue
from workflow.i18n import EVENT_NAMES, error_text, event_name, role_title, translate
from workflow.zones import CITIES, zone_name

ROOT = Path(__file__).resolve().parents[2]


PERCENT = re.compile(r"%\((\w+)\)[sd]")


def _fields(text: str) -> set[str]:
    """The {fields} of a Python message and the %(fields)s of a template's."""
    if PERCENT.search(text):
        return {f"%{f}" for f in PERCENT.findall(text)}
    return {f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None}


def test_every_message_id_has_a_russian_text() -> None:
    """No message in the catalogue is left untranslated, fuzzy, or missing a plural form."""
    missing = [m.id for m in catalogue.read_catalogue() if m.id and (
        m.fuzzy or not (m.string if isinstance(m.string, str) else all(m.string)))]
    assert missing == []


def test_every_message_the_code_shows_is_in_the_catalogue() -> None:
    """What the code passes to `_`/`ngettext` and every command's help is in the .po, and the
    .po holds nothing else (run `python -m workflow.cli.catalogue` after changing a message)."""
    in_po = {m.id if isinstance(m.id, str) else tuple(m.id)
             for m in catalogue.read_catalogue() if m.id}
    wanted = set(catalogue.wanted())
    assert sorted(map(str, wanted - in_po)) == []
    assert sorted(map(str, in_po - wanted)) == []


def test_translations_keep_the_placeholders() -> None:
    """A Russian text fills the same {fields} (%(fields)s in templates) as its English id: none
    lost, none invented."""
    wrong = []
    for m in catalogue.read_catalogue():
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        texts = [m.string] if isinstance(m.string, str) else list(m.string)
        fields = set().union(*map(_fields, ids))
        wrong += [(ids[0], t) for t in texts if _fields(t) != fields]
    assert wrong == []


def test_the_pages_messages_are_in_the_catalogue() -> None:
    """The web's modules and templates are extracted too (one catalogue for all)."""
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue.read_catalogue()}
    assert {"Get a sign-in link", "Form out of date", "What to do now",
            "for %(num)d school", "Data as of %(at)s (Moscow time unless stated otherwise)."} <= ids


def test_the_compiled_catalogue_is_the_source_compiled() -> None:
    """The committed .mo is what Babel compiles from the .po today."""
    assert catalogue.MO.read_bytes() == catalogue.compiled(catalogue.read_catalogue())


def test_every_recorded_event_has_a_name_for_people() -> None:
    """Each event the engine writes (event="...") has a Russian name in `audit log`."""
    recorded = set()
    for package in ("workflow", "storage", "notifications"):
        for path in (ROOT / package).rglob("*.py"):
            recorded |= set(re.findall(r'\bevent="([A-Z]\w+)"', path.read_text("utf-8")))
    recorded |= {"StepCompleted", "StepSkipped", "StepReopened"}  # named by the engine's table
    assert recorded - set(EVENT_NAMES) == set()


@pytest.mark.parametrize(("event", "ru", "en"), [
    ("StepCompleted", "Шаг выполнен", "Step completed"),
    ("StepRefused", "Отказ", "Refused"),
    ("ActionDenied", "Нет прав", "Not permitted"),
    ("SomethingNew", "SomethingNew", "SomethingNew"),
])
def test_event_names(event: str, ru: str, en: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Russian by default, English on request, an unknown event keeps its machine name."""
    monkeypatch.delenv("ROLLOUT_LANG")
    assert event_name(event) == ru
    monkeypatch.setenv("ROLLOUT_LANG", "en")
    assert event_name(event) == en


@pytest.mark.parametrize(("zone", "ru", "en"), [
    ("Europe/Kaliningrad", "МСК−1, Калининград", "MSK−1, Kaliningrad"),
    ("Europe/Moscow", "МСК, Москва", "MSK, Moscow"),
    ("Europe/Samara", "МСК+1, Самара", "MSK+1, Samara"),
    ("Asia/Yekaterinburg", "МСК+2, Екатеринбург", "MSK+2, Yekaterinburg"),
    ("Asia/Krasnoyarsk", "МСК+4, Красноярск", "MSK+4, Krasnoyarsk"),
    ("Asia/Vladivostok", "МСК+7, Владивосток", "MSK+7, Vladivostok"),
    ("Asia/Kamchatka", "МСК+9, Петропавловск-Камчатский", "MSK+9, Petropavlovsk-Kamchatsky"),
    ("Asia/Almaty", "Asia/Almaty", "Asia/Almaty"),
])
def test_zones_are_named_as_people_name_them(zone: str, ru: str, en: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """From Kaliningrad (МСК−1) to Kamchatka (МСК+9); a zone outside Russia keeps its name."""
    monkeypatch.delenv("ROLLOUT_LANG")
    assert zone_name(zone) == ru
    monkeypatch.setenv("ROLLOUT_LANG", "en")
    assert zone_name(zone) == en


def test_every_russian_zone_is_between_kaliningrad_and_kamchatka() -> None:
    """The table's offsets, computed from the zone data, run from МСК−1 to МСК+9."""
    offsets = {re.match(r"MSK([+−]\d+)?", zone_name(z)).group(1) or "0"  # type: ignore[union-attr]
               for z in CITIES}
    assert offsets == {"−1", "0", "+1", "+2", "+3", "+4", "+5", "+6", "+7", "+8", "+9"}


# What the command line prints or refuses with: a Russian literal given straight to one of these
# would read Russian under ROLLOUT_LANG=en too (it must be an English message id instead).
SAYS = {"echo", "UsageError", "InvalidInput", "PermissionDenied", "CellError", "_BadLine",
        "problem", "add", "append", "ValueError", "Phrase", "Plural", "StateMismatch",
        "ChainBroken", "Reason"}
SPEAKING = ["workflow/cli", "workflow/importing", "workflow/reconcile", "workflow/people.py",
            "workflow/audit.py", "workflow/mail.py", "workflow/clock.py", "workflow/services.py",
            "storage", "notifications/reminders.py", "notifications/relay.py"]
CYRILLIC = re.compile("[а-яА-ЯёЁ]")


def _literals(node: ast.AST) -> Iterator[ast.AST]:
    """String literals in an argument, not looking into calls (a `_()` inside is translated)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.JoinedStr | ast.BinOp | ast.IfExp | ast.BoolOp):
        for child in ast.iter_child_nodes(node):
            yield from _literals(child)
    elif isinstance(node, ast.FormattedValue):
        yield from _literals(node.value)


def _russian_said(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in SAYS:
            continue
        args = node.args if name != "Reason" else node.args[1:2]  # a Reason carries both
        for arg in [*args, *(k.value for k in node.keywords if name != "Reason")]:
            for lit in _literals(arg):
                text = lit.value if isinstance(lit, ast.Constant) else ""
                if CYRILLIC.search(str(text)):
                    yield f"{path.relative_to(ROOT)}:{lit.lineno}: {str(text)[:60]}"


def test_no_russian_text_is_said_past_the_catalogue() -> None:
    """Messages are English ids translated by the catalogue: a Russian literal printed or raised
    directly would stay Russian under ROLLOUT_LANG=en (every message has both languages)."""
    found = []
    for place in SPEAKING:
        target = ROOT / place
        for path in ([target] if target.is_file() else sorted(target.rglob("*.py"))):
            found += list(_russian_said(path))
    assert found == []


def test_role_titles_are_the_registers_titles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Russian role titles of the command line are states.ROLE_TITLES (the web's and the
    letters'); English has its own."""
    monkeypatch.delenv("ROLLOUT_LANG")
    assert {r.value: role_title(r.value) for r in ROLE_TITLES} == {
        r.value: t for r, t in ROLE_TITLES.items()}
    monkeypatch.setenv("ROLLOUT_LANG", "en")
    assert role_title("regional_coordinator") == "regional coordinator"
    assert role_title("someone") == "someone"


def test_a_phrase_from_below_is_read_in_the_readers_language(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """storage/ builds a Phrase (no catalogue there); the command line reads it in Russian by
    default, nested phrases and plural forms included, and str() stays English."""
    from storage.errors import StateMismatch
    from storage.text import Phrase, Plural

    error = StateMismatch(3, Phrase("{who}: in the registry, but no machine in the database",
                                    who=Phrase("school {code}", code="S1")), "machine", 2)
    monkeypatch.delenv("ROLLOUT_LANG")
    assert error_text(error) == ("данные в базе не совпадают с историей: школа S1: в реестре "
                                 "есть, а машины в базе нет (всего расхождений: 2)")
    assert [translate(Plural("{n} reminder", "{n} reminders", n)) for n in (1, 3, 5, 21)] == [
        "1 напоминание", "3 напоминания", "5 напоминаний", "21 напоминание"]
    monkeypatch.setenv("ROLLOUT_LANG", "en")
    assert error_text(error) == str(error) == (
        "the data in the database do not match the history: school S1: in the registry, but "
        "no machine in the database (2 differences in all)")


def test_run_logs_in_the_readers_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run`'s log lines: the relay logs a Phrase, the formatter shows it in Russian by
    default; a plain line with %-arguments is left as it is."""
    import logging

    from storage.text import Phrase
    from workflow.cli.mail import Translating

    monkeypatch.delenv("ROLLOUT_LANG")
    fmt = Translating("%(levelname)s %(message)s")
    what = Phrase("#{id} {kind} to {to}", id=7, kind="reminder", to="rc@kbr.ru")
    sent = logging.LogRecord("rollout.mail", logging.INFO, __file__, 1,
                             Phrase("sent {what}", what=what), None, None)
    assert fmt.format(sent) == "INFO отправлено письмо №7 (reminder) для rc@kbr.ru"
    plain = logging.LogRecord("rollout.mail", logging.INFO, __file__, 1, "queued for %d %s",
                              (3, what), None)
    assert fmt.format(plain) == "INFO queued for 3 письмо №7 (reminder) для rc@kbr.ru"

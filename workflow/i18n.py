"""What people read, in their language: gettext catalogues made with Babel; Russian by default."""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

from storage.text import Phrase, Plural

DOMAIN = "rollout"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("ru", "en")
# The language of the page being answered (the web sets it per request from its cookie); unset,
# the process's language (ROLLOUT_LANG) holds.
_SPEAKING: ContextVar[str | None] = ContextVar("rollout_language", default=None)

def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; translated where it is shown."""
    return message


# The event names of the history as people read them (`audit log`); `--json` keeps the
# machine names. The English side is the name itself; the Russian one comes from the catalogue.
EVENT_NAMES = {
    "StepCompleted": N_("Step completed"),
    "StepSkipped": N_("Step skipped"),
    "StepReopened": N_("Step reopened"),
    "StepRefused": N_("Refused"),
    "ActionDenied": N_("Not permitted"),
    "StepsMigrated": N_("Moved to a new step definition"),
    "PersonAssigned": N_("Person appointed"),
    "PersonUnassigned": N_("Appointment withdrawn"),
    "Imported": N_("Imported"),
    "LetterQueued": N_("Letter queued"),
    "RemindersQueued": N_("Reminders queued"),
    "RegistryReconciled": N_("Registry reconciled"),
    "RegistryRequestEntered": N_("Registry request entered"),
    "RegistryDiscrepanciesAccepted": N_("Registry discrepancies accepted"),
}

# The roles as people name them (states.ROLE_TITLES holds the Russian ones, the catalogue's
# translations; a test keeps the two the same).
ROLE_NAMES = {
    "support": N_("support"),
    "program_manager": N_("rollout programme manager"),
    "auditor": N_("auditor"),
    "regional_coordinator": N_("regional coordinator"),
    "municipal_coordinator": N_("municipal coordinator"),
    "school_admin": N_("school administrator"),
}


def language() -> str:
    """The language of the request being answered (see `speaking`), else `ru` unless
    ROLLOUT_LANG asks for English; LANG is not read on purpose: servers and CI run with
    LANG=C.UTF-8 or en_US.UTF-8 whatever language their users read."""
    chosen = _SPEAKING.get()
    if chosen is not None:
        return chosen
    return process_language()


def process_language() -> str:
    """The language ROLLOUT_LANG asks for: `en`, or `ru` by default."""
    return "en" if os.environ.get("ROLLOUT_LANG", "").strip().lower().startswith("en") else "ru"


@contextmanager
def speaking(lang: str) -> Iterator[str]:
    """Within the block, messages are in `lang` (`ru` or `en`) whatever ROLLOUT_LANG says."""
    token = _SPEAKING.set(lang if lang in LANGUAGES else "ru")
    try:
        yield _SPEAKING.get() or "ru"
    finally:
        _SPEAKING.reset(token)


@cache
def catalogue(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue (`pybabel compile`); English is the message ids themselves."""
    if lang == "en":
        return gettext.NullTranslations()
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as fh:
        return gettext.GNUTranslations(fh)


def _(message: str, **values: Any) -> str:
    """`message` in the reader's language, its `{placeholders}` filled in."""
    text = catalogue(language()).gettext(message)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    """A phrase with a count, in the plural form the language's CLDR rule picks (1 шаг, 2 шага,
    5 шагов); `{n}` is the count."""
    text = catalogue(language()).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def translate(value: Any) -> str:
    """A Phrase of storage/ or notifications/ (which import no catalogue) in the reader's
    language, its Phrase fields too; anything else as text."""
    if not isinstance(value, Phrase):
        return str(value)
    fields = {k: translate(v) if isinstance(v, Phrase) else v for k, v in value.fields.items()}
    if isinstance(value, Plural):
        return catalogue(language()).ngettext(value.message, value.plural, value.n).format(
            **fields)
    return _(value.message, **fields)


def error_text(exc: BaseException) -> str:
    """An error's message in the reader's language (storage's errors carry a Phrase)."""
    text = getattr(exc, "text", None)
    return translate(text) if isinstance(text, Phrase) else str(exc)


def pick(en: str, ru: str) -> str:
    """One of a pair that already carries both languages (a guard's Reason)."""
    return en if language() == "en" else ru


def event_name(event: str) -> str:
    """A history event's name as people read it."""
    return _(EVENT_NAMES[event]) if event in EVENT_NAMES else event


def role_title(role: str) -> str:
    """A role's title (`regional_coordinator`: «региональный координатор»); an unknown role
    keeps its slug."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


KIND_NAMES = {"region": N_("region"), "school": N_("school"), "municipality": N_("municipality")}


def kind_name(kind: str) -> str:
    """`region` or `school` as a word of the sentence."""
    return _(KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def reasons(verdict: Any) -> str:
    """A verdict's reasons in the reader's language (states/ keeps both, imports nothing)."""
    return "; ".join(pick(r.en, r.ru) for r in verdict.reasons)

"""Russian for letters: declined names, greetings, initials, plural forms, quotes and dates."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

# Cases we decline into: genitive («от Свердловской области»), dative, prepositional.
CASES = ("gent", "datv", "loct")
DASH = re.compile(r"\s+[-–—]\s+")
PAREN = re.compile(r"^(.*?)\s*(\(.*\))$")
CITY = ("г.", "город")
VOWELS = "аеёиоуыэюя"

# Names the morphology library gets wrong or cannot split; found by the test over all 89
# subjects. Keys are the normalised nominative.
EXCEPTIONS: dict[str, dict[str, str]] = {}


@lru_cache(maxsize=1)
def _morph() -> Any:
    """The pymorphy3 analyzer, built on first use only (about a second and 25 MB)."""
    import pymorphy3  # deferred: most commands never render a letter

    return pymorphy3.MorphAnalyzer()


def normalise(name: str) -> str:
    """One space between words and an em dash between the name and its second name."""
    return DASH.sub(" — ", " ".join(str(name).split()))


def _restore_case(original: str, word: str) -> str:
    """Give `word` the capitals of `original`, segment by segment across hyphens."""
    src, out = original.split("-"), word.split("-")
    if len(src) != len(out):
        return word[:1].upper() + word[1:] if original[:1].isupper() else word
    return "-".join(o[:1].upper() + o[1:] if s[:1].isupper() else o for s, o in zip(src, out,
                                                                                    strict=True))


def _nominative(word: str, pos: str, gender: str | None = None) -> Any:
    """The library's reading of `word` as a nominative singular `pos` (NOUN or ADJF)."""
    best = None
    for p in _morph().parse(word.lower()):
        tag = p.tag
        if pos != tag.POS or tag.case != "nomn" or tag.number not in ("sing", None):
            continue
        if pos == "ADJF" and gender is not None and tag.gender != gender:
            continue
        if pos == "NOUN" and best is None and word[:1].isupper() and "Geox" not in tag:
            best = p  # keep looking for a place name, which is what a capital usually means
            continue
        return p
    return best


def _inflect(word: str, parse: Any, case: str) -> str | None:
    form = parse.inflect({case})
    return None if form is None else _restore_case(word, form.word)


def _phrase(words: list[str], case: str) -> tuple[list[str], bool] | None:
    """Decline adjectives up to and including the first noun; what follows stays (apposition:
    «Республики Татарстан», «городского округа Нальчик»). None if a word cannot be read; the
    flag says whether every word was declined (then a second name after a dash is declined too).
    """
    nouns = [i for i, w in enumerate(words) if _nominative(w, "NOUN") is not None
             and _nominative(w, "ADJF") is None]
    if not nouns:
        return None
    head = nouns[0]
    noun = _nominative(words[head], "NOUN")
    gender = noun.tag.gender
    out = []
    for w in words[:head]:
        adj = _nominative(w, "ADJF", gender)
        form = _inflect(w, adj, case) if adj is not None else None
        if form is None:
            return None
        out.append(form)
    form = _inflect(words[head], noun, case)
    if form is None:
        return None
    return [*out, form, *words[head + 1:]], head == len(words) - 1


def _city(words: list[str], case: str) -> list[str] | None:
    """«г. Москва» → «г. Москвы», «город федерального значения Севастополь» → «города …»."""
    out = []
    for w in words:
        if w == "г." or w.lower() in ("федерального", "значения"):
            out.append(w)
            continue
        noun = _nominative(w, "NOUN")
        form = _inflect(w, noun, case) if noun is not None else None
        if form is None:
            return None
        out.append(form)
    return out


@lru_cache(maxsize=4096)
def decline(name: str, case: str) -> str | None:
    """`name` (a region, municipality or organisation) in `case`; None if it cannot be done."""
    if case not in CASES:
        raise ValueError(f"case {case!r}: one of {', '.join(CASES)}")
    text = normalise(name)
    if text in EXCEPTIONS and case in EXCEPTIONS[text]:
        return EXCEPTIONS[text][case]
    if not text or text.split()[0].isupper() and len(text.split()[0]) > 1:
        return None  # an abbreviation first (МКОУ, ГАОУ ДПО): not declinable by rule
    paren = ""
    m = PAREN.match(text)
    if m:
        text, paren = m.group(1), " " + m.group(2)  # «Республика Саха (Якутия)»: kept as is
    head, _, tail = text.partition(" — ")
    words = head.split()
    whole = False
    if words[0] in CITY:
        declined = _city(words, case)
        whole = True
    else:
        found = _phrase(words, case)
        declined, whole = found if found is not None else (None, False)
    if declined is None:
        return None
    out = " ".join(declined)
    if tail:
        second = _phrase(tail.split(), case) if whole else None
        out += " — " + (" ".join(second[0]) if second is not None else tail)
    return out + paren


def genitive(name: str, noun: str = "региона") -> str:
    """«Кабардино-Балкарской Республики»; a name that cannot be declined stays as it is,
    quoted after `noun` («муниципального образования «…»»)."""
    return decline(name, "gent") or f"{noun} {quote(name)}"


def prepositional(name: str, noun: str = "регионе") -> str:
    """«в Свердловской области», «во Владимирской области» (в/во by the next sounds)."""
    form = decline(name, "loct") or f"{noun} {quote(name)}"
    return ("во " if re.match(r"[вфВФ][^аеёиоуыэюяАЕЁИОУЫЭЮЯ]", form) else "в ") + form


# -- people -------------------------------------------------------------------------------
MALE_SUFFIX = ("вич", "ьич", "ич")
FEMALE_SUFFIX = ("вна", "чна", "шна")
MALE_WORD = ("оглы", "улы", "уулу", "угли")
FEMALE_WORD = ("кызы", "гызы", "кизи", "кыз")
PERSON_WORD = re.compile(r"^[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?$")


def _parts(full_name: str | None) -> tuple[str, str, str, str | None] | None:
    """(surname, first name, patronymic, gender 'm'/'f'/None) of a registry-order ФИО."""
    words = (full_name or "").split()
    if len(words) >= 4 and words[-1].lower() in MALE_WORD + FEMALE_WORD:
        turkic = "m" if words[-1].lower() in MALE_WORD else "f"
        return words[0], words[1], " ".join(words[2:]), turkic  # Мамедов Али Гасан оглы
    if len(words) not in (2, 3) or not all(PERSON_WORD.match(w) for w in words):
        return None
    if len(words) == 2:
        return words[0], words[1], "", None
    patronymic = words[2].lower()
    gender: str | None = ("m" if patronymic.endswith(MALE_SUFFIX)
              else "f" if patronymic.endswith(FEMALE_SUFFIX) else None)
    return words[0], words[1], words[2], gender


@lru_cache(maxsize=65536)  # a reminder pass greets tens of thousands of people
def greeting(full_name: str | None) -> str:
    """«Уважаемая Лиана Хасановна!»; «Уважаемые коллеги!» to an organisation (no name)."""
    parts = _parts(full_name)
    if parts is None:
        name = " ".join((full_name or "").split())
        if not name or any(w.isalpha() and w.islower() for w in name.split()[1:]):
            return "Уважаемые коллеги!"  # «Служба технической поддержки», or nobody
        return "Здравствуйте!"
    surname, first, patronymic, gender = parts
    if gender is None:
        return f"Здравствуйте, {first} {patronymic or surname}!"
    return f"{'Уважаемый' if gender == 'm' else 'Уважаемая'} {first} {patronymic}!"


def initials(full_name: str | None) -> str:
    """«Хашев Азамат Муратович» → «А.М. Хашев»; anything else as written."""
    parts = _parts(full_name)
    if parts is None:
        return " ".join((full_name or "").split())
    surname, first, patronymic, _ = parts
    letters = first[0] + "." + (patronymic[0] + "." if patronymic else "")
    return f"{letters} {surname}"


def signature(person: dict[str, Any]) -> list[str]:
    """The lines under «С уважением,»: position and organisation, then «И.О. Фамилия»."""
    position = " ".join((person.get("position") or "").split())
    org = " ".join((person.get("organisation") or "").split())
    title = position[:1].upper() + position[1:]
    if org and org.lower() not in position.lower():
        gent = decline(org, "gent") if position else None
        if not position:
            title = org
        elif gent is not None and gent.lower() not in position.lower():
            title = f"{title} {gent}"
        elif gent is None:
            title = f"{title}, {org}"
    return [line for line in (title, initials(person.get("name"))) if line]


# -- numbers, quotes and dates --------------------------------------------------------------
# Forms for CLDR's categories one, few, many (other, for fractions, takes the few form).
WORDS: dict[str, tuple[str, str, str]] = {
    "шаг": ("шаг", "шага", "шагов"),
    "шага": ("шага", "шагов", "шагов"),  # genitive: «срок 1 шага», «срок 5 шагов»
    "рабочий день": ("рабочий день", "рабочих дня", "рабочих дней"),
    "рабочего дня": ("рабочего дня", "рабочих дней", "рабочих дней"),
    "школа": ("школа", "школы", "школ"),
    "школы": ("школы", "школ", "школ"),
    "регион": ("регион", "региона", "регионов"),
    "организация": ("организация", "организации", "организаций"),
    "запись": ("запись", "записи", "записей"),
    "расхождение": ("расхождение", "расхождения", "расхождений"),
    "изменение": ("изменение", "изменения", "изменений"),
}
_INDEX = {"one": 0, "few": 1, "many": 2, "other": 1}


@lru_cache(maxsize=1)
def _plural_rule() -> Callable[[Any], str]:
    from babel import Locale  # deferred: Babel's data loads on first use

    return Locale("ru").plural_form  # type: ignore[no-any-return]


@lru_cache(maxsize=4096)
def plural(n: int, word: str) -> str:
    """«1 шаг», «3 рабочих дня», «5 рабочих дней», by the CLDR rules for Russian."""
    forms = WORDS.get(word)
    if forms is None:
        raise KeyError(f"no plural forms for {word!r}; add them to russian.WORDS")
    return f"{n} {forms[_INDEX[_plural_rule()(n)]]}"


@lru_cache(maxsize=4096)  # step titles and school names repeat across a reminder pass
def quote(text: str) -> str:
    """«…» around `text`, its own quotes turned into „лапки“: «МБОУ „Гимназия № 4“»."""
    return "«" + inner_quotes(text) + "»"


def inner_quotes(text: str) -> str:
    """Quotes inside a quoted name become „…“ (straight quotes too, pairwise)."""
    out = str(text).replace("«", "„").replace("»", "“")
    return re.sub(r'"([^"]*)"', "„\\1“", out)


def upfirst(text: str) -> str:
    """The first letter capital, the rest untouched (Jinja's `capitalize` lowers «ОО»)."""
    return text[:1].upper() + text[1:]


def lowfirst(text: str) -> str:
    """«Начальник отдела» → «начальник отдела» mid-sentence; «КБР» stays as it is."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


@lru_cache(maxsize=65536)
def condition(reason: str, title: str = "") -> str:
    """A guard's reason as a line under its step: the step's title (already shown) dropped,
    «педагоги: загружено 0 из 40» as «педагоги — загружено 0 из 40»."""
    text = reason[len(title) + 2:] if title and reason.startswith(title + ": ") else reason
    return text.replace(": ", " — ", 1)


def ru_date(value: date | datetime | str) -> str:
    return value.strftime("%d.%m.%Y") if isinstance(value, date) else str(value)


def due(value: date | datetime | str) -> str:
    """«до 15.10.2026»."""
    return f"до {ru_date(value)}"


FILTERS: dict[str, Callable[..., Any]] = {
    "genitive": genitive, "prepositional": prepositional, "greeting": greeting,
    "initials": initials, "signature": signature, "plural": plural, "quote": quote,
    "inner_quotes": inner_quotes, "due": due, "upfirst": upfirst, "lowfirst": lowfirst,
    "condition": condition,
}

"""A sentence for people from a layer that has no catalogue (storage/, notifications/).

It is kept as an English message id with its fields; `str()` reads it in English (logs, tests),
and workflow.i18n.translate gives it in the reader's language. `python -m
workflow.cli.catalogue` extracts every `Phrase("…")` of storage/ and notifications/.
"""

from __future__ import annotations

from typing import Any


class Phrase:
    """An English message id with `{fields}`; a field may itself be a Phrase."""

    __slots__ = ("message", "fields")

    def __init__(self, message: str, **fields: Any) -> None:
        self.message, self.fields = message, fields

    def __str__(self) -> str:
        return self.message.format(**{k: str(v) if isinstance(v, Phrase) else v
                                      for k, v in self.fields.items()})

    def __repr__(self) -> str:
        return f"Phrase({self.message!r}, **{self.fields!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Phrase) and (self.message, self.fields) == (
            other.message, other.fields)

    __hash__ = None  # type: ignore[assignment]


class Plural(Phrase):
    """A phrase with a count `{n}`: the language's plural rule picks the form."""

    __slots__ = ("plural", "n")

    def __init__(self, singular: str, plural: str, n: int, **fields: Any) -> None:
        super().__init__(singular, n=n, **fields)
        self.plural, self.n = plural, n

    def __str__(self) -> str:
        if self.n != 1:
            return Phrase(self.plural, **self.fields).__str__()
        return super().__str__()

"""A guard's verdict: ok or not, with reasons that carry their figures in English and Russian."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reason:
    """One unmet (or met) condition, with the figures behind it."""

    code: str
    en: str
    ru: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.en, "message_ru": self.ru,
                "figures": self.figures}


@dataclass(frozen=True)
class Verdict:
    """The answer of a guard: `ok`, or not with the reasons why."""

    ok: bool
    reasons: tuple[Reason, ...] = ()

    @classmethod
    def allow(cls, *reasons: Reason) -> Verdict:
        return cls(True, reasons)

    @classmethod
    def deny(cls, *reasons: Reason) -> Verdict:
        return cls(False, reasons)

    def __bool__(self) -> bool:
        return self.ok

    def __and__(self, other: Verdict) -> Verdict:
        if self.ok and other.ok:
            return Verdict(True, self.reasons + other.reasons)
        failed = tuple(r for v in (self, other) if not v.ok for r in v.reasons)
        return Verdict(False, failed)

    @property
    def message(self) -> str:
        return "; ".join(r.en for r in self.reasons)

    @property
    def message_ru(self) -> str:
        return "; ".join(r.ru for r in self.reasons)

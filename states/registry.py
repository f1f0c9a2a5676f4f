"""Step 2's registry reconciliation as data: what is open, the guard's verdict, who may accept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from states.roles import Grant, Role, Target, _granted, may_act
from states.steps import Step
from states.verdict import Reason, Verdict

# The kinds of discrepancy, in the order a person reads them, with the Russian word for each.
ACTIONS: tuple[str, ...] = ("add", "remove", "relink", "changed", "unmatched")
ACTION_WORDS = {
    "add": "добавить",
    "remove": "удалить",
    "relink": "привязать",
    "changed": "изменить сведения",
    "unmatched": "не сопоставлено",
}


@dataclass(frozen=True)
class RegistryCheck:
    """The region's last reconciliation: when, and its open discrepancies per kind."""

    number: int  # the reconciliation's id
    at: str  # ISO time
    open: Mapping[str, int] = field(default_factory=dict)  # kind -> open discrepancies

    @property
    def open_total(self) -> int:
        return sum(self.open.values())


def plural_ru(n: int, one: str, few: str, many: str) -> str:
    """The Russian plural form for n (CLDR rules for ru: one, few, many)."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def open_summary(check: RegistryCheck) -> tuple[str, str]:
    """English and Russian figures of the open discrepancies: 'add 1, remove 1, relink 1'."""
    kinds = [k for k in ACTIONS if check.open.get(k)]
    en = ", ".join(f"{k} {check.open[k]}" for k in kinds)
    ru = ", ".join(f"{ACTION_WORDS[k]} {check.open[k]}" for k in kinds)
    return en, ru


def registry_verdict(step: Step, check: RegistryCheck | None) -> Verdict:
    """A reconciliation is on record and none of its discrepancies is open."""
    if check is None:
        return Verdict.deny(Reason(
            "not_reconciled", f"{step.slug}: the registry has not been reconciled "
            "(rollout reconcile --region CODE FILE)",
            "сверка реестра не проводилась",
            {"reconciliation": None}))
    n = check.open_total
    if n == 0:
        return Verdict.allow()
    en, ru = open_summary(check)
    word = plural_ru(n, "расхождение", "расхождения", "расхождений")
    return Verdict.deny(Reason(
        "discrepancies_open",
        f"{step.slug}: registry reconciliation {check.number}: {n} discrepancies open: {en}",
        f"сверка реестра: не решено {n} {word}: {ru}",
        {"reconciliation": check.number, "open": n, **dict(check.open)}))


def may_accept(actor: str, grants: list[Grant], region: Target, step: Step) -> Verdict:
    """May a person accept a region's open discrepancies? Who may act on step 2, or support."""
    verdict = may_act(actor, grants, region, step)
    if verdict:
        return verdict
    if any(Role(g.role) is Role.SUPPORT for g in grants):
        return _granted(Role.SUPPORT)
    return Verdict.deny(Reason(
        "permission", f"{actor} may not accept the registry discrepancies of region "
        f"{region.code} (its regional_coordinator or support may)",
        f"{actor}: принять расхождения сверки реестра региона {region.code} может его "
        "региональный координатор или СТП"))

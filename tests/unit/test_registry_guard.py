"""Step 2's reconciliation guard, pure: never reconciled, discrepancies open, resolved; who may
accept; the Russian plural of «расхождение»."""

from __future__ import annotations

import pytest

from states import Grant, RegionFacts, Target, evaluate, step_by_slug
from states.registry import RegistryCheck, may_accept, plural_ru

STEP = step_by_slug("registry")
AT = "2026-09-01T07:00:00+00:00"


def facts(check: RegistryCheck | None) -> RegionFacts:
    return RegionFacts("07", schools=3, reconciliation=check)


def test_never_reconciled_is_refused_and_says_so() -> None:
    """Without a reconciliation on record step 2 is refused, naming the command that does it."""
    verdict = evaluate(STEP, facts(None))
    assert not verdict.ok
    assert verdict.message_ru == (
        "сверка реестра не проводилась")
    assert verdict.reasons[0].code == "not_reconciled"


@pytest.mark.parametrize(("open_", "text"), [
    ({"add": 1, "remove": 1, "relink": 1},
     "сверка реестра: не решено 3 расхождения: добавить 1, удалить 1, привязать 1"),
    ({"changed": 1}, "сверка реестра: не решено 1 расхождение: изменить сведения 1"),
    ({"remove": 5, "unmatched": 6},
     "сверка реестра: не решено 11 расхождений: удалить 5, не сопоставлено 6"),
    ({"add": 21}, "сверка реестра: не решено 21 расхождение: добавить 21"),
])
def test_open_discrepancies_refuse_with_their_figures(open_: dict[str, int], text: str) -> None:
    """Open discrepancies refuse step 2; the refusal lists them per kind with figures."""
    verdict = evaluate(STEP, facts(RegistryCheck(4, AT, open_)))
    assert not verdict.ok and verdict.message_ru == text
    assert verdict.reasons[0].figures["open"] == sum(open_.values())
    assert verdict.reasons[0].figures["reconciliation"] == 4


def test_nothing_open_allows_step_2() -> None:
    """A reconciliation with nothing open (clean, or all accepted) lets step 2 complete."""
    assert evaluate(STEP, facts(RegistryCheck(2, AT, {}))).ok


def test_no_schools_still_refuses_first() -> None:
    """A region with no school at all is refused for that, whatever the reconciliation says."""
    verdict = evaluate(STEP, RegionFacts("07", schools=0, reconciliation=RegistryCheck(1, AT)))
    assert verdict.reasons[0].code == "no_schools"


@pytest.mark.parametrize(("grants", "ok", "role"), [
    ([Grant("regional_coordinator", "07")], True, "regional_coordinator"),
    ([Grant("support")], True, "support"),
    ([Grant("regional_coordinator", "66")], False, None),
    ([Grant("program_manager")], False, None),
    ([Grant("municipal_coordinator", "0701")], False, None),
])
def test_who_may_accept(grants: list[Grant], ok: bool, role: str | None) -> None:
    """The region's regional coordinator or support accepts discrepancies; nobody else."""
    verdict = may_accept("x@y.ru", grants, Target("region", "07", "07"), STEP)
    assert verdict.ok is ok
    if ok:
        assert verdict.reasons[0].figures["role"] == role
    else:
        assert "сверки реестра региона 07" in verdict.message_ru


@pytest.mark.parametrize(("n", "form"), [(1, "one"), (2, "few"), (4, "few"), (5, "many"),
                                         (11, "many"), (12, "many"), (14, "many"), (21, "one"),
                                         (22, "few"), (111, "many"), (101, "one")])
def test_plural_follows_the_russian_rules(n: int, form: str) -> None:
    """1 расхождение, 2 расхождения, 5 расхождений, 11 расхождений, 21 расхождение."""
    assert plural_ru(n, "one", "few", "many") == form

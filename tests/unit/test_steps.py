"""The nine steps as data: slugs, order, levels, owners, optional steps and Russian titles."""

from __future__ import annotations

import pytest

from states import DONE, LEVELS, STATES, STEPS, Completion, default_policies, step_by_slug

# The table of CONTRACT.md, written out again so that a change to a step is a deliberate one.
CONTRACT = [
    (1, "coordinator", "Подключение регионального координатора", "region", {"support"},
     "manual"),
    (2, "registry", "Внесение данных о школах в систему и сверка реестра ОО", "region",
     {"regional_coordinator"}, "manual"),
    (3, "municipalities",
     "Деление школ по муниципалитетам и назначение муниципальных координаторов", "region",
     {"regional_coordinator"}, "manual"),
    (4, "admins", "Назначение администраторов ОО", "school",
     {"regional_coordinator", "municipal_coordinator"}, "evidence"),
    (5, "teachers", "Внесение или загрузка данных о педагогах", "school", {"school_admin"},
     "evidence"),
    (6, "classes", "Внесение данных о классах (группах учащихся)", "school", {"school_admin"},
     "evidence"),
    (7, "parents", "Регистрация законных представителей", "school", {"school_admin"},
     "evidence"),
    (8, "students", "Добавление учащихся", "school", {"school_admin"}, "evidence"),
    (9, "adoption", "Освоение функционала сайта и работа с ним", "school", {"school_admin"},
     "manual"),
]


def test_there_are_nine_steps_in_contract_order() -> None:
    """The steps come in the contract's order, numbered 1 to 9, with their stable slugs."""
    assert [(s.number, s.slug) for s in STEPS] == [(n, slug) for n, slug, *_ in CONTRACT]
    assert [s.index for s in STEPS] == list(range(9))


@pytest.mark.parametrize(("number", "slug", "title", "level", "owners", "completion"), CONTRACT,
                         ids=[c[1] for c in CONTRACT])
def test_step_matches_the_contract_table(number: int, slug: str, title: str, level: str,
                                         owners: set[str], completion: str) -> None:
    """Each step's Russian title, level, owners and way of completing are the contract's."""
    step = step_by_slug(slug)
    assert step.number == number
    assert step.title == title
    assert step.level == level
    assert set(step.owners) == owners
    assert step.completion is Completion(completion)


def test_only_municipalities_is_optional() -> None:
    """Step 3 (the municipal split) is the only step that may be skipped."""
    assert [s.slug for s in STEPS if s.optional] == ["municipalities"]


def test_steps_1_to_3_belong_to_the_region_and_4_to_9_to_the_school() -> None:
    """The region owns the first three steps; every school owns the other six."""
    assert LEVELS == ("region", "school")
    assert [s.level for s in STEPS] == ["region"] * 3 + ["school"] * 6


@pytest.mark.parametrize(("slug", "evidence"), [
    ("coordinator", None), ("registry", "schools"), ("municipalities", "municipal_split"),
    ("admins", "admin"), ("teachers", "teachers"), ("classes", "classes"),
    ("parents", "parents"), ("students", "students"), ("adoption", None)])
def test_each_step_counts_its_own_evidence(slug: str, evidence: str | None) -> None:
    """Each step's guard counts what the contract says (schools, the split, an admin, a metric)."""
    assert step_by_slug(slug).evidence == evidence


def test_states_are_the_slugs_then_done() -> None:
    """A machine's state is one of the nine slugs or `done`."""
    assert tuple(s.slug for s in STEPS) + ("done",) == STATES
    assert DONE == "done"


def test_slugs_are_unique_lowercase_identifiers() -> None:
    """Slugs are stable identifiers: unique, lowercase ASCII."""
    slugs = [s.slug for s in STEPS]
    assert len(set(slugs)) == 9
    assert all(s.isascii() and s.isidentifier() and s == s.lower() for s in slugs)


def test_every_step_says_in_russian_what_to_do_and_who_does_it() -> None:
    """Reminders need a Russian to-do and a Russian owner for every step."""
    for step in STEPS:
        assert step.todo.strip() and step.owner_text.strip()
        assert any("а" <= ch <= "я" for ch in step.todo.lower()), step.slug


def test_default_policies_escalate_after_the_reminder_with_reachable_thresholds() -> None:
    """By default every step escalates after its SLA; teachers and classes need all, parents
    and students a share a school reaches (no school ever has every parent registered)."""
    policies = default_policies()
    assert list(policies) == [s.slug for s in STEPS]
    for slug, policy in policies.items():
        assert 1 <= policy.sla_days <= policy.escalate_after_days, slug
        assert policy.region_share == 1.0, slug
    assert [policies[s].threshold for s in ("teachers", "classes", "parents", "students")] == [
        1.0, 1.0, 0.6, 0.75]


def test_an_unknown_slug_is_refused_naming_the_known_ones() -> None:
    """step_by_slug on a typo names every known slug, so a user can correct it."""
    with pytest.raises(KeyError) as info:
        step_by_slug("teacher")
    message = info.value.args[0]
    assert "unknown step 'teacher'" in message
    assert all(s.slug in message for s in STEPS)


def test_steps_are_immutable() -> None:
    """A step is data: it cannot be changed at run time."""
    with pytest.raises(AttributeError):
        STEPS[0].slug = "x"  # type: ignore[misc]

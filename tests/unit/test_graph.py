"""The step graph as pure functions: validation, what opens, what a reopen sends back."""

from __future__ import annotations

import pytest

from states import STEPS, StepPolicy, default_policies
from states.graph import (
    SLUGS,
    GraphError,
    check_graph,
    decode,
    default_graph,
    definition_body,
    definition_changes,
    dependents,
    encode,
    fingerprint,
    finished_counts,
    first_open,
    initial_statuses,
    settle_open,
)

LINE = {slug: ((SLUGS[i - 1],) if i else ()) for i, slug in enumerate(SLUGS)}


def test_the_default_graph_follows_the_instruction_and_the_platform() -> None:
    """1 → 2 → 3 → 4; teachers and classes after admins; parents and students after classes;
    adoption after teachers, parents and students."""
    g = default_graph()
    assert [g[s] for s in ("registry", "municipalities", "admins")] == [
        ("coordinator",), ("registry",), ("municipalities",)]
    assert g["teachers"] == g["classes"] == ("admins",)
    assert g["parents"] == g["students"] == ("classes",)
    assert g["adoption"] == ("teachers", "parents", "students")
    check_graph(g)
    check_graph(LINE)  # a strict line stays expressible


@pytest.mark.parametrize(("graph_change", "step", "problem"), [
    ({"teachers": ("nope",)}, "teachers", "unknown step 'nope'"),
    ({"teachers": ("adoption",)}, "teachers", "a cycle: teachers → adoption → teachers"),
    ({"classes": ("classes",)}, "classes", "cannot come after itself"),
    ({"coordinator": ("registry",)}, "coordinator", "step 1 comes first"),
    ({"students": ()}, "students", "comes after another step"),
    ({"municipalities": ("admins",)}, "municipalities", "cannot come after the school step"),
])
def test_a_bad_graph_names_the_step(graph_change: dict, step: str, problem: str) -> None:
    """Unknown slugs, cycles, a second start and a region waiting on schools are refused."""
    graph = {**default_graph(), **graph_change}
    with pytest.raises(GraphError) as exc:
        check_graph(graph)
    assert exc.value.slug == step and problem in str(exc.value)
    assert str(exc.value).startswith(f"steps.{step}.after: ")


def test_a_new_machine_has_only_step_1_open() -> None:
    """Initially step 1 is current and every other step pending."""
    s = initial_statuses(default_graph())
    assert [k for k, v in s.items() if v == "current"] == ["coordinator"]
    assert first_open(s) == "coordinator"


def test_finishing_admins_opens_teachers_and_classes_together() -> None:
    """Several steps of one machine are open at once; the state is the first in order."""
    s = {slug: "done" if slug in ("coordinator", "registry", "municipalities", "admins")
         else "pending" for slug in SLUGS}
    opened = settle_open(default_graph(), s)
    assert [k for k, v in opened.items() if v == "current"] == ["teachers", "classes"]
    assert first_open(opened) == "teachers"
    on_line = settle_open(LINE, s)
    assert [k for k, v in on_line.items() if v == "current"] == ["teachers"]


def test_a_skipped_prerequisite_counts_as_finished() -> None:
    """A skipped municipal split opens admins."""
    s = {**initial_statuses(default_graph()), "coordinator": "done", "registry": "done",
         "municipalities": "skipped"}
    assert settle_open(default_graph(), s)["admins"] == "current"


def test_nothing_done_is_lost_when_the_graph_changes() -> None:
    """A done step stays done even when a new graph puts an unfinished step before it."""
    s = {**{k: "done" for k in SLUGS[:5]}, **{k: "pending" for k in SLUGS[5:]}}
    graph = {**default_graph(), "teachers": ("classes",)}
    out = settle_open(graph, s)
    assert out["teachers"] == "done" and out["classes"] == "current"


def test_dependents_are_transitive_and_in_instruction_order() -> None:
    """Reopening classes sends parents, students and adoption back; teachers is not behind it."""
    assert dependents(default_graph(), "classes") == ("parents", "students", "adoption")
    assert dependents(default_graph(), "teachers") == ("adoption",)
    assert dependents(default_graph(), "registry") == SLUGS[2:]
    assert dependents(default_graph(), "adoption") == ()


def test_statuses_encode_one_letter_a_step() -> None:
    """The SQL-countable form round-trips, and finished counts read it."""
    s = {**initial_statuses(default_graph()), "coordinator": "done", "registry": "skipped"}
    code = encode(s)
    assert code == "DSPPPPPPP" and decode(code) == s
    assert finished_counts([(code, 3), ("DDDDDDDDD", 2)])["registry"] == 5
    assert finished_counts([(code, 3)])["municipalities"] == 0


def test_fingerprint_names_the_definition() -> None:
    """Equal definitions share a fingerprint; any setting changes it and is listed."""
    a, b = default_policies(), dict(default_policies())
    assert fingerprint(a) == fingerprint(b)
    b["parents"] = StepPolicy(15, 25, threshold=0.5, after=("classes",))
    assert fingerprint(a) != fingerprint(b)
    assert definition_changes(definition_body(a), definition_body(b)) == [
        ("parents", "threshold", 0.6, 0.5)]


def test_every_step_declares_its_prerequisites_in_states() -> None:
    """The graph lives beside the other rules of each step."""
    assert {s.slug: s.after for s in STEPS} == default_graph()

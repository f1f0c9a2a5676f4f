"""Roles and scopes: the whole permission matrix of acting, appointing and reading."""

from __future__ import annotations

import pytest

from states import (
    GLOBAL_ROLES,
    ROLES,
    STEPS,
    Grant,
    Step,
    Target,
    acting_role,
    may_act,
    may_assign,
    may_read,
    may_read_history,
    sees_everything,
)
from states.roles import KIND_TITLES, ROLE_TITLES_GEN

ACTOR = "person@example.ru"
SLUGS = [s.slug for s in STEPS]
REGION_STEPS = {"coordinator", "registry", "municipalities"}
SCHOOL_STEPS = set(SLUGS) - REGION_STEPS
GLOBAL = {"support", "program_manager", "auditor"}

# The rules, written independently of states/roles.py: which steps a role acts on, per kind of
# machine, when the machine is inside the role's scope. Anything not listed is refused.
ACTS_ON: dict[tuple[str, str], set[str]] = {
    ("support", "region"): {"coordinator"},
    ("regional_coordinator", "region"): {"registry", "municipalities"} | SCHOOL_STEPS,
    ("regional_coordinator", "school"): SCHOOL_STEPS,
    ("municipal_coordinator", "school"): SCHOOL_STEPS,
    ("school_admin", "school"): {"teachers", "classes", "parents", "students", "adoption"},
}

# Region 07 has municipalities 0701 (schools S1, its branch S1F) and 0702 (school S2); region 50
# has municipality 5001 (school X1). Each scoped role holds a grant in region 07.
GRANT = {"support": Grant("support"), "program_manager": Grant("program_manager"),
         "auditor": Grant("auditor"), "regional_coordinator": Grant("regional_coordinator", "07"),
         "municipal_coordinator": Grant("municipal_coordinator", "0701"),
         "school_admin": Grant("school_admin", "S1")}
R07 = Target("region", "07", "07")
R50 = Target("region", "50", "50")
M0701 = Target("municipality", "0701", "07", "0701")
M0702 = Target("municipality", "0702", "07", "0702")
M5001 = Target("municipality", "5001", "50", "5001")
S1 = Target("school", "S1", "07", "0701")
S1F = Target("school", "S1F", "07", "0701")
S2 = Target("school", "S2", "07", "0702")
X1 = Target("school", "X1", "50", "5001")

# For each role and kind of machine: a target inside the role's scope (or nearest to it, for a
# region above a municipal coordinator or a school admin), and targets outside it.
IN_SCOPE = {
    ("regional_coordinator", "region"): R07, ("regional_coordinator", "school"): S1,
    ("municipal_coordinator", "region"): R07, ("municipal_coordinator", "school"): S1,
    ("school_admin", "region"): R07, ("school_admin", "school"): S1,
}
OUT_OF_SCOPE = {
    ("regional_coordinator", "region"): [R50], ("regional_coordinator", "school"): [X1],
    ("municipal_coordinator", "region"): [R50], ("municipal_coordinator", "school"): [S2, X1],
    ("school_admin", "region"): [R50], ("school_admin", "school"): [S1F, S2, X1],
}


def expected_to_act(role: str, kind: str, slug: str, in_scope: bool) -> bool:
    if role in GLOBAL:
        in_scope = True  # a global role has no scope to leave
    return in_scope and slug in ACTS_ON.get((role, kind), set())


def _targets(role: str, kind: str, in_scope: bool) -> list[Target]:
    if role in GLOBAL:
        return [R07, R50] if kind == "region" else [S1, X1]
    return [IN_SCOPE[role, kind]] if in_scope else OUT_OF_SCOPE[role, kind]


MATRIX = [(step, role, kind, in_scope) for step in STEPS for role in ROLES
          for kind in ("region", "school") for in_scope in (True, False)]


def test_the_independent_table_knows_every_role() -> None:
    """The roles under test are exactly the product's six roles."""
    assert set(ROLES) == set(GRANT)
    assert {str(r) for r in GLOBAL_ROLES} == GLOBAL


@pytest.mark.parametrize(("step", "role", "kind", "in_scope"), MATRIX,
                         ids=[f"{s.slug}-{r}-{k}-{'in' if i else 'out'}" for s, r, k, i in MATRIX])
def test_may_act_matrix(step: Step, role: str, kind: str, in_scope: bool) -> None:
    """Every step × role × machine kind × scope gets the answer of the rules table."""
    want = expected_to_act(role, kind, step.slug, in_scope)
    for target in _targets(role, kind, in_scope):
        verdict = may_act(ACTOR, [GRANT[role]], target, step)
        assert verdict.ok is want, target
        if want:
            assert acting_role(verdict) == role
            assert verdict.message == f"acting as {role}"
            assert verdict.message_ru == f"в роли {ROLE_TITLES_GEN[role]}"  # type: ignore[index]
        else:
            assert acting_role(verdict) is None
            assert verdict.message == (f"{ACTOR} may not act on step {step.slug} of "
                                       f"{target.kind} {target.code}")
            assert verdict.message_ru == (f"{ACTOR}: нет прав на шаг «{step.title}» "
                                          f"({KIND_TITLES[target.kind]} {target.code})")


@pytest.mark.parametrize("step", STEPS, ids=SLUGS)
def test_nobody_acts_without_a_grant(step: Step) -> None:
    """A person with no role at all is refused everywhere."""
    assert not may_act(ACTOR, [], R07, step)
    assert not may_act(ACTOR, [], S1, step)


@pytest.mark.parametrize("step", [s for s in STEPS if s.level == "region"],
                         ids=sorted(REGION_STEPS, key=SLUGS.index))
def test_a_region_step_on_a_school_is_acted_on_by_nobody(step: Step) -> None:
    """A school's steps 1-3 mirror its region: even a person holding every role is refused."""
    everything = list(GRANT.values())
    assert not may_act(ACTOR, everything, S1, step)


def test_a_branch_is_below_its_municipal_and_regional_coordinators() -> None:
    """Coordinators act on the branches of their area like on any school there."""
    teachers = STEPS[4]
    assert may_act(ACTOR, [GRANT["municipal_coordinator"]], S1F, teachers)
    assert may_act(ACTOR, [GRANT["regional_coordinator"]], S1F, teachers)


def test_the_grant_that_allows_is_the_one_recorded() -> None:
    """With several grants, the one that allows the action is named as the acting role."""
    grants = [Grant("program_manager"), Grant("school_admin", "S1"),
              Grant("municipal_coordinator", "0702")]
    verdict = may_act(ACTOR, grants, S2, STEPS[8])
    assert acting_role(verdict) == "municipal_coordinator"
    verdict = may_act(ACTOR, grants, S1, STEPS[8])
    assert acting_role(verdict) == "school_admin"


def test_a_global_read_role_does_not_lend_rights_to_a_scoped_grant() -> None:
    """A program manager who is also a school admin acts only on that admin's school."""
    grants = [Grant("program_manager"), Grant("school_admin", "S1")]
    assert not may_act(ACTOR, grants, S2, STEPS[8])


# -- appointing ----------------------------------------------------------------------------

WHO_APPOINTS = {  # appointed role -> roles that appoint it inside their scope
    "regional_coordinator": {"support"},
    "municipal_coordinator": {"regional_coordinator"},
    "school_admin": {"regional_coordinator", "municipal_coordinator"},
}
KIND_OF = {"regional_coordinator": "region", "municipal_coordinator": "municipality",
           "school_admin": "school"}
# (appointed role, in scope?) -> target per appointing role
ASSIGN_TARGETS = {
    ("regional_coordinator", True): R07, ("regional_coordinator", False): R50,
    ("municipal_coordinator", True): M0701, ("municipal_coordinator", False): M5001,
    ("school_admin", True): S1, ("school_admin", False): X1,
}
ASSIGN = [(wanted, actor_role, in_scope) for wanted in WHO_APPOINTS for actor_role in ROLES
          for in_scope in (True, False)]


@pytest.mark.parametrize(("wanted", "actor_role", "in_scope"), ASSIGN,
                         ids=[f"{w}-by-{a}-{'in' if i else 'out'}" for w, a, i in ASSIGN])
def test_may_assign_matrix(wanted: str, actor_role: str, in_scope: bool) -> None:
    """Who appoints whom: support the regional coordinators, coordinators those below them."""
    target = ASSIGN_TARGETS[wanted, in_scope]
    if actor_role == "municipal_coordinator" and wanted == "school_admin" and not in_scope:
        targets = [S2, X1]  # another municipality of the same region, and another region
    else:
        targets = [target]
    for t in targets:
        verdict = may_assign(ACTOR, [GRANT[actor_role]], wanted, t)
        want = actor_role in WHO_APPOINTS[wanted] and (in_scope or actor_role in GLOBAL)
        assert verdict.ok is want, t
        if want:
            assert acting_role(verdict) == actor_role
        else:
            assert verdict.message == f"{ACTOR} may not assign {wanted} on {t.kind} {t.code}"
            assert verdict.message_ru == (f"{ACTOR}: нет прав назначить "
                                          f"{ROLE_TITLES_GEN[wanted]} ({t.code})")  # type: ignore[index]


def test_a_municipal_coordinator_appoints_no_municipal_coordinator_even_its_own() -> None:
    """Municipal coordinators are appointed by the regional coordinator only."""
    assert not may_assign(ACTOR, [GRANT["municipal_coordinator"]], "municipal_coordinator",
                          M0701)
    assert not may_assign(ACTOR, [GRANT["municipal_coordinator"]], "municipal_coordinator",
                          M0702)


@pytest.mark.parametrize("wanted", sorted(GLOBAL))
@pytest.mark.parametrize("actor_role", ROLES)
def test_global_roles_are_never_assigned(wanted: str, actor_role: str) -> None:
    """Nobody appoints support, program managers or auditors: the operator imports them."""
    verdict = may_assign(ACTOR, [GRANT[actor_role]], wanted, R07)
    assert not verdict.ok
    assert verdict.message == (f"{ACTOR} may not assign the global role {wanted} "
                               "(the operator imports global roles)")
    assert verdict.message_ru == f"{ACTOR}: глобальные роли назначает оператор через импорт людей"


@pytest.mark.parametrize("wanted", sorted(WHO_APPOINTS))
@pytest.mark.parametrize("target", [R07, M0701, S1], ids=["region", "municipality", "school"])
def test_a_role_is_assigned_only_on_its_kind_of_scope(wanted: str, target: Target) -> None:
    """A school admin is appointed on a school, a municipal coordinator on a municipality..."""
    verdict = may_assign(ACTOR, list(GRANT.values()), wanted, target)
    if KIND_OF[wanted] == target.kind:
        assert verdict.ok
    else:
        assert not verdict.ok
        assert verdict.message == f"{ACTOR} may not assign {wanted} on a {target.kind}"


# -- reading -------------------------------------------------------------------------------

EVERY_TARGET = [R07, R50, M0701, M0702, M5001, S1, S1F, S2, X1]
READS = {  # role -> the targets it may see (of EVERY_TARGET)
    "support": set(EVERY_TARGET), "program_manager": set(EVERY_TARGET),
    "auditor": set(EVERY_TARGET),
    "regional_coordinator": {R07, M0701, M0702, S1, S1F, S2},
    "municipal_coordinator": {M0701, S1, S1F},
    "school_admin": {S1},
}
READ = [(role, t) for role in ROLES for t in EVERY_TARGET]


@pytest.mark.parametrize(("role", "target"), READ,
                         ids=[f"{r}-{t.kind}-{t.code}" for r, t in READ])
def test_may_read_matrix(role: str, target: Target) -> None:
    """Global roles see everything; a coordinator its area; a school admin its school."""
    assert may_read([GRANT[role]], target) is (target in READS[role])


def test_nobody_reads_without_a_grant() -> None:
    """A person with no role sees nothing."""
    assert not any(may_read([], t) for t in EVERY_TARGET)


@pytest.mark.parametrize("role", ROLES)
def test_only_auditors_and_program_managers_read_the_history(role: str) -> None:
    """The history is read by auditors and program managers, nobody else."""
    assert may_read_history([GRANT[role]]) is (role in {"auditor", "program_manager"})
    assert may_read_history([GRANT[role], Grant("auditor")])
    assert not may_read_history([])


@pytest.mark.parametrize("role", ROLES)
def test_only_global_roles_see_everything(role: str) -> None:
    """sees_everything holds for the global roles only."""
    assert sees_everything([GRANT[role]]) is (role in GLOBAL)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("in_scope", [True, False])
def test_may_send_letter(role: str, in_scope: bool) -> None:
    """A region's letters are sent by support or by that region's own regional coordinator."""
    from states import Grant, Target, may_send_letter

    scope = {"regional_coordinator": "07", "municipal_coordinator": "0701",
             "school_admin": "S1"}.get(role)
    if scope and not in_scope:
        scope = {"07": "66", "0701": "6601", "S1": "S9"}[scope]
    verdict = may_send_letter("x@y.ru", [Grant(role, scope)], Target("region", "07", "07"))
    expected = role == "support" or (role == "regional_coordinator" and in_scope)
    assert verdict.ok is expected
    if not expected:
        assert verdict.message == ("x@y.ru may not send letters for region 07 (only its "
                                   "regional_coordinator or support may)")

"""Guards as pure functions: order, evidence at both levels, skipping, with figures and texts."""

from __future__ import annotations

import itertools

import pytest

from states import (
    STEPS,
    RegionFacts,
    SchoolFacts,
    Step,
    StepPolicy,
    Verdict,
    evaluate,
    needed,
    order_verdict,
    skip_verdict,
    step_by_slug,
)
from states.registry import RegistryCheck
from states.verdict import Reason

REGION_STEPS = [s for s in STEPS if s.level == "region"]
SCHOOL_STEPS = [s for s in STEPS if s.level == "school"]
METRIC_STEPS = ["teachers", "classes", "parents", "students"]
TITLE = {s.slug: s.title for s in STEPS}
SLUGS = [s.slug for s in STEPS]


def statuses(current: int, **overrides: str) -> dict[str, str]:
    """Step statuses of a machine whose current step has index `current`."""
    out = {}
    for i, slug in enumerate(SLUGS):
        out[slug] = "done" if i < current else ("current" if i == current else "pending")
    out.update(overrides)
    return out


def policy(threshold: float = 1.0, region_share: float = 1.0) -> StepPolicy:
    return StepPolicy(10, 15, threshold=threshold, region_share=region_share)


def school(**kw: object) -> SchoolFacts:
    kw.setdefault("code", "S1")
    kw.setdefault("region", "07")
    return SchoolFacts(**kw)  # type: ignore[arg-type]


def region(**kw: object) -> RegionFacts:
    kw.setdefault("code", "07")
    return RegionFacts(**kw)  # type: ignore[arg-type]


# -- needed() ------------------------------------------------------------------------------

@pytest.mark.parametrize(("expected", "threshold", "need"), [
    (40, 0.95, 38), (40, 1.0, 40), (10, 0.95, 10), (3, 1 / 3, 1), (100, 0.1, 10),
    (10, 0.7, 7), (30, 0.7, 21), (1, 0.01, 1), (7, 0.0, 0), (0, 1.0, 0), (0, 0.5, 0),
    (1_000_000, 0.999, 999_000), (41, 0.5, 21)])
def test_needed_rounds_up_without_float_noise(expected: int, threshold: float, need: int) -> None:
    """needed() rounds the share up to a whole count, and 0.1 × 100 is 10, not 11."""
    assert needed(expected, threshold) == need


# -- order_verdict -------------------------------------------------------------------------

@pytest.mark.parametrize("step", STEPS, ids=SLUGS)
def test_current_step_with_every_earlier_step_done_is_in_order(step: Step) -> None:
    """A step whose earlier steps are all done may complete."""
    verdict = order_verdict(step, statuses(step.index))
    assert verdict.ok and verdict.reasons == ()


@pytest.mark.parametrize("step", STEPS, ids=SLUGS)
def test_skipped_earlier_steps_count_as_finished(step: Step) -> None:
    """Earlier steps that were skipped (any mix with done ones) do not block a step."""
    earlier = SLUGS[: step.index]
    for pattern in itertools.product(("done", "skipped"), repeat=len(earlier)):
        verdict = order_verdict(step, statuses(step.index,
                                               **dict(zip(earlier, pattern, strict=True))))
        assert verdict.ok, pattern


ORDER_CASES = [(s, dep, open_status) for s in STEPS for dep in s.after
               for open_status in ("pending", "current")]


@pytest.mark.parametrize(("step", "open_slug", "open_status"), ORDER_CASES,
                         ids=[f"{s.slug}-after-{o}-{st}" for s, o, st in ORDER_CASES])
def test_an_unfinished_prerequisite_refuses_naming_it(step: Step, open_slug: str,
                                                      open_status: str) -> None:
    """A step whose prerequisite is open is refused, naming it in English and in Russian."""
    verdict = order_verdict(step, statuses(step.index, **{open_slug: open_status}))
    assert not verdict.ok
    (reason,) = verdict.reasons
    slug, title = step.slug, step.title
    assert reason.code == "out_of_order"
    assert reason.en == f"{slug}: step {open_slug} must be done first"
    assert reason.ru == f"{title}: сначала нужно выполнить шаг «{TITLE[open_slug]}»"
    assert reason.figures == {"waiting_for": [open_slug]}


def test_a_step_beside_an_open_one_is_in_order() -> None:
    """Teachers may complete while classes is still open, and parents while students is."""
    assert order_verdict(step_by_slug("teachers"), statuses(4, classes="current")).ok
    assert order_verdict(step_by_slug("parents"),
                         statuses(6, students="current", teachers="current")).ok


def test_adoption_names_every_prerequisite_not_done() -> None:
    """Adoption waits for teachers, parents and students; the refusal lists those open."""
    verdict = order_verdict(step_by_slug("adoption"),
                            statuses(8, teachers="current", students="pending"))
    assert verdict.reasons[0].figures["waiting_for"] == ["teachers", "students"]
    assert "сначала нужно выполнить шаги «Внесение или загрузка данных о педагогах», " \
           "«Добавление учащихся»" in verdict.reasons[0].ru


def test_a_configured_graph_is_the_one_checked() -> None:
    """With a strict line configured, classes waits for teachers, as in the first release;
    under the default graph it does not."""
    line = {slug: ((SLUGS[i - 1],) if i else ()) for i, slug in enumerate(SLUGS)}
    verdict = order_verdict(step_by_slug("classes"), statuses(5, teachers="current"), line)
    assert not verdict.ok and verdict.reasons[0].figures["waiting_for"] == ["teachers"]
    assert order_verdict(step_by_slug("classes"), statuses(5, teachers="current")).ok


def test_a_missing_status_counts_as_open() -> None:
    """An earlier step with no recorded status is not finished."""
    verdict = order_verdict(step_by_slug("registry"), {})
    assert not verdict.ok and "coordinator must be done first" in verdict.message


FINISHED_CASES = [(s, st) for s in STEPS for st in ("done", "skipped")]


@pytest.mark.parametrize(("step", "status"), FINISHED_CASES,
                         ids=[f"{s.slug}-{st}" for s, st in FINISHED_CASES])
def test_a_finished_step_cannot_complete_again(step: Step, status: str) -> None:
    """A step that is already done or skipped is refused, saying so in both languages."""
    verdict = order_verdict(step, statuses(9, **{step.slug: status}))
    assert not verdict.ok
    (reason,) = verdict.reasons
    word = "выполнен" if status == "done" else "пропущен"
    assert reason.code == "already_finished"
    assert reason.en == f"{step.slug}: already {status}"
    assert reason.ru == f"{step.title}: шаг уже {word}"


def test_already_finished_wins_over_out_of_order() -> None:
    """A done step on a machine with an open earlier step is refused as already done."""
    verdict = order_verdict(step_by_slug("teachers"), statuses(2, teachers="done"))
    assert verdict.message == "teachers: already done"


# -- evaluate: a school on a region step mirrors its region --------------------------------

MIRROR_CASES = [(s, st, ok) for s in REGION_STEPS
                for st, ok in (("done", True), ("skipped", True), ("current", False),
                               ("pending", False), (None, False))]


@pytest.mark.parametrize(("step", "region_status", "ok"), MIRROR_CASES,
                         ids=[f"{s.slug}-{st}" for s, st, _ in MIRROR_CASES])
def test_school_on_region_step_mirrors_the_region(step: Step, region_status: str | None,
                                                  ok: bool) -> None:
    """A school's steps 1-3 hold exactly when its region has done or skipped them."""
    region_steps = {} if region_status is None else {step.slug: region_status}
    # Evidence that would hold at the school level must not matter.
    facts = school(region_steps=region_steps, has_admin=True)
    verdict = evaluate(step, facts)
    assert verdict.ok is ok
    if ok:
        assert verdict.reasons == ()
    else:
        (reason,) = verdict.reasons
        assert reason.code == "region_step"
        assert reason.en == f"{step.slug}: a region step; region 07 has not completed it"
        assert reason.ru == f"{step.title}: шаг региона; регион 07 его ещё не выполнил"
        assert reason.figures == {"region": "07", "region_status": region_status or "pending"}


# -- evaluate: a region on a school step aggregates its schools ----------------------------

AGGREGATE_CASES = [
    # schools, done, region_share, needed, ok
    (4, 4, 1.0, 4, True), (4, 3, 1.0, 4, False), (4, 5, 1.0, 4, True),
    (4, 2, 0.5, 2, True), (4, 1, 0.5, 2, False), (5, 2, 0.5, 3, False), (5, 3, 0.5, 3, True),
    (10, 9, 0.9, 9, True), (10, 1, 0.0, 1, True), (10, 0, 0.0, 1, False),
    (0, 0, 1.0, 1, False), (1, 0, 1.0, 1, False), (1, 1, 1.0, 1, True),
]


@pytest.mark.parametrize("step", SCHOOL_STEPS, ids=[s.slug for s in SCHOOL_STEPS])
@pytest.mark.parametrize(("schools", "done", "share", "need", "ok"), AGGREGATE_CASES)
def test_region_on_school_step_aggregates_its_schools(step: Step, schools: int, done: int,
                                                      share: float, need: int, ok: bool) -> None:
    """A region's step 4-9 holds when region_share of its schools (at least one) has done it."""
    facts = region(schools=schools, schools_done={step.slug: done})
    verdict = evaluate(step, facts, policy(region_share=share))
    assert verdict.ok is ok
    (reason,) = verdict.reasons
    assert reason.code == ("schools_met" if ok else "schools_short")
    assert reason.en == f"{step.slug}: {done} of {schools} schools done, {need} needed"
    assert reason.ru == f"{step.title}: выполнили {done} из {schools} школ, нужно {need}"
    assert reason.figures == {"done": done, "schools": schools, "needed": need}


@pytest.mark.parametrize("step", SCHOOL_STEPS, ids=[s.slug for s in SCHOOL_STEPS])
def test_aggregate_counts_only_its_own_step(step: Step) -> None:
    """Schools done on other steps do not count towards this one."""
    others = {s.slug: 3 for s in SCHOOL_STEPS if s is not step}
    verdict = evaluate(step, region(schools=3, schools_done=others))
    assert not verdict.ok and verdict.reasons[0].figures["done"] == 0


# -- evaluate: a region's own evidence -----------------------------------------------------

@pytest.mark.parametrize("facts", [region(), region(schools=0, municipalities=3,
                                                    municipalities_without_coordinator=("a",))])
def test_coordinator_step_has_no_evidence(facts: RegionFacts) -> None:
    """Step 1 is manual: its evidence always holds (support confirms the connection)."""
    verdict = evaluate(step_by_slug("coordinator"), facts)
    assert verdict.ok and verdict.reasons == ()


@pytest.mark.parametrize(("schools", "ok"), [(0, False), (1, True), (250, True)])
def test_registry_needs_at_least_one_school(schools: int, ok: bool) -> None:
    """Step 2 holds once the region has a school in the registry, and says so when it has none."""
    clean = RegistryCheck(1, "2026-09-01T07:00:00+00:00", {})
    verdict = evaluate(step_by_slug("registry"), region(schools=schools, reconciliation=clean))
    assert verdict.ok is ok
    if not ok:
        assert verdict.message == "registry: region 07 has no schools in the registry"
        assert verdict.message_ru == (
            "Внесение данных о школах в систему и сверка реестра ОО: в реестре региона 07 нет "
            "ни одной школы")
        assert verdict.reasons[0].figures == {"schools": 0}


MUNI = "Деление школ по муниципалитетам и назначение муниципальных координаторов"


def test_municipal_split_holds_when_every_municipality_has_a_coordinator() -> None:
    """Step 3 holds when no municipality lacks a coordinator and no school is unlinked."""
    facts = region(schools=10, municipalities=3)
    assert evaluate(step_by_slug("municipalities"), facts).ok


def test_municipal_split_names_municipalities_without_coordinator() -> None:
    """Step 3 names the municipalities without a coordinator, with the figures."""
    facts = region(schools=10, municipalities=3,
                   municipalities_without_coordinator=("0701", "0702"))
    verdict = evaluate(step_by_slug("municipalities"), facts)
    assert not verdict.ok
    assert verdict.message == ("municipalities: 2 of 3 municipalities have no municipal "
                               "coordinator (0701, 0702)")
    assert verdict.message_ru == f"{MUNI}: у 2 из 3 муниципалитетов нет муниципального " \
                                 "координатора (0701, 0702)"
    assert verdict.reasons[0].figures == {"without_coordinator": 2, "municipalities": 3}


def test_municipal_split_shows_at_most_five_municipalities() -> None:
    """A long list of municipalities without a coordinator shows five and an ellipsis."""
    missing = tuple(f"M{i}" for i in range(1, 8))
    facts = region(schools=10, municipalities=9, municipalities_without_coordinator=missing)
    verdict = evaluate(step_by_slug("municipalities"), facts)
    assert verdict.message == ("municipalities: 7 of 9 municipalities have no municipal "
                               "coordinator (M1, M2, M3, M4, M5 ...)")


def test_municipal_split_names_unlinked_schools() -> None:
    """Step 3 is refused while schools are not linked to a municipality, with the figures."""
    facts = region(schools=10, municipalities=2, schools_without_municipality=4)
    verdict = evaluate(step_by_slug("municipalities"), facts)
    assert not verdict.ok
    assert verdict.message == "municipalities: 4 of 10 schools are not linked to a municipality"
    assert verdict.message_ru == f"{MUNI}: 4 из 10 школ не привязаны к муниципалитету"
    assert verdict.reasons[0].figures == {"unlinked": 4, "schools": 10}


def test_municipal_split_reports_both_problems_at_once() -> None:
    """Missing coordinators and unlinked schools are both named, in that order."""
    facts = region(schools=5, municipalities=1, municipalities_without_coordinator=("0701",),
                   schools_without_municipality=1)
    verdict = evaluate(step_by_slug("municipalities"), facts)
    assert [r.code for r in verdict.reasons] == ["municipal_coordinator_missing",
                                                 "school_unlinked"]
    assert verdict.message == ("municipalities: 1 of 1 municipalities have no municipal "
                               "coordinator (0701); municipalities: 1 of 5 schools are not "
                               "linked to a municipality")


# -- evaluate: a school's own evidence -----------------------------------------------------

@pytest.mark.parametrize("has_admin", [False, True])
def test_admins_step_needs_a_school_admin(has_admin: bool) -> None:
    """Step 4 holds once the school has a school_admin, and names the school otherwise."""
    verdict = evaluate(step_by_slug("admins"), school(has_admin=has_admin))
    assert verdict.ok is has_admin
    if not has_admin:
        assert verdict.message == "admins: school S1 has no school_admin"
        assert verdict.message_ru == "Назначение администраторов ОО: у школы S1 не назначен " \
                                     "администратор ОО"


WORDS = {
    "teachers": ("teachers", "loaded", "педагоги", "загружено"),
    "classes": ("classes", "loaded", "классы", "загружено"),
    "parents": ("parents", "registered", "законные представители", "зарегистрировано"),
    "students": ("students", "registered", "учащиеся", "зарегистрировано"),
}
EVIDENCE_CASES = [
    # loaded, expected, threshold, needed, ok
    (12, 40, 0.95, 38, False), (38, 40, 0.95, 38, True), (37, 40, 0.95, 38, False),
    (40, 40, 1.0, 40, True), (39, 40, 1.0, 40, False), (41, 40, 1.0, 40, True),
    (9, 10, 0.95, 10, False), (10, 100, 0.1, 10, True), (0, 0, 1.0, 0, True),
    (0, 5, 0.0, 0, True), (1, 3, 1 / 3, 1, True), (0, 3, 1 / 3, 1, False),
]


@pytest.mark.parametrize("slug", METRIC_STEPS)
@pytest.mark.parametrize(("have", "expected", "threshold", "need", "ok"), EVIDENCE_CASES)
def test_metric_step_needs_threshold_of_expected(slug: str, have: int, expected: int,
                                                 threshold: float, need: int, ok: bool) -> None:
    """Steps 5-8 hold when the count observed reaches threshold × expected, rounded up."""
    facts = school(loaded={slug: have}, expected={slug: expected})
    verdict = evaluate(step_by_slug(slug), facts, policy(threshold=threshold))
    assert verdict.ok is ok
    noun, verb, noun_ru, verb_ru = WORDS[slug]
    (reason,) = verdict.reasons
    assert reason.code == ("evidence_met" if ok else "evidence_short")
    assert reason.en == f"{noun}: {have} of {expected} {verb}, {need} needed"
    assert reason.ru == f"{noun_ru}: {verb_ru} {have} из {expected}, нужно {need}"
    assert reason.figures == {"loaded": have, "expected": expected, "needed": need}


def test_the_contract_example_message() -> None:
    """With threshold 0.95, 12 of 40 teachers reads exactly as the contract shows it."""
    facts = school(loaded={"teachers": 12}, expected={"teachers": 40})
    verdict = evaluate(step_by_slug("teachers"), facts, policy(threshold=0.95))
    assert not verdict.ok
    assert verdict.message == "teachers: 12 of 40 loaded, 38 needed"
    assert verdict.message_ru == "педагоги: загружено 12 из 40, нужно 38"


@pytest.mark.parametrize("slug", METRIC_STEPS)
def test_metric_step_uses_the_step_default_policy(slug: str) -> None:
    """Without a policy the step's own default threshold applies; a missing count is 0."""
    facts = school(expected={slug: 20})
    verdict = evaluate(step_by_slug(slug), facts)
    assert not verdict.ok
    need = {"teachers": 20, "classes": 20, "parents": 12, "students": 15}[slug]
    assert verdict.reasons[0].figures == {"loaded": 0, "expected": 20, "needed": need}


@pytest.mark.parametrize("slug", METRIC_STEPS)
def test_metric_step_reads_only_its_own_metric(slug: str) -> None:
    """Other metrics being complete does not complete this step."""
    others = {m: 50 for m in METRIC_STEPS if m != slug}
    facts = school(loaded=others, expected={m: 50 for m in METRIC_STEPS})
    assert not evaluate(step_by_slug(slug), facts).ok


@pytest.mark.parametrize("facts", [school(), school(has_admin=True, loaded={"teachers": 1})])
def test_adoption_step_has_no_evidence(facts: SchoolFacts) -> None:
    """Step 9 is manual: its evidence always holds (the school admin says it is done)."""
    verdict = evaluate(step_by_slug("adoption"), facts)
    assert verdict.ok and verdict.reasons == ()


# -- skip_verdict --------------------------------------------------------------------------

NOT_OPTIONAL = [s for s in STEPS if s.slug != "municipalities"]


@pytest.mark.parametrize("facts", [region(), school(region_steps={s: "skipped" for s in SLUGS})],
                         ids=["region", "school"])
@pytest.mark.parametrize("step", NOT_OPTIONAL, ids=[s.slug for s in NOT_OPTIONAL])
def test_a_required_step_cannot_be_skipped(step: Step, facts: RegionFacts | SchoolFacts) -> None:
    """Every step but the municipal split is refused a skip, in English and in Russian."""
    verdict = skip_verdict(step, facts)
    assert not verdict.ok
    assert verdict.reasons[0].code == "not_optional"
    assert verdict.message == f"{step.slug}: this step is not optional and cannot be skipped"
    assert verdict.message_ru == f"{step.title}: шаг обязателен, пропустить его нельзя"


def test_a_region_may_skip_the_municipal_split() -> None:
    """A region may skip step 3 (its reason is asked for by the service)."""
    assert skip_verdict(step_by_slug("municipalities"), region()).ok


@pytest.mark.parametrize(("region_status", "ok"), [
    ("skipped", True), ("done", False), ("current", False), ("pending", False), (None, False)])
def test_a_school_skips_the_split_only_with_its_region(region_status: str | None,
                                                      ok: bool) -> None:
    """A school's step 3 is skipped only when its region skipped it."""
    facts = school(region_steps={} if region_status is None
                   else {"municipalities": region_status})
    verdict = skip_verdict(step_by_slug("municipalities"), facts)
    assert verdict.ok is ok
    if not ok:
        assert verdict.message == "municipalities: a school skips this step only with its region"
        assert verdict.message_ru == f"{MUNI}: школа пропускает этот шаг только вместе с регионом"


# -- Verdict -------------------------------------------------------------------------------

def test_verdicts_combine_keeping_only_the_failures() -> None:
    """`a & b` is ok only when both are; a refusal keeps only the failing reasons."""
    met = Verdict.allow(Reason("a", "a met", "а"))
    short = Verdict.deny(Reason("b", "b short", "б"))
    assert bool(met & met) and (met & met).message == "a met; a met"
    combined = met & short
    assert not combined and combined.message == "b short" and combined.message_ru == "б"
    assert Reason("x", "en", "ru", {"n": 1}).as_dict() == {
        "code": "x", "message": "en", "message_ru": "ru", "figures": {"n": 1}}


def test_holding_names_unmet_conditions_or_the_owners() -> None:
    """`holding` gives the guard's unmet figures, or, once they hold, who must mark the step."""
    from states import SchoolFacts, holding, step_by_slug

    teachers = step_by_slug("teachers")
    short = SchoolFacts("S1", "07", loaded={"teachers": 3}, expected={"teachers": 10})
    assert [r.en for r in holding(teachers, short)] == ["teachers: 3 of 10 loaded, 10 needed"]
    adoption = step_by_slug("adoption")
    [waits] = holding(adoption, SchoolFacts("S1", "07"))
    assert (waits.code, waits.en) == ("awaits_owner", "adoption: waits for school_admin to "
                                                       "advance it")
    assert waits.ru == ("Освоение функционала сайта и работа с ним: ждёт отметки о выполнении "
                        "(администратор ОО)")

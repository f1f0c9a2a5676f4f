"""Guards as pure functions: (step, facts, policy) -> Verdict, with the figures behind it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from states.graph import FINISHED
from states.registry import RegistryCheck, registry_verdict
from states.steps import STEPS, Step, StepPolicy
from states.verdict import Reason, Verdict

METRIC_WORDS = {
    # metric: (English noun, Russian noun, Russian participle)
    "teachers": ("teachers", "педагоги", "загружено"),
    "classes": ("classes", "классы", "загружено"),
    "parents": ("parents", "законные представители", "зарегистрировано"),
    "students": ("students", "учащиеся", "зарегистрировано"),
}


@dataclass(frozen=True)
class RegionFacts:
    """What the guards of a region's machine need to know."""

    code: str
    schools: int = 0
    municipalities: int = 0
    municipalities_without_coordinator: tuple[str, ...] = ()
    schools_without_municipality: int = 0
    schools_done: Mapping[str, int] = field(default_factory=dict)  # slug -> schools done/skipped
    reconciliation: RegistryCheck | None = None  # step 2: the last registry reconciliation


@dataclass(frozen=True)
class SchoolFacts:
    """What the guards of a school's machine need to know."""

    code: str
    region: str
    region_steps: Mapping[str, str] = field(default_factory=dict)  # slug -> region's step status
    has_admin: bool = False
    loaded: Mapping[str, int] = field(default_factory=dict)  # metric -> observed on the platform
    expected: Mapping[str, int] = field(default_factory=dict)  # metric -> expected


Facts = RegionFacts | SchoolFacts


def needed(expected: int, threshold: float) -> int:
    """How many of `expected` must be there for `threshold` to hold (rounded up)."""
    return max(0, math.ceil(expected * threshold - 1e-9))


def order_verdict(step: Step, statuses: Mapping[str, str],
                  graph: Mapping[str, tuple[str, ...]] | None = None) -> Verdict:
    """A step may complete only when it is open: each step it comes after done or skipped."""
    status = statuses.get(step.slug)
    if status in FINISHED:
        return Verdict.deny(Reason(
            "already_finished", f"{step.slug}: already {status}",
            f"{step.title}: шаг уже {'выполнен' if status == 'done' else 'пропущен'}",
            {"status": status}))
    after = (graph or {}).get(step.slug, step.after)
    waiting = [s for s in after if statuses.get(s) not in FINISHED]
    if waiting:
        names_en = ", ".join(waiting)
        names_ru = ", ".join(f"«{_title(s)}»" for s in waiting)
        return Verdict.deny(Reason(
            "out_of_order", f"{step.slug}: step {names_en} must be done first",
            f"{step.title}: сначала нужно выполнить "
            f"{'шаг' if len(waiting) == 1 else 'шаги'} {names_ru}",
            {"waiting_for": waiting}))
    return Verdict.allow()


def evaluate(step: Step, facts: Facts, policy: StepPolicy | None = None) -> Verdict:
    """Does the evidence of `step` hold for this machine? Order is checked by `order_verdict`."""
    policy = policy or step.policy
    if isinstance(facts, SchoolFacts):
        if step.level == "region":
            return _mirror(step, facts)
        return _school_evidence(step, facts, policy)
    if step.level == "school":
        return _aggregate(step, facts, policy)
    return _region_evidence(step, facts)


def holding(step: Step, facts: Facts, policy: StepPolicy | None = None) -> tuple[Reason, ...]:
    """Why a machine is still on `step`: the guard's unmet conditions, or, when they hold,
    that the step waits for the people who own it to mark it done."""
    verdict = evaluate(step, facts, policy)
    if not verdict.ok:
        return verdict.reasons
    return (Reason("awaits_owner", f"{step.slug}: waits for {', '.join(step.owners)} to "
                   "advance it", f"{step.title}: ждёт отметки о выполнении ({step.owner_text})"),)


def skip_verdict(step: Step, facts: Facts | None) -> Verdict:
    """Only an optional step may be skipped; a school skips only what its region skipped."""
    if not step.optional:
        return Verdict.deny(Reason(
            "not_optional", f"{step.slug}: this step is not optional and cannot be skipped",
            f"{step.title}: шаг обязателен, пропустить его нельзя"))
    if isinstance(facts, SchoolFacts) and facts.region_steps.get(step.slug) != "skipped":
        return Verdict.deny(Reason(
            "region_level", f"{step.slug}: a school skips this step only with its region",
            f"{step.title}: школа пропускает этот шаг только вместе с регионом"))
    return Verdict.allow()


def _title(slug: str) -> str:
    return next(s.title for s in STEPS if s.slug == slug)


def _mirror(step: Step, facts: SchoolFacts) -> Verdict:
    status = facts.region_steps.get(step.slug, "pending")
    if status in FINISHED:
        return Verdict.allow()
    return Verdict.deny(Reason(
        "region_step", f"{step.slug}: a region step; region {facts.region} has not completed it",
        f"{step.title}: шаг региона; регион {facts.region} его ещё не выполнил",
        {"region": facts.region, "region_status": status}))


def _region_evidence(step: Step, facts: RegionFacts) -> Verdict:
    if step.evidence == "schools" and facts.schools < 1:
        return Verdict.deny(Reason(
            "no_schools", f"{step.slug}: region {facts.code} has no schools in the registry",
            f"{step.title}: в реестре региона {facts.code} нет ни одной школы",
            {"schools": 0}))
    if step.evidence == "schools":
        return registry_verdict(step, facts.reconciliation)
    if step.evidence == "municipal_split":
        reasons = []
        missing = facts.municipalities_without_coordinator
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            reasons.append(Reason(
                "municipal_coordinator_missing",
                f"{step.slug}: {len(missing)} of {facts.municipalities} municipalities have no "
                f"municipal coordinator ({shown})",
                f"{step.title}: у {len(missing)} из {facts.municipalities} муниципалитетов нет "
                f"муниципального координатора ({shown})",
                {"without_coordinator": len(missing), "municipalities": facts.municipalities}))
        if facts.schools_without_municipality:
            n = facts.schools_without_municipality
            reasons.append(Reason(
                "school_unlinked",
                f"{step.slug}: {n} of {facts.schools} schools are not linked to a municipality",
                f"{step.title}: {n} из {facts.schools} школ не привязаны к муниципалитету",
                {"unlinked": n, "schools": facts.schools}))
        if reasons:
            return Verdict.deny(*reasons)
    return Verdict.allow()


def _school_evidence(step: Step, facts: SchoolFacts, policy: StepPolicy) -> Verdict:
    if step.evidence == "admin" and not facts.has_admin:
        return Verdict.deny(Reason(
            "no_admin", f"{step.slug}: school {facts.code} has no school_admin",
            f"{step.title}: у школы {facts.code} не назначен администратор ОО"))
    if step.evidence in METRIC_WORDS:
        metric = step.evidence
        have = facts.loaded.get(metric, 0)
        expected = facts.expected.get(metric, 0)
        need = needed(expected, policy.threshold)
        figures = {"loaded": have, "expected": expected, "needed": need}
        en, ru, participle = METRIC_WORDS[metric]
        verb = "loaded" if participle == "загружено" else "registered"
        text_en = f"{en}: {have} of {expected} {verb}, {need} needed"
        text_ru = f"{ru}: {participle} {have} из {expected}, нужно {need}"
        if have < need:
            return Verdict.deny(Reason("evidence_short", text_en, text_ru, figures))
        return Verdict.allow(Reason("evidence_met", text_en, text_ru, figures))
    return Verdict.allow()


def _aggregate(step: Step, facts: RegionFacts, policy: StepPolicy) -> Verdict:
    done = facts.schools_done.get(step.slug, 0)
    need = max(1, needed(facts.schools, policy.region_share))
    figures = {"done": done, "schools": facts.schools, "needed": need}
    text_en = f"{step.slug}: {done} of {facts.schools} schools done, {need} needed"
    text_ru = f"{step.title}: выполнили {done} из {facts.schools} школ, нужно {need}"
    if done < need:
        return Verdict.deny(Reason("schools_short", text_en, text_ru, figures))
    return Verdict.allow(Reason("schools_met", text_en, text_ru, figures))

"""The nine steps of the rollout instruction as data; a step is changed here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Completion(StrEnum):
    """How a step completes at its own level."""

    MANUAL = "manual"  # somebody with the right role says it is done
    EVIDENCE = "evidence"  # completes by itself when the evidence holds


LEVELS = ("region", "school")
DONE = "done"


@dataclass(frozen=True)
class StepPolicy:
    """The tunable part of a step (config.yaml `steps.<slug>`)."""

    sla_days: int
    escalate_after_days: int
    threshold: float = 1.0  # evidence steps: share of the expected count that must be loaded
    region_share: float = 1.0  # school steps: share of a region's schools that completes the region
    after: tuple[str, ...] = ()  # the steps this one comes after (the prerequisite graph)


@dataclass(frozen=True)
class Step:
    """One step of the instruction."""

    number: int
    slug: str
    title: str
    # "region" or "school": where the step is done; the other level mirrors or aggregates it
    level: str
    owners: tuple[str, ...]  # roles that complete it (coordinators above a school may act too)
    completion: Completion
    # what the evidence counts: "schools", "municipal_split", "admin", or a metric
    evidence: str | None
    optional: bool
    policy: StepPolicy
    todo: str  # what to do next, in the words of the instruction (Russian)
    owner_text: str  # who does it, in Russian

    @property
    def after(self) -> tuple[str, ...]:
        """The steps this one comes after by default (config may set another graph)."""
        return self.policy.after

    @property
    def index(self) -> int:
        return self.number - 1


# The SLAs (business days), thresholds, region shares and the graph below are this project's
# defaults, not the instruction's: it gives the order "approximately" and no deadlines at all.
STEPS: tuple[Step, ...] = (
    Step(
        1, "coordinator", "Подключение регионального координатора", "region",
        ("support",), Completion.MANUAL, None, False, StepPolicy(5, 10),
        "Направить письмо (заявку) о подключении регионального координатора оператору; "
        "СТП подтверждает подключение.",
        "регион и СТП",
    ),
    Step(
        2, "registry", "Внесение данных о школах в систему и сверка реестра ОО", "region",
        ("regional_coordinator",), Completion.MANUAL, "schools", False,
        StepPolicy(10, 15, after=("coordinator",)),
        "Запросить у СТП внесение данных о школах и сверить реестр образовательных организаций "
        "(добавление, удаление ОО и филиалов, привязка к муниципалитетам).",
        "региональный координатор",
    ),
    Step(
        3, "municipalities",
        "Деление школ по муниципалитетам и назначение муниципальных координаторов", "region",
        ("regional_coordinator",), Completion.MANUAL, "municipal_split", True,
        StepPolicy(10, 15, after=("registry",)),
        "Разделить школы по муниципалитетам (при необходимости) и назначить муниципальных "
        "координаторов.",
        "региональный координатор",
    ),
    Step(
        4, "admins", "Назначение администраторов ОО", "school",
        ("regional_coordinator", "municipal_coordinator"), Completion.EVIDENCE, "admin", False,
        StepPolicy(5, 10, after=("municipalities",)),
        "Назначить администратора ОО (назначает региональный или муниципальный координатор).",
        "региональный или муниципальный координатор",
    ),
    Step(
        5, "teachers", "Внесение или загрузка данных о педагогах", "school",
        ("school_admin",), Completion.EVIDENCE, "teachers", False,
        StepPolicy(10, 15, after=("admins",)),
        "Внести или загрузить данные о педагогах по шаблону файла импорта педагогов.",
        "администратор ОО",
    ),
    Step(
        6, "classes", "Внесение данных о классах (группах учащихся)", "school",
        ("school_admin",), Completion.EVIDENCE, "classes", False,
        StepPolicy(10, 15, after=("admins",)),
        "Внести данные о классах (группах учащихся) по шаблону файла импорта групп обучающихся.",
        "администратор ОО",
    ),
    Step(
        7, "parents", "Регистрация законных представителей", "school",
        ("school_admin",), Completion.EVIDENCE, "parents", False,
        # a default of the project: families register on their own through Госуслуги and
        # never all of them; three in five is what an active school reaches in a term
        StepPolicy(15, 25, threshold=0.6, after=("classes",)),
        "Родители (законные представители) регистрируются самостоятельно на портале "
        "ФГИС «Моя школа»: разослать им инструкцию по регистрации.",
        "законные представители (организует администратор ОО)",
    ),
    Step(
        8, "students", "Добавление учащихся", "school",
        ("school_admin",), Completion.EVIDENCE, "students", False,
        # a default of the project: pupils from 14 register themselves, younger ones by a
        # parent, each after the ЕСИА checks; three in four is reachable, all is not
        StepPolicy(15, 25, threshold=0.75, after=("classes",)),
        "Ученики старше 14 лет регистрируются самостоятельно, младше 14 лет их регистрируют "
        "родители: разослать инструкцию по регистрации обучающихся.",
        "учащиеся и родители (организует администратор ОО)",
    ),
    Step(
        9, "adoption", "Освоение функционала сайта и работа с ним", "school",
        ("school_admin",), Completion.MANUAL, None, False,
        StepPolicy(20, 30, after=("teachers", "parents", "students")),
        "Освоить функционал сайта ФГИС «Моя школа» и начать работу с ним.",
        "администратор ОО",
    ),
)

STATES: tuple[str, ...] = tuple(s.slug for s in STEPS) + (DONE,)
_BY_SLUG = {s.slug: s for s in STEPS}


def step_by_slug(slug: str) -> Step:
    """The step called `slug`; KeyError names the known slugs."""
    try:
        return _BY_SLUG[slug]
    except KeyError:
        raise KeyError(f"unknown step {slug!r}; steps are {', '.join(_BY_SLUG)}") from None


def default_policies() -> dict[str, StepPolicy]:
    return {s.slug: s.policy for s in STEPS}

"""Roles and scopes: who may act on which machine, appoint whom, and read what."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from states.steps import Step
from states.verdict import Reason, Verdict


class Role(StrEnum):
    SUPPORT = "support"
    PROGRAM_MANAGER = "program_manager"
    AUDITOR = "auditor"
    REGIONAL_COORDINATOR = "regional_coordinator"
    MUNICIPAL_COORDINATOR = "municipal_coordinator"
    SCHOOL_ADMIN = "school_admin"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)
GLOBAL_ROLES = frozenset({Role.SUPPORT, Role.PROGRAM_MANAGER, Role.AUDITOR})
# The kind of scope each scoped role is granted on.
SCOPE_KIND = {
    Role.REGIONAL_COORDINATOR: "region",
    Role.MUNICIPAL_COORDINATOR: "municipality",
    Role.SCHOOL_ADMIN: "school",
}
ROLE_TITLES = {
    Role.SUPPORT: "СТП",
    Role.PROGRAM_MANAGER: "руководитель программы внедрения",
    Role.AUDITOR: "аудитор",
    Role.REGIONAL_COORDINATOR: "региональный координатор",
    Role.MUNICIPAL_COORDINATOR: "муниципальный координатор",
    Role.SCHOOL_ADMIN: "администратор ОО",
}
# the titles in the genitive case, which for these animate titles is also the accusative:
# «в роли регионального координатора», «назначить администратора ОО»
ROLE_TITLES_GEN = {
    Role.SUPPORT: "СТП",
    Role.PROGRAM_MANAGER: "руководителя программы внедрения",
    Role.AUDITOR: "аудитора",
    Role.REGIONAL_COORDINATOR: "регионального координатора",
    Role.MUNICIPAL_COORDINATOR: "муниципального координатора",
    Role.SCHOOL_ADMIN: "администратора ОО",
}
KIND_TITLES = {"region": "регион", "municipality": "муниципалитет", "school": "школа"}
COORDINATORS = frozenset({Role.REGIONAL_COORDINATOR, Role.MUNICIPAL_COORDINATOR})


@dataclass(frozen=True)
class Grant:
    """A role a person holds, with its scope (None for the global roles)."""

    role: str
    scope: str | None = None


@dataclass(frozen=True)
class Target:
    """What is acted on: a region, a municipality or a school, with the codes above it."""

    kind: str  # "region" | "municipality" | "school"
    code: str
    region: str
    municipality: str | None = None

    def covered_by(self, grant: Grant) -> bool:
        """Is this target inside the grant's scope?"""
        if grant.role in GLOBAL_ROLES:
            return True
        kind = SCOPE_KIND.get(Role(grant.role))
        if kind == "region":
            return self.region == grant.scope
        if kind == "municipality":
            return self.municipality == grant.scope or (
                self.kind == "municipality" and self.code == grant.scope)
        return self.kind == "school" and self.code == grant.scope


def _granted(role: Role) -> Verdict:
    """Allowed, naming the role the person acts in (the history records it)."""
    return Verdict.allow(Reason("granted", f"acting as {role.value}",
                                f"в роли {ROLE_TITLES_GEN[role]}", {"role": role.value}))


def acting_role(verdict: Verdict) -> str | None:
    return next((r.figures["role"] for r in verdict.reasons if r.code == "granted"), None)


def _denied(actor: str, what: str, ru: str) -> Verdict:
    return Verdict.deny(Reason("permission", f"{actor} may not {what}", ru))


def may_act(actor: str, grants: list[Grant], target: Target, step: Step) -> Verdict:
    """May a person complete, skip or reopen `step` on the machine `target`?

    The owners of a step act on it within their scope; a coordinator also acts on every
    school-level step of the schools below it. program_manager and auditor only read.
    """
    for grant in grants:
        if not target.covered_by(grant):
            continue
        role = Role(grant.role)
        if role in (Role.PROGRAM_MANAGER, Role.AUDITOR):
            continue
        if target.kind == "school":
            if step.level == "school" and (role.value in step.owners or role in COORDINATORS):
                return _granted(role)
        elif target.kind == "region":
            if step.level == "region" and role.value in step.owners:
                return _granted(role)
            if step.level == "school" and role is Role.REGIONAL_COORDINATOR:
                return _granted(role)
    return _denied(actor, f"act on step {step.slug} of {target.kind} {target.code}",
                   f"{actor}: нет прав на шаг «{step.title}» "
                   f"({KIND_TITLES.get(target.kind, target.kind)} {target.code})")


def may_assign(actor: str, grants: list[Grant], role: str, target: Target) -> Verdict:
    """May a person appoint someone as `role` on `target` (a region, municipality or school)?

    support connects regional coordinators; a regional coordinator appoints municipal
    coordinators and school admins of its region; a municipal coordinator appoints the school
    admins of its municipality. Global roles are granted by the operator's `import people`.
    """
    wanted = Role(role)
    if wanted in GLOBAL_ROLES:
        return _denied(actor, f"assign the global role {role} (the operator imports global roles)",
                       f"{actor}: глобальные роли назначает оператор через импорт людей")
    if SCOPE_KIND[wanted] != target.kind:
        kind_ru = {"region": "регион", "municipality": "муниципалитет", "school": "школу"}
        return _denied(actor, f"assign {role} on a {target.kind}",
                       f"{actor}: {ROLE_TITLES[wanted]} назначается не на "
                       f"{kind_ru.get(target.kind, target.kind)}")
    appointers = {
        Role.REGIONAL_COORDINATOR: {Role.SUPPORT},
        Role.MUNICIPAL_COORDINATOR: {Role.REGIONAL_COORDINATOR},
        Role.SCHOOL_ADMIN: {Role.REGIONAL_COORDINATOR, Role.MUNICIPAL_COORDINATOR},
    }[wanted]
    for grant in grants:
        if Role(grant.role) in appointers and target.covered_by(grant):
            return _granted(Role(grant.role))
    return _denied(actor, f"assign {role} on {target.kind} {target.code}",
                   f"{actor}: нет прав назначить {ROLE_TITLES_GEN[wanted]} ({target.code})")


def may_send_letter(actor: str, grants: list[Grant], region: Target) -> Verdict:
    """May a person queue a region's letter? Its regional coordinator, or support."""
    for grant in grants:
        role = Role(grant.role)
        if role is Role.SUPPORT or (role is Role.REGIONAL_COORDINATOR
                                    and region.covered_by(grant)):
            return _granted(role)
    return _denied(actor, f"send letters for region {region.code} (only its "
                   "regional_coordinator or support may)",
                   f"{actor}: письма региона {region.code} отправляет его региональный "
                   "координатор или СТП")


# Who uploads which import file on the web; the operator imports any kind from the command line.
UPLOADERS: dict[str, frozenset[Role]] = {
    "people": COORDINATORS,
    "metrics": COORDINATORS,
    "schools": frozenset({Role.SUPPORT}),
}


def upload_kinds(grants: list[Grant]) -> list[str]:
    """The import kinds a person may upload on the web, in UPLOADERS' order."""
    held = {Role(g.role) for g in grants}
    return [kind for kind, roles in UPLOADERS.items() if held & roles]


def may_load_metrics(actor: str, grants: list[Grant], school: Target) -> Verdict:
    """May a person upload a school's counts? A coordinator whose scope covers the school."""
    for grant in grants:
        if Role(grant.role) in COORDINATORS and school.covered_by(grant):
            return _granted(Role(grant.role))
    return _denied(actor, f"load metrics of school {school.code}",
                   f"школа {school.code} вне вашей зоны ответственности")


def may_read(grants: list[Grant], target: Target) -> bool:
    """Does any of the person's grants let them see `target`?"""
    return any(target.covered_by(g) for g in grants)


def may_read_history(grants: list[Grant]) -> bool:
    """Only auditors and program managers read the history."""
    return any(g.role in (Role.AUDITOR, Role.PROGRAM_MANAGER) for g in grants)


def sees_everything(grants: list[Grant]) -> bool:
    return any(g.role in GLOBAL_ROLES for g in grants)

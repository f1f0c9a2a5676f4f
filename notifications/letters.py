"""Letters for a region (coordinator, registry) and the notice to a newly appointed person."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from notifications import outbox
from notifications.calendar import due_date, local
from notifications.errors import MissingData, UnknownLetter
from notifications.links import machine_url, step_url
from notifications.registry_request import request_rows, write_xlsx
from notifications.render import Attachment, Rendered, templates
from notifications.settings import MailSettings
from states import ROLE_TITLES, Role, StepPolicy, step_by_slug
from storage import reconciliations
from storage.models import assignments, municipalities, people, regions, schools
from storage.text import Phrase

REGION_LETTERS = ("coordinator", "registry")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# «Вы назначены …»: the role in the instrumental case
ROLE_AS = {
    Role.REGIONAL_COORDINATOR: "региональным координатором",
    Role.MUNICIPAL_COORDINATOR: "муниципальным координатором",
    Role.SCHOOL_ADMIN: "администратором образовательной организации",
}
# What a newly appointed person does first (several steps may open at once)
FIRST_STEPS = {
    Role.REGIONAL_COORDINATOR: ("registry",),
    Role.MUNICIPAL_COORDINATOR: ("admins",),
    Role.SCHOOL_ADMIN: ("teachers", "classes"),
}
# The instruction's materials per step: (what it is, which MailSettings address)
MATERIALS = {
    "coordinator": ("шаблон письма о подключении регионального координатора", "templates_url"),
    "registry": ("шаблон для добавления и удаления ОО и филиалов, привязки ОО к "
                 "муниципалитетам", "templates_url"),
    "municipalities": ("шаблоны файлов для деления школ по муниципалитетам", "templates_url"),
    "teachers": ("шаблон файла импорта педагогов", "templates_url"),
    "classes": ("шаблон файла для импорта групп обучающихся", "templates_url"),
    "parents": ("инструкция по регистрации законных представителей", "registration_url"),
    "students": ("инструкции по регистрации обучающихся", "registration_url"),
}
PLACEHOLDER_DOMAINS = ("example.org", "example.com", "example.net")
PLACEHOLDER_TLDS = (".example", ".invalid", ".test", ".localhost")


@dataclass(frozen=True)
class Letter:
    """A rendered letter and who gets it: To, a copy, and where replies go."""

    rendered: Rendered
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]] = field(default_factory=list)
    reply_to: list[tuple[str, str]] = field(default_factory=list)


def links(mail: MailSettings) -> dict[str, Any]:
    """Addresses templates link to: pages of the web app and the instruction's materials."""
    base = mail.base_url.rstrip("/")
    return {"base_url": base,
            "materials": {slug: {"what": what, "url": getattr(mail, key)}
                          for slug, (what, key) in MATERIALS.items()}}


def page(mail: MailSettings, kind: str, code: str) -> str:
    return machine_url(mail.base_url, kind, code)


def first_step_url(mail: MailSettings, scope_kind: str, scope_code: str, region_code: str,
                   slug: str) -> str:
    """Where a newly appointed person does a first step: the step's page on the region or the
    school; a municipal coordinator appoints school admins from the municipality's page."""
    if step_by_slug(slug).level == "region":
        return step_url(mail.base_url, "region", region_code, slug)
    if scope_kind == "school":
        return step_url(mail.base_url, "school", scope_code, slug)
    return machine_url(mail.base_url, scope_kind, scope_code)


def is_placeholder(email: str) -> bool:
    domain = email.rpartition("@")[2].strip().lower()
    return domain in PLACEHOLDER_DOMAINS or domain.endswith(
        tuple("." + d for d in PLACEHOLDER_DOMAINS) + PLACEHOLDER_TLDS)


def placeholder_warnings(mail: MailSettings, name: str | None = None) -> list[Phrase]:
    """Warnings for addresses still left as in the example configuration."""
    keys = {"coordinator": ("operator.email",), "registry": ("support.email",)}.get(
        name or "", ("operator.email", "support.email"))
    values = {"operator.email": mail.operator_email, "support.email": mail.support_email}
    return [Phrase("Warning: {key} = {address} is the example's placeholder address; the "
                   "letter will not reach anyone. Put a real address in config.yaml ({key}).",
                   key=key, address=values[key])
            for key in keys if is_placeholder(values[key])]


def _region(conn: Connection, code: str) -> dict[str, Any]:
    r = conn.execute(select(regions).where(regions.c.code == code)).first()
    if r is None:
        raise MissingData(Phrase("unknown region code {code}", code=repr(code)))
    return dict(r._mapping)


_PERSON = (people.c.email, people.c.name, people.c.position, people.c.organisation,
           people.c.phone)


def person(conn: Connection, email: str) -> dict[str, Any] | None:
    """A person with the details letters use (position, organisation, phone may be empty)."""
    r = conn.execute(select(*_PERSON).where(people.c.email == email.strip().lower())).first()
    return dict(r._mapping) if r else None


def _coordinator(conn: Connection, region: str) -> dict[str, Any]:
    q = (select(*_PERSON).join(assignments, assignments.c.email == people.c.email)
         .where(assignments.c.role == "regional_coordinator", assignments.c.scope == region)
         .order_by(assignments.c.id))
    found = conn.execute(q).first()
    if found is None:
        raise MissingData(Phrase(
            "region {region} has no regional coordinator yet: import one (import people: role "
            "regional_coordinator, scope the region's code) or appoint one (assign)",
            region=region))
    return dict(found._mapping)


def _pair(p: dict[str, Any]) -> tuple[str, str]:
    return (p["name"], p["email"])


def render_region_letter(conn: Connection, name: str, region_code: str, mail: MailSettings
                         ) -> Letter:
    """Render `coordinator` (to the operator) or `registry` (to support) for a region.

    Both go out in the regional coordinator's name: a copy to them, replies to them.
    """
    if name not in REGION_LETTERS:
        raise UnknownLetter(name, REGION_LETTERS)
    region = _region(conn, region_code)
    coordinator = _coordinator(conn, region_code)
    t = templates(mail.templates_dir)
    ctx: dict[str, Any] = {"region": region, "coordinator": coordinator, "links": links(mail),
                           "page": page(mail, "region", region_code)}
    copy = {"cc": [_pair(coordinator)], "reply_to": [_pair(coordinator)]}
    if name == "coordinator":
        return Letter(t.render(name, ctx), [("", mail.operator_email)], **copy)
    last = reconciliations.last(conn, region_code)
    if last is None:
        raise MissingData(Phrase(
            "no request to support for region {region}: the registry has not been reconciled "
            "yet (rollout reconcile --region CODE FILE with the region's list)",
            region=region_code))
    changes = request_rows(last["discrepancies"])
    if not changes:  # never a letter with an empty list
        raise MissingData(Phrase(
            "no request to support is needed for region {region}: reconciliation No. {number} "
            "found nothing to change in the registry", region=region_code, number=last["id"]))
    filename = f"registry-request-{region_code}-{last['id']}.xlsx"
    ctx.update(changes=changes, filename=filename,
               reconciliation={"id": last["id"], "at": last["at"]})
    rendered = t.render(name, ctx, (Attachment(filename, XLSX_MIME, data=write_xlsx(changes)),))
    return Letter(rendered, [("", mail.support_email)], **copy)


def queue_region_letter(conn: Connection, name: str, region_code: str, mail: MailSettings,
                        now: Any) -> str:
    """Render and queue a region's letter in the caller's transaction; its Message-ID."""
    letter = render_region_letter(conn, name, region_code, mail)
    row = outbox.message_row(letter.rendered, letter.to, sender=mail.sender, now=now,
                             region_code=region_code, cc=letter.cc, reply_to=letter.reply_to)
    return outbox.enqueue(conn, [row])[0]


def appointment_context(conn: Connection, mail: MailSettings, now: datetime, *, role: str,
                        scope_kind: str, scope_code: str, region_code: str, email: str,
                        name: str, appointed_by: str,
                        policies: Mapping[str, StepPolicy] | None = None) -> dict[str, Any]:
    """What the appointment notice says: the role, where, the first steps with due dates."""
    table = {"region": regions, "municipality": municipalities, "school": schools}[scope_kind]
    scope_name = conn.execute(select(table.c.name).where(table.c.code == scope_code)).scalar()
    region = _region(conn, region_code)
    today = local(now, region["timezone"] or "Europe/Moscow").date()
    steps = []
    for slug in FIRST_STEPS.get(Role(role), ()):
        step = step_by_slug(slug)
        sla = (policies or {}).get(slug, step.policy).sla_days
        steps.append({"number": step.number, "title": step.title, "todo": step.todo,
                      "slug": slug, "sla_days": sla, "due": due_date(today, sla),
                      "url": first_step_url(mail, scope_kind, scope_code, region_code, slug)})
    who = person(conn, appointed_by) if appointed_by else None
    found = person(conn, email)
    return {"person": found or {"name": name, "email": email},
            "role": role, "role_title": ROLE_TITLES.get(Role(role), role),
            "role_as": ROLE_AS.get(Role(role), ROLE_TITLES.get(Role(role), role)),
            "scope": {"kind": scope_kind, "code": scope_code, "name": scope_name or scope_code},
            "region": region, "appointed_by": who, "steps": steps, "links": links(mail),
            "page": page(mail, scope_kind, scope_code)}


def queue_appointment_notice(conn: Connection, mail: MailSettings, now: Any, *, role: str,
                             scope_kind: str, scope_code: str, region_code: str, email: str,
                             name: str, appointed_by: str,
                             policies: Mapping[str, StepPolicy] | None = None) -> str:
    """Tell a newly appointed coordinator or school admin, in the appointment's transaction."""
    ctx = appointment_context(conn, mail, now, role=role, scope_kind=scope_kind,
                              scope_code=scope_code, region_code=region_code, email=email,
                              name=name, appointed_by=appointed_by, policies=policies)
    rendered = templates(mail.templates_dir).render("appointed", ctx)
    who = ctx["appointed_by"]
    row = outbox.message_row(rendered, [(name, email)], sender=mail.sender, now=now,
                             region_code=region_code,
                             reply_to=[_pair(who)] if who is not None else [])
    return outbox.enqueue(conn, [row])[0]

"""Letters for a region (coordinator, registry) and the notice to a newly appointed person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from notifications import outbox
from notifications.errors import MissingData, UnknownLetter
from notifications.render import Attachment, Rendered, templates
from notifications.settings import MailSettings
from states import ROLE_TITLES, STEPS, Role
from storage import repo, spreadsheets
from storage.models import municipalities, regions, schools

REGION_LETTERS = ("coordinator", "registry")
SCHOOL_COLUMNS = ("region", "municipality", "code", "name", "inn", "kpp", "parent",
                  "teachers_expected", "classes_expected", "students_expected",
                  "parents_expected", "timezone")
SCOPE_LABELS = {"region": "регион", "municipality": "муниципалитет", "school": "ОО"}
NEXT_STEP = {
    Role.REGIONAL_COORDINATOR: STEPS[1].todo,
    Role.MUNICIPAL_COORDINATOR: STEPS[3].todo,
    Role.SCHOOL_ADMIN: STEPS[4].todo,
}


def _region(conn: Connection, code: str) -> dict[str, Any]:
    r = conn.execute(select(regions).where(regions.c.code == code)).first()
    if r is None:
        raise MissingData(f"unknown region code {code!r}")
    return dict(r._mapping)


def _coordinator(conn: Connection, region: str) -> dict[str, Any]:
    found = repo.holders(conn, "regional_coordinator", [region])
    if not found:
        raise MissingData(f"region {region} has no regional_coordinator yet; import or assign "
                          "one (people: role regional_coordinator, scope the region) first")
    return found[0]


def schools_csv(conn: Connection, region: str) -> tuple[str, list[dict[str, Any]]]:
    """The region's schools in the `schools` import format, as Russian Excel opens it
    (storage.spreadsheets: UTF-8 with BOM, `;`, formula cells neutralised)."""
    q = select(schools).where(schools.c.region_code == region).order_by(schools.c.code)
    rows = [dict(r._mapping) for r in conn.execute(q)]
    table = ([r["region_code"], r["municipality_code"] or "", r["code"], r["name"],
              r["inn"] or "", r["kpp"] or "", r["parent_code"] or "",
              r["teachers_expected"], r["classes_expected"], r["students_expected"],
              r["parents_expected"], r["timezone"] or ""] for r in rows)
    return spreadsheets.csv_text(SCHOOL_COLUMNS, table), rows


def render_region_letter(conn: Connection, name: str, region_code: str, mail: MailSettings
                         ) -> tuple[Rendered, list[tuple[str, str]]]:
    """Render `coordinator` (to the operator) or `registry` (to support) for a region."""
    if name not in REGION_LETTERS:
        raise UnknownLetter(name, REGION_LETTERS)
    region = _region(conn, region_code)
    coordinator = _coordinator(conn, region_code)
    t = templates(mail.templates_dir)
    if name == "coordinator":
        ctx: dict[str, Any] = {"region": region, "coordinator": coordinator}
        return t.render(name, ctx), [("", mail.operator_email)]
    text, rows = schools_csv(conn, region_code)
    filename = f"schools-{region_code}.csv"
    ctx = {"region": region, "coordinator": coordinator, "schools": rows, "filename": filename}
    rendered = t.render(name, ctx, (Attachment(filename, "text/csv", text),))
    return rendered, [("", mail.support_email)]


def queue_region_letter(conn: Connection, name: str, region_code: str, mail: MailSettings,
                        now: Any) -> str:
    """Render and queue a region's letter in the caller's transaction; its Message-ID."""
    rendered, to = render_region_letter(conn, name, region_code, mail)
    row = outbox.message_row(rendered, to, sender=mail.sender, now=now, region_code=region_code)
    return outbox.enqueue(conn, [row])[0]


def queue_appointment_notice(conn: Connection, mail: MailSettings, now: Any, *, role: str,
                             scope_kind: str, scope_code: str, region_code: str, email: str,
                             name: str, appointed_by: str) -> str:
    """Tell a newly appointed coordinator or school admin, in the appointment's transaction."""
    table = {"region": regions, "municipality": municipalities, "school": schools}[scope_kind]
    scope_name = conn.execute(select(table.c.name).where(table.c.code == scope_code)).scalar()
    region = _region(conn, region_code)
    who = repo.person(conn, appointed_by)
    ctx = {"person": {"name": name, "email": email},
           "role_title": ROLE_TITLES.get(Role(role), role),
           "scope": {"kind": scope_kind, "code": scope_code, "name": scope_name or scope_code,
                     "label": SCOPE_LABELS[scope_kind]},
           "region": region,
           "appointed_by": f"{who['name']} <{appointed_by}>" if who else appointed_by,
           "next_step": NEXT_STEP.get(Role(role), "")}
    rendered = templates(mail.templates_dir).render("appointed", ctx)
    row = outbox.message_row(rendered, [(name, email)], sender=mail.sender, now=now,
                             region_code=region_code)
    return outbox.enqueue(conn, [row])[0]

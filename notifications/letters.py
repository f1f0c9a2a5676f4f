"""Letters for a region (coordinator, registry) and the notice to a newly appointed person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from notifications import outbox
from notifications.errors import MissingData, UnknownLetter
from notifications.registry_request import request_rows, write_xlsx
from notifications.render import Attachment, Rendered, templates
from notifications.settings import MailSettings
from states import ROLE_TITLES, STEPS, Role
from storage import reconciliations, repo
from storage.models import municipalities, regions, schools

REGION_LETTERS = ("coordinator", "registry")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
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
    last = reconciliations.last(conn, region_code)
    if last is None:
        raise MissingData(f"region {region_code}: the registry has not been reconciled; run "
                          "`rollout reconcile --region CODE FILE` with the region's list first")
    changes = request_rows(last["discrepancies"])
    if not changes:  # never a letter with an empty list
        raise MissingData(f"region {region_code}: reconciliation {last['id']} leaves nothing to "
                          "change in the registry; there is no request to send")
    filename = f"registry-request-{region_code}-{last['id']}.xlsx"
    ctx = {"region": region, "coordinator": coordinator, "changes": changes,
           "filename": filename, "reconciliation": {"id": last["id"], "at": last["at"]}}
    rendered = t.render(name, ctx, (Attachment(filename, XLSX_MIME, data=write_xlsx(changes)),))
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

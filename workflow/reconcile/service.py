"""Step 2's reconciliation as a service: compare a region's list with the registry and record it;
accept the open discrepancies with a reason; support confirms the request was entered."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import Connection, select

from notifications.registry_request import request_rows, write_xlsx
from states import Reason, Target, Verdict, acting_role, step_by_slug
from states.registry import may_accept
from storage import NewEvent, history, reconciliations, repo
from storage.models import municipalities, schools
from workflow.errors import InvalidInput, PermissionDenied, UnknownCode, UsageError
from workflow.i18n import _, ngettext, reasons
from workflow.importing.cells import inn_check_digit
from workflow.reconcile.compare import RegistrySchool, Result, compare
from workflow.reconcile.listfile import CoordinatorList, ListRow, read_list

OPERATOR = "operator"  # as imports: the operator's own commands are recorded under this actor
STEP = "registry"


@dataclass(frozen=True)
class Reconciliation:
    """A recorded reconciliation: its number, the discrepancies and the figures."""

    number: int
    region: str
    file: str
    result: Result

    @property
    def open(self) -> int:
        return len(self.result.items)

    def summary(self) -> str:
        return _("region {region}: reconciliation No. {number} of {file}: matched {matched}; "
                 "add {add}, remove {remove}, relink {relink}, change {changed}, not matched "
                 "{unmatched}; open discrepancies: {open}", region=self.region,
                 number=self.number, file=self.file, open=self.open, **self.result.counts())

    def as_json(self) -> dict[str, Any]:
        """`reconcile --json` (CONTRACT): add, remove, relink, unmatched, open; and more."""
        r = self.result
        return {"reconciliation": self.number, "region": self.region, "file": self.file,
                "add": r.add, "remove": r.remove, "relink": r.relink, "changed": r.changed,
                "unmatched": r.unmatched, "matched": r.matched, "open": self.open,
                "counts": r.counts()}


def registry_of(conn: Connection, region: str) -> tuple[list[RegistrySchool], dict[str, str]]:
    """The region's schools and municipalities as the comparison reads them."""
    q = select(schools.c.code, schools.c.name, schools.c.inn, schools.c.kpp,
               schools.c.municipality_code, schools.c.parent_code).where(
        schools.c.region_code == region).order_by(schools.c.code)
    found = [RegistrySchool(r.code, r.name, r.inn, r.kpp, r.municipality_code, r.parent_code)
             for r in conn.execute(q)]
    munis = {r.code: r.name for r in conn.execute(
        select(municipalities.c.code, municipalities.c.name)
        .where(municipalities.c.region_code == region))}
    return found, munis


def reconcile(services: Any, region: str, path: str | Path, now: datetime,
              actor: str | None = None) -> Reconciliation:
    """Read the region's list, compare it with the registry and record the result."""
    path = Path(path)
    listing = read_list(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return _run(services, region, listing, digest, now, actor)


def reconcile_as_registered(services: Any, region: str, now: datetime,
                            actor: str | None = None) -> Reconciliation:
    """Record a reconciliation whose list is the registry itself (for the demo and for tests
    of the later steps): a region whose own list agrees with the registry."""
    with services.db.read() as conn:
        found, munis = registry_of(conn, region)
    rows = [ListRow(i + 2, s.name, s.inn, s.kpp, municipality=s.municipality, parent=s.parent,
                    code=s.code) for i, s in enumerate(found)]
    listing = CoordinatorList("реестр rollout", 1, {}, True, rows)
    return _run(services, region, listing, hashlib.sha256(b"").hexdigest(), now, actor)


def _run(services: Any, region: str, listing: CoordinatorList, digest: str, now: datetime,
         actor: str | None) -> Reconciliation:
    who = actor.strip().lower() if actor else OPERATOR
    with services.db.write() as conn:
        machine = repo.get_machine(conn, "region", region)
        if machine is None:
            raise UnknownCode("region", region)
        verdict = _permitted(conn, who, region) if actor else Verdict.allow()
        if verdict:
            return _record(conn, region, machine.state, listing, digest, now, who,
                           acting_role(verdict))
    _deny(services, region, machine.state, who, verdict, "reconcile", now)


def _record(conn: Connection, region: str, state: str, listing: CoordinatorList, digest: str,
            now: datetime, who: str, role: str | None) -> Reconciliation:
    found, munis = registry_of(conn, region)
    result = compare(listing.rows, found, munis, listing.has_parent)
    counts = result.counts()
    number = reconciliations.record(conn, region=region, at=now, actor=who,
                                    file=listing.file, sha256=digest, counts=counts,
                                    discrepancies=result.items)
    open_ = len(result.items)
    history.append(conn, [NewEvent(
        at=now, event="RegistryReconciled", kind="region", code=region, region_code=region,
        step=STEP, from_state=state, to_state=state, actor=who, role=role,
        reason=_figures(counts, open_), trigger=f"reconcile {listing.file}",
        data={"reconciliation": number, "file": listing.file, "sha256": digest,
              "rows": len(listing.rows), "counts": counts, "open": open_})])
    return Reconciliation(number, region, listing.file, result)


def _figures(counts: dict[str, int], open_: int) -> str:
    return (f"сверено: совпало {counts['matched']}; добавить {counts['add']}, удалить "
            f"{counts['remove']}, привязать {counts['relink']}, изменить {counts['changed']}, "
            f"не сопоставлено {counts['unmatched']}; открыто расхождений: {open_}")


def _permitted(conn: Connection, actor: str, region: str) -> Verdict:
    grants = repo.actor_grants(conn, actor)
    if grants is None:
        return Verdict.deny(Reason("unknown_actor", f"unknown actor {actor!r}",
                                   f"неизвестный пользователь {actor}"))
    return may_accept(actor, grants, Target("region", region, region), step_by_slug(STEP))


def accept(services: Any, region: str, reason: str, actor: str, now: datetime) -> str:
    """Accept the open discrepancies of the region's last reconciliation, with a reason."""
    if not (reason or "").strip():
        raise UsageError(_("reconcile --accept needs --reason: say why the differences stay"))
    return _act(services, region, actor, now, reason.strip(), entered=False)


def entered(services: Any, region: str, actor: str, now: datetime) -> str:
    """Support confirms that the registry request of the last reconciliation was entered."""
    return _act(services, region, actor, now, None, entered=True)


def _act(services: Any, region: str, actor: str, now: datetime, reason: str | None,
         entered: bool) -> str:
    who = actor.strip().lower()
    denied = None
    with services.db.write() as conn:
        machine = repo.get_machine(conn, "region", region)
        if machine is None:
            raise UnknownCode("region", region)
        verdict = _permitted(conn, who, region)
        if entered and verdict and acting_role(verdict) != "support":
            verdict = Verdict.deny(Reason(
                "permission", f"{who} may not confirm a registry request (support does)",
                f"{who}: внесение заявки в реестр подтверждает СТП"))
        if not verdict:
            denied = verdict
        else:
            last = reconciliations.last(conn, region)
            if last is None:
                raise InvalidInput(_("region {code}: no reconciliation on record; run "
                                     "`rollout reconcile --region CODE FILE` first",
                                     code=region))
            n = len(reconciliations.open_items(last))
            if entered:
                reconciliations.mark_entered(conn, last["id"], at=now, actor=who)
                event, text = "RegistryRequestEntered", (
                    f"заявка по сверке № {last['id']} внесена в реестр")
                message = _("region {code}: the request of reconciliation No. {number} is "
                            "recorded as entered; reconcile again to check the registry",
                            code=region, number=last["id"])
            else:
                if n == 0:
                    return _("region {code}: reconciliation No. {number} has no open "
                             "discrepancies; nothing to accept", code=region,
                             number=last["id"])
                reconciliations.accept(conn, last["id"], at=now, actor=who, reason=reason or "")
                event, text = "RegistryDiscrepanciesAccepted", reason or ""
                message = ngettext("region {code}: {n} discrepancy of reconciliation No. "
                                   "{number} accepted", "region {code}: {n} discrepancies of "
                                   "reconciliation No. {number} accepted", n, code=region,
                                   number=last["id"])
            history.append(conn, [NewEvent(
                at=now, event=event, kind="region", code=region, region_code=region,
                step=STEP, from_state=machine.state, to_state=machine.state, actor=who,
                role=acting_role(verdict), reason=text,
                trigger=f"reconcile --{'entered' if entered else 'accept'} by {who}",
                data={"reconciliation": last["id"], "open": n})])
            return message
    assert denied is not None  # the transaction above returned otherwise
    _deny(services, region, machine.state, who, denied,
          "reconcile --" + ("entered" if entered else "accept"), now)


def _deny(services: Any, region: str, state: str, who: str, verdict: Verdict, trigger: str,
          now: datetime) -> NoReturn:
    """Refused attempts are on record too, in a transaction of their own."""
    with services.db.write() as conn:
        history.append(conn, [NewEvent(
            at=now, event="ActionDenied", kind="region", code=region, region_code=region,
            step=STEP, from_state=state, to_state=state, actor=who, reason=verdict.message,
            trigger=f"{trigger} by {who}",
            data={"reasons": [r.as_dict() for r in verdict.reasons]})])
    raise PermissionDenied(reasons(verdict))


def request_xlsx(items: list[dict[str, Any]]) -> bytes:
    """The registry request for these discrepancies, in the operator's form."""
    return write_xlsx(request_rows(items))


# -- a sample list for the demo: the registry with the differences real lists have
SAMPLE_HEADER = ("№ п/п", "ИНН", "КПП", "Полное наименование", "Муниципальное образование",
                 "Головная организация (для филиалов)", "Адрес")


def _sample_inn(region: str, serial: int) -> str:
    base = f"{region[:2]:0>2}{serial:07d}"
    return base + str(inn_check_digit(base))


def sample_list(services: Any, region: str, path: Path, new_school: str = "МКОУ «СОШ № 7»"
                ) -> Path:
    """Write the region's list (XLSX, a title row above the header) to `path`: the registry's
    schools, less the last one that has no branches (closed), plus `new_school` (opened)."""
    from openpyxl import Workbook

    with services.db.read() as conn:
        schools, munis = registry_of(conn, region)
    parents = {s.parent for s in schools if s.parent}
    closed = next((s.code for s in reversed(schools) if s.code not in parents and not s.parent),
                  None)
    names = {s.code: s.name for s in schools}
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.append([f"Перечень общеобразовательных организаций (регион {region})"])
    sheet.append(list(SAMPLE_HEADER))
    number = 0
    for s in schools:
        if s.code == closed:
            continue
        number += 1
        sheet.append([number, s.inn or "", s.kpp or "", s.name, munis.get(s.municipality or "", ""),
                      names.get(s.parent or "", ""), ""])
    first_muni = next((s.municipality for s in schools if s.municipality), None)
    sheet.append([number + 1, _sample_inn(region, 9_000_000 + number), f"{region[:2]:0>2}0101001",
                  new_school, munis.get(first_muni or "", ""), "", ""])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path

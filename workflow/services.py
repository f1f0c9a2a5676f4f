"""The services behind the commands that act on machines: advance, skip, reopen, assign, status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from notifications.addresses import BadAddress, normalize
from states import (
    ROLES,
    STEPS,
    Facts,
    Reason,
    RegionFacts,
    Role,
    SchoolFacts,
    Step,
    Target,
    Verdict,
    acting_role,
    evaluate,
    graph_of,
    holding,
    may_act,
    open_steps,
    order_verdict,
    skip_verdict,
    step_by_slug,
)
from states.guards import FINISHED
from storage import Database, NewEvent, history, repo
from storage.models import assignments, people, regions, schools
from storage.outbox import broken_contacts
from workflow import cascade
from workflow.config import Config
from workflow.definitions import ensure_in_force
from workflow.engine import Change
from workflow.errors import GuardRefused, InvalidInput, PermissionDenied, UnknownCode, UsageError
from workflow.i18n import N_, _, kind_name, ngettext, reasons
from workflow.people import appointer

CLI, WEB = "cli", "web"  # the channels a person acts through, kept in their events' data


@dataclass(frozen=True)
class Outcome:
    """What a command did: the machine's new state and how many transitions it caused."""

    kind: str
    code: str
    state: str
    transitions: int
    message: str


@dataclass
class _Refusal:
    event: str
    verdict: Verdict
    error: Exception
    role: str | None = None


class Services:
    """The application: every command that reads or moves machines goes through here."""

    def __init__(self, config: Config, db: Database | None = None) -> None:
        self.config = config
        self.db = db or Database(config.database_url, synchronous=config.synchronous)
        self.policies = config.steps

    def change(self, conn: Connection, now: datetime) -> Change:
        """The engine's transaction, under the step definition in force (or DefinitionStale)."""
        ensure_in_force(conn, self.policies, now)
        return Change(conn, now, self.policies)

    def check_definition(self, now: datetime) -> None:
        """Refuse (exit 6) while the configured step definition is not the one in force."""
        with self.db.write() as conn:
            ensure_in_force(conn, self.policies, now)

    # -- acting on a step -------------------------------------------------------------------
    def advance(self, kind: str, code: str, step: str, actor: str, now: datetime,
                reason: str | None = None, channel: str = CLI) -> Outcome:
        """Complete the current step `step` of a region or a school."""
        return self._act("complete", kind, code, step, actor, now, reason, channel)

    def skip(self, kind: str, code: str, step: str, actor: str, now: datetime,
             reason: str, channel: str = CLI) -> Outcome:
        """Skip an optional step, with a reason on record."""
        if kind != "region":
            raise UsageError(_("skip acts on a region (--region CODE); its schools follow it"))
        if not (reason or "").strip():
            raise UsageError(_("skip needs --reason: say why the step is not needed"))
        return self._act("skip", kind, code, step, actor, now, reason, channel)

    def reopen(self, kind: str, code: str, step: str, actor: str, now: datetime,
               reason: str, channel: str = CLI) -> Outcome:
        """Make a finished step current again; the steps that come after it become pending."""
        if not (reason or "").strip():
            raise UsageError(_("reopen needs --reason: say why the step is reopened"))
        return self._act("reopen", kind, code, step, actor, now, reason, channel)

    def _act(self, trigger: str, kind: str, code: str, slug: str, actor: str, now: datetime,
             reason: str | None, channel: str = CLI) -> Outcome:
        try:
            step = step_by_slug(slug)
        except KeyError:
            raise UsageError(_("unknown step {slug}; steps are {slugs}", slug=repr(slug),
                               slugs=", ".join(s.slug for s in STEPS))) from None
        actor = actor.strip().lower()
        refusal: _Refusal | None = None
        rest: list[list[str]] = []
        with self.db.write() as conn:
            ch = self.change(conn, now)
            ch.channel = channel
            found = repo.acting_on(conn, kind, code)
            if found is None:
                raise UnknownCode(kind, code)
            target, row, region_row = found
            ch.preload(row, region_row)
            permitted = self._permission(conn, actor, target, step)
            role = acting_role(permitted)
            if not permitted:
                refusal = _Refusal("ActionDenied", permitted,
                                   PermissionDenied(reasons(permitted), permitted))
            else:
                verdict = self._order(trigger, step, row.statuses)
                if verdict:
                    facts = self._facts(ch, row, step) if trigger != "reopen" else None
                    verdict = ch.fire(row, trigger, step.slug, facts, actor=actor, role=role,
                                      reason=reason, cause=f"{trigger} by {actor}")
                if not verdict:
                    refusal = _Refusal("StepRefused", verdict,
                                       GuardRefused(kind, code, step.slug, verdict), role)
                else:
                    rest = self._cascade(ch, trigger, row, step.slug, actor)
                    ch.flush()
        if refusal is None:  # committed; a big region's schools follow in chunks
            n, state, left = ch.transitions, row.state, 0
            if rest:
                more, later, left = cascade.finish(self.change, self.db, row.code, rest,
                                                   _cause(trigger, row, step.slug, actor), now)
                n, state = n + more, later or state
            message = _done_message(trigger, kind, code, step.slug, state, n)
            if left:
                message += _("; {n} school(s) of the region not reached yet (the database is "
                             "busy): run `rollout settle --region {code}`", n=left, code=code)
            return Outcome(kind, code, state, n, message)
        self._record_refusal(kind, code, row.region_code, step.slug, row.state, actor,
                             refusal, reason, trigger, now, channel)
        raise refusal.error

    def _permission(self, conn: Connection, actor: str, target: Target, step: Any) -> Verdict:
        grants = repo.actor_grants(conn, actor)
        if grants is None:
            return Verdict.deny(Reason("unknown_actor", f"unknown actor {actor!r}",
                                       f"неизвестный пользователь {actor}"))
        return may_act(actor, grants, target, step)

    def _order(self, trigger: str, step: Any, statuses: dict[str, str]) -> Verdict:
        graph = graph_of(self.policies)
        if trigger == "skip":  # the machine has no skip edge from a mandatory step
            return skip_verdict(step, None) & order_verdict(step, statuses, graph)
        if trigger != "reopen":
            return order_verdict(step, statuses, graph)
        if statuses.get(step.slug) not in FINISHED:
            return Verdict.deny(Reason(
                "not_finished", f"{step.slug}: is {statuses.get(step.slug)}, not done; "
                "only a done or skipped step can be reopened",
                f"{step.title}: шаг не выполнен, открыть заново можно только выполненный шаг"))
        return Verdict.allow()

    def _facts(self, ch: Change, row: Any, step: Step) -> Facts:
        """What the step's guard reads; nothing to read for a manual step of its own level."""
        native = step.level == row.kind
        if row.kind == "region":
            if native and step.evidence is None:
                return RegionFacts(row.code)
            return ch.region_facts(row.code)
        region = ch.machine("region", row.region_code)
        if region is None:  # every school's region has a machine: a broken registry otherwise
            raise UnknownCode("region", row.region_code)
        if native and step.evidence is None:
            return SchoolFacts(row.code, row.region_code, region.statuses)
        return ch.school_facts(region, [row.code])[row.code]

    @staticmethod
    def _cascade(ch: Change, trigger: str, row: Any, step: str, actor: str) -> list[list[str]]:
        """What follows a person's transition, in the same transaction; for a big region's own
        step, only its first chunk of schools: the chunks left are returned (workflow.cascade).

        A reopened step is not re-evaluated here: its evidence is looked at again on the next
        import, appointment or region progress, so that the reopen means something.
        """
        cause = _cause(trigger, row, step, actor)
        if row.kind == "region" and step_by_slug(step).level == "region":
            if trigger == "reopen":
                ch.reopen_schools(row.code, step, cause)
                return []
            codes = cascade.school_codes(ch.conn, row.code)
            if len(codes) <= cascade.CHUNK:
                ch.settle_schools(row.code, None, cause)
                return []
            first, *rest = cascade.chunks(codes)
            cascade.settle_chunk(ch, row.code, first, cause)
            return rest
        if row.kind == "school" and trigger != "reopen":
            ch.settle_schools(row.region_code, [row.code], cause)
        elif row.kind == "region" and trigger != "reopen":
            # an aggregate step (4-9) done or skipped by hand: the steps it opens on the region
            # may have enough schools done already
            ch.settle_region(row.code, cause)
        return []

    def _record_refusal(self, kind: str, code: str, region: str, step: str, state: str,
                        actor: str, refusal: _Refusal, reason: str | None, trigger: str,
                        now: datetime, channel: str = CLI) -> None:
        """Refused attempts are on record too, in a transaction of their own."""
        with self.db.write() as conn:
            history.append(conn, [NewEvent(
                at=now, event=refusal.event, kind=kind, code=code, region_code=region, step=step,
                from_state=state, to_state=state, actor=actor, role=refusal.role,
                reason=refusal.verdict.message, trigger=f"{trigger} by {actor}",
                data={"reasons": [r.as_dict() for r in refusal.verdict.reasons],
                      "reason_given": reason, "channel": channel})])

    # -- appointing people ------------------------------------------------------------------
    def assign(self, role: str, scope: str, email: str, name: str, actor: str, now: datetime,
               position: str | None = None, phone: str | None = None,
               organisation: str | None = None, channel: str = CLI) -> str:
        """Appoint a person to a role on a scope (steps 1, 3 and 4); evidence may follow."""
        if role not in ROLES:
            raise UsageError(_("--role {role!r}: roles are {roles}", role=role,
                               roles=", ".join(ROLES)))
        actor = actor.strip().lower()
        try:
            email = normalize(email)  # the rule mail uses: what is appointed can be written to
        except BadAddress as exc:
            raise InvalidInput(_("--email {email!r}: not an e-mail address: {detail}",
                                 email=email.strip(), detail=exc.detail)) from None
        if not name.strip():
            raise InvalidInput(_("--name: the person's full name is required"))
        refusal = None
        with self.db.write() as conn:
            target, verdict = appointer(conn, role, scope, actor)
            if not verdict:
                refusal = verdict
            else:
                details = {"position": position, "organisation": organisation, "phone": phone}
                message = self._appoint(conn, now, role, target, email, name, actor,
                                        acting_role(verdict), details, channel)
                return message
        with self.db.write() as conn:
            history.append(conn, [NewEvent(
                at=now, event="ActionDenied", kind=target.kind, code=target.code,
                region_code=target.region, actor=actor, reason=refusal.message,
                trigger=f"assign {role} {email} by {actor}",
                data={"reasons": [r.as_dict() for r in refusal.reasons], "channel": channel})])
        raise PermissionDenied(reasons(refusal), refusal)

    def _appoint(self, conn: Connection, now: datetime, role: str, target: Target, email: str,
                 name: str, actor: str, actor_role: str | None,
                 details: dict[str, str | None], channel: str = CLI) -> str:
        details = {k: " ".join(v.split()) for k, v in details.items() if v and v.strip()}
        existing = repo.person(conn, email)
        if existing is None:
            conn.execute(insert(people).values(email=email, name=name.strip(), **details))
        elif details:  # letters sign with these: the latest given wins
            conn.execute(update(people).where(people.c.email == email).values(**details))
        held = conn.execute(select(assignments.c.id).where(
            assignments.c.email == email, assignments.c.role == role,
            assignments.c.scope == target.code)).first()
        if held:
            return _("{email} already holds {role} on {kind} {code}; nothing changed",
                     email=email, role=role, kind=kind_name(target.kind), code=target.code)
        conn.execute(insert(assignments).values(email=email, role=role, scope=target.code,
                                                since=now))
        ch = self.change(conn, now)
        ch.channel = channel
        ch.record(event="PersonAssigned", kind=target.kind, code=target.code,
                  region_code=target.region, actor=actor, role=actor_role,
                  trigger=f"assign by {actor}",
                  reason=f"{role} {email}", data={"role": role, "email": email, "name": name})
        if role == Role.SCHOOL_ADMIN:
            ch.settle_schools(target.region, [target.code], f"assign {role} {email} by {actor}")
        from notifications.letters import queue_appointment_notice  # the notice, same transaction

        queue_appointment_notice(conn, self.config.mail, now, role=role, scope_kind=target.kind,
                                 scope_code=target.code, region_code=target.region, email=email,
                                 name=name, appointed_by=actor, policies=self.config.steps)
        ch.flush()
        extra = ngettext("; {n} step completed", "; {n} steps completed", ch.transitions
                         ) if ch.transitions else ""
        return _("{email} is now {role} on {kind} {code}", email=email, role=role,
                 kind=kind_name(target.kind), code=target.code) + extra

    # -- reading ----------------------------------------------------------------------------
    def status(self, kind: str, code: str) -> dict[str, Any]:
        """The machine: state, each step's status and since-when, what blocks its current step."""
        with self.db.read() as conn:
            return machine_status(conn, kind, code, self.policies)


def machine_status(conn: Connection, kind: str, code: str, policies: Any) -> dict[str, Any]:
    row = repo.get_machine(conn, kind, code)
    if row is None:
        raise UnknownCode(kind, code)
    table = regions if kind == "region" else schools
    entity = conn.execute(select(table).where(table.c.code == code)).one()._mapping
    region = conn.execute(select(regions).where(regions.c.code == row.region_code)).one()._mapping
    region_row = repo.get_machine(conn, "region", row.region_code)
    if kind == "region":
        facts: Facts = repo.region_facts(conn, code)
    else:
        if region_row is None:  # every school's region has a machine: a broken registry otherwise
            raise UnknownCode("region", row.region_code)
        facts = repo.school_facts(conn, row.region_code, region_row.statuses, [code])[code]
    out: dict[str, Any] = {
        "kind": kind, "code": code, "name": entity["name"], "state": row.state,
        "version": row.version,
        "steps": row.statuses,
        "since": {slug: v.get("since") for slug, v in row.steps.items()},
        "step_details": [],
        "blocking": [],
        "region": {"code": region["code"], "name": region["name"]},
        "timezone": entity.get("timezone") or region["timezone"],
    }
    for step in STEPS:
        info = row.steps[step.slug]
        out["step_details"].append({"number": step.number, "slug": step.slug, "title": step.title,
                                    "status": info["status"], "since": info.get("since")})
    out["open"] = []
    for slug in open_steps(row.statuses):
        step = step_by_slug(slug)
        verdict = evaluate(step, facts, policies[step.slug])
        out["open"].append({
            "step": step.slug, "number": step.number, "title": step.title,
            "since": row.steps[step.slug].get("since"),
            "completion": "mirror" if kind == "school" and step.level == "region"
            else ("aggregate" if kind == "region" and step.level == "school"
                  else step.completion.value),
            "evidence_holds": verdict.ok,
            "holding": [r.as_dict() for r in holding(step, facts, policies[step.slug])]})
    if out["open"]:
        first = out["open"][0]  # the machine's state: its first open step in instruction order
        out["current"] = {k: first[k] for k in ("step", "title", "since", "completion",
                                                "evidence_holds")}
        out["blocking"] = [r for o in out["open"] for r in o["holding"]]
    if isinstance(facts, SchoolFacts):  # kind == "school"
        out["municipality"] = entity["municipality_code"]
        out["parent"] = entity["parent_code"]
        out["evidence"] = {"loaded": dict(facts.loaded), "expected": dict(facts.expected),
                           "has_admin": facts.has_admin}
        muni = entity["municipality_code"]
        scopes = [code, row.region_code] + ([muni] if muni else [])
    else:
        out["schools"] = facts.schools
        out["schools_done"] = dict(facts.schools_done)
        out["municipalities"] = facts.municipalities
        scopes = [code]
    out["people"] = assigned_people(conn, scopes)
    bounced = broken_contacts(conn, [p["email"] for p in out["people"]])
    for p in out["people"]:
        p["broken"] = any(b["email"] == p["email"] for b in bounced)
    out["broken_contacts"] = [{"email": b["email"], "since": b["at"].isoformat(),
                               "error": b["error"]} for b in bounced]
    return out


def assigned_people(conn: Connection, scopes: list[str]) -> list[dict[str, Any]]:
    q = (select(assignments.c.role, assignments.c.scope, people.c.email, people.c.name)
         .join(people, people.c.email == assignments.c.email)
         .where(assignments.c.scope.in_(scopes)).order_by(assignments.c.id))
    return [dict(r._mapping) for r in conn.execute(q)]


def _cause(trigger: str, row: Any, step: str, actor: str) -> str:
    verb = {"complete": "completed", "skip": "skipped", "reopen": "reopened"}[trigger]
    return f"{row.kind} {row.code}: {step} {verb} by {actor}"


_DONE = {"complete": N_("{kind} {code}: {step} completed; state is now {state}"),
         "skip": N_("{kind} {code}: {step} skipped; state is now {state}"),
         "reopen": N_("{kind} {code}: {step} reopened; state is now {state}")}


def _done_message(trigger: str, kind: str, code: str, step: str, state: str, n: int) -> str:
    text = _(_DONE[trigger])  # only the message shown is looked up: this is on every advance
    more = ngettext(" ({n} more transition followed)", " ({n} more transitions followed)",
                    n - 1) if n > 1 else ""
    return text.format(kind=kind_name(kind), code=code, step=step, state=state) + more


__all__ = ["Outcome", "Services", "machine_status"]

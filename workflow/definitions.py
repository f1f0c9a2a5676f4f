"""The step definition in force, versioned; `steps diff` and `steps migrate` move running
machines to a changed one, as process engines migrate process instances.

The configuration says which definition people want; the database says which one the machines
follow. Until they agree, commands that act refuse (exit 6, naming `rollout steps migrate`).
A migration goes region by region, each region its own short transaction: a migration that dies
half-way is simply run again (machines already moved have nothing left to change), and the new
version is adopted only once every region has moved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, select

from states import SLUGS, StepPolicy, first_open, graph_of, settle_open
from states.graph import definition_body, definition_changes, fingerprint
from storage import Database, repo, step_definitions
from storage.models import regions
from workflow.engine import SYSTEM, Change
from workflow.errors import DefinitionStale

LEGACY_NOTE = "release 0.1: the strict line"


@lru_cache(maxsize=8)
def _fingerprint(items: tuple[tuple[str, StepPolicy], ...]) -> str:
    # every write checks the definition: hashing it each time was a fifth of one `advance`
    return fingerprint(dict(items))


# Per database (engine), the definition versions already found to be the configured one, by
# their fingerprint: a stored version never changes, so each is read once per process.
_AGREED: WeakKeyDictionary[Engine, set[tuple[int, str]]] = WeakKeyDictionary()


def ensure_in_force(conn: Connection, policies: Mapping[str, StepPolicy], now: datetime) -> None:
    """Refuse to act under a definition the machines do not follow; a new database adopts the
    configured one as version 1.

    Every write asks only for the version in force (in the statement that also reads the
    chain's head); the stored definition is read and compared once per version and process.
    """
    wanted = _fingerprint(tuple(policies.items()))
    version = step_definitions.definition_version(conn)
    agreed = _AGREED.setdefault(conn.engine, set())
    if version is not None and (version, wanted) in agreed:
        return
    stored = step_definitions.definition_in_force(conn)
    if stored is None:
        step_definitions.adopt_definition(conn, fingerprint(policies),
                                          definition_body(policies), now)
    elif stored.fingerprint != wanted:
        raise DefinitionStale(stored.version)
    else:
        agreed.add((stored.version, wanted))


@dataclass
class MigrationReport:
    """What a definition change does (or did) to the running machines."""

    from_version: int
    changes: list[tuple[str, str, Any, Any]]  # (step, setting, old, new)
    machines: int = 0  # machines looked at
    moved: Counter[str] = field(default_factory=Counter)  # kind -> machines whose steps moved
    opened: Counter[str] = field(default_factory=Counter)  # step -> machines where it opened
    pending: Counter[str] = field(default_factory=Counter)  # step -> machines where it waits now
    completed: int = 0  # evidence steps completed once open (migrate only)
    to_version: int | None = None  # set once adopted
    dry_run: bool = True

    @property
    def up_to_date(self) -> bool:
        return not self.changes

    def as_dict(self) -> dict[str, Any]:
        return {"from_version": self.from_version, "to_version": self.to_version,
                "dry_run": self.dry_run,
                "changes": [{"step": s, "setting": k, "old": a, "new": b}
                            for s, k, a, b in self.changes],
                "machines": self.machines, "moved": dict(self.moved),
                "opened": dict(self.opened), "pending": dict(self.pending),
                "completed": self.completed}


def _new_steps(row: repo.MachineRow, graph: Mapping[str, tuple[str, ...]], now_iso: str
               ) -> tuple[dict[str, Any], list[str], list[str]]:
    """The machine's steps under `graph`, and the steps that opened or fell back to pending."""
    before = row.statuses
    after = settle_open(graph, before)
    steps = dict(row.steps)
    opened, pending = [], []
    for slug in SLUGS:
        if after[slug] == before[slug]:
            continue
        if after[slug] == "current":
            opened.append(slug)
            steps[slug] = {"status": "current", "since": now_iso}
        else:
            pending.append(slug)
            steps[slug] = {"status": "pending", "since": None}
    return steps, opened, pending


def migrate(db: Database, policies: Mapping[str, StepPolicy], now: datetime, *,
            dry_run: bool = False, note: str | None = None) -> MigrationReport:
    """Move every machine to the configured definition (or, dry, count what would move)."""
    with db.read() as conn:
        stored = step_definitions.definition_in_force(conn)
        codes = list(conn.execute(select(regions.c.code).order_by(regions.c.code)).scalars())
    new_body = definition_body(policies)
    old_body = stored.body if stored else new_body
    report = MigrationReport(from_version=stored.version if stored else 0,
                             changes=definition_changes(old_body, new_body), dry_run=dry_run)
    if stored is not None and stored.fingerprint == fingerprint(policies):
        report.changes, report.to_version = [], stored.version
        return report
    graph = graph_of(policies)
    to_version = report.from_version + 1
    cause = f"steps migrate: definition {report.from_version} → {to_version}"
    for code in codes:
        with db.write() as conn:
            ch = Change(conn, now, policies)
            region = ch.machine("region", code)
            rows = ([region] if region else []) + ch.schools_of(code)
            for row in rows:
                report.machines += 1
                steps, opened, pending = _new_steps(row, graph, ch.now_iso)
                if not opened and not pending:
                    continue
                before = row.state
                row.steps = steps
                row.state = first_open(row.statuses)
                ch.mark_changed(row)
                report.moved[row.kind] += 1
                report.opened.update(opened)
                report.pending.update(pending)
                ch.record(event="StepsMigrated", kind=row.kind, code=row.code,
                          region_code=row.region_code, from_state=before, to_state=row.state,
                          actor=SYSTEM, trigger=cause,
                          reason=f"definition {report.from_version} → {to_version}",
                          data={"from_version": report.from_version, "to_version": to_version,
                                "opened": opened, "pending": pending, "steps": row.statuses})
            if not dry_run:
                ch.settle_everything(code, cause)
                report.completed += ch.transitions
                ch.flush()
            else:
                conn.rollback()
    if not dry_run:
        with db.write() as conn:
            report.to_version = step_definitions.adopt_definition(
                conn, fingerprint(policies), new_body, now, note)
    return report

"""A people file with `--remove-missing`: staff who left lose the roles the file no longer lists.

The file speaks for each (role, scope) pair it lists: whoever holds that role on that scope and
is not in the file for it loses it. A scope the file does not mention is left alone, so a file of
one municipality's school admins never touches another's. Each removal is recorded as
`rollout unassign` records it (PersonUnassigned), in the import's one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select

from states import SCOPE_KIND, Role, acting_role
from storage.models import assignments, municipalities, schools
from workflow.importing.apply import IN_CHUNK, Applier, lookup
from workflow.importing.stage import Stage


def remove_missing(applier: Applier, stage: Stage) -> None:
    """Delete and record the roles on the file's (role, scope) pairs that the file omits."""
    listed: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in stage.query('SELECT role, scope, email FROM rows'):
        listed[(row[0], row[1])].add(row[2])
    pairs = sorted(listed)
    for start in range(0, len(pairs), IN_CHUNK):
        part = pairs[start:start + IN_CHUNK]
        scopes = sorted({scope for _, scope in part})
        q = (select(assignments.c.id, assignments.c.email, assignments.c.role,
                    assignments.c.scope)
             .where(assignments.c.scope.in_(scopes)).order_by(assignments.c.id))
        gone = [r for r in applier.conn.execute(q)
                if (r.role, r.scope) in listed and r.email not in listed[(r.role, r.scope)]]
        if gone:
            _remove(applier, gone)


def _remove(applier: Applier, gone: list[Any]) -> None:
    conn = applier.conn
    conn.execute(delete(assignments).where(assignments.c.id.in_([r.id for r in gone])))
    regions = _regions_of(applier, gone)
    for r in gone:
        kind = SCOPE_KIND.get(Role(r.role))
        verdict = applier.verdicts.get((r.role, r.scope))
        applier.ch.record(
            event="PersonUnassigned", kind=kind, code=r.scope or None,
            region_code=regions.get(r.scope), actor=applier.actor,
            role=acting_role(verdict) if verdict is not None else None,
            reason=f"{r.role} {r.email}: not in {applier.source}",
            trigger=f"import people {applier.source} --remove-missing",
            data={"role": r.role, "email": r.email, "reason_given": None})
        applier.removed.append(f"{r.role} {r.scope or '—'} {r.email}")
    applier.ch.flush()


def _regions_of(applier: Applier, gone: list[Any]) -> dict[str, str]:
    """The region of each scope (a region's code is its own)."""
    scopes = [r.scope for r in gone if r.scope]
    out = {r.scope: r.scope for r in gone if SCOPE_KIND.get(Role(r.role)) == "region"}
    for table in (municipalities, schools):
        for code, row in lookup(applier.conn, table, "code", scopes, ("region_code",)).items():
            out[code] = row["region_code"]
    return out


__all__ = ["remove_missing"]

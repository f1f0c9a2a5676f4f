"""Who may import what, row by row, when a person (not the operator) uploads a file.

The operator's `rollout import` may load anything. A person uploading on the web is held to the
rules of the command line: a people row is an appointment (`workflow.people.appointer`, the rule
`assign` and `unassign` share), a metrics row must name a school inside the person's scope.
Refusals are row errors like any other, so the page shows `ROW: column: problem`.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection

from states import GLOBAL_ROLES, Role, Target, Verdict, may_assign, may_load_metrics
from storage import repo
from workflow.errors import UnknownCode
from workflow.importing.stage import Stage
from workflow.importing.validation import ErrorLog
from workflow.people import appointer


def check_rows(conn: Connection, kind: str, stage: Stage, actor: str, errors: ErrorLog
               ) -> dict[tuple[str, str], Verdict]:
    """Add a row error for every row `actor` may not import; the verdicts that allowed the
    people rows, by (role, scope), so that removals are recorded in the role acted in."""
    if kind == "people":
        return _people(conn, stage, actor, errors)
    if kind == "metrics":
        _metrics(conn, stage, actor, errors)
    return {}


def _people(conn: Connection, stage: Stage, actor: str, errors: ErrorLog
            ) -> dict[tuple[str, str], Verdict]:
    rows: dict[tuple[str, str], list[int]] = defaultdict(list)
    for chunk in stage.chunks():
        for n, rec in chunk:
            rows[(rec["role"], rec["scope"])].append(n)
    allowed = {}
    for (role, scope), numbers in sorted(rows.items()):
        if Role(role) in GLOBAL_ROLES:  # appointer() looks for a scope a global role has not
            verdict = may_assign(actor, [], role, Target("region", "", ""))
        else:
            try:
                _, verdict = appointer(conn, role, scope, actor)
            except UnknownCode:
                continue  # the importer's own check has named the row already
        text = verdict.message_ru
        if verdict:
            allowed[(role, scope)] = verdict
            continue
        for n in numbers:
            errors.add(n, "role", text)
    return allowed


def _metrics(conn: Connection, stage: Stage, actor: str, errors: ErrorLog) -> None:
    grants = repo.grants(conn, actor)
    for chunk in stage.chunks():
        for n, rec in chunk:
            target = repo.target(conn, "school", rec["school"])
            if target is None:
                continue  # unknown school: already a row error
            verdict = may_load_metrics(actor, grants, target)
            if not verdict:
                errors.add(n, "school", verdict.message_ru)


__all__ = ["check_rows"]

"""Leading zeros Excel took from codes typed as numbers, given back by the code's known width.

A school code 070101 typed into a number cell comes back from the XLSX as 70101. When the
file's other codes of that kind (typed as text) or the registry's show one width, the zeros are
restored; when nothing shows the width, the row is refused: a code is never silently changed.
Region codes are two digits, restored when the cell is read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from storage.models import municipalities, schools
from workflow.i18n import _
from workflow.importing.columns import Column
from workflow.importing.stage import Stage
from workflow.importing.validation import ErrorLog

REGISTRY = {"municipality": municipalities.c.code, "school": schools.c.code}
_DIGITS = "NOT GLOB '*[^0-9]*'"


def restore_codes(conn: Connection, stage: Stage, columns: Iterable[Column], errors: ErrorLog
                  ) -> None:
    """Pad the staged codes that were number cells, or refuse their rows."""
    by_family: dict[str, list[str]] = defaultdict(list)
    for col in columns:
        if col.family in REGISTRY:
            by_family[col.family].append(col.name)
    for family, names in by_family.items():
        flagged = [n for n in names
                   if stage.query(f'SELECT 1 FROM rows WHERE "#{n}" = 1 LIMIT 1')]
        if not flagged:
            continue
        widths = _registry_widths(conn, family)
        for n in names:
            widths |= {w for (w,) in stage.query(
                f'SELECT DISTINCT length("{n}") FROM rows WHERE "#{n}" IS NULL '
                f'AND "{n}" {_DIGITS} AND "{n}" != \'\'')}
        for n in flagged:
            _restore(stage, n, widths, errors)


def _restore(stage: Stage, name: str, widths: set[int], errors: ErrorLog) -> None:
    if len(widths) == 1:
        width = widths.pop()
        stage.db.execute(
            f'UPDATE rows SET "{name}" = substr(\'{"0" * width}\' || "{name}", -{width}) '
            f'WHERE "#{name}" = 1 AND length("{name}") < {width} AND "{name}" {_DIGITS}')
        return
    what = _("the code's length is ambiguous ({widths})", widths=", ".join(
        str(w) for w in sorted(widths))) if widths else _("the code's length is unknown")
    for row, value in stage.query(f'SELECT n, "{name}" FROM rows WHERE "#{name}" = 1 '
                                  "ORDER BY n"):
        errors.add(row, name, _("code {value} was typed in Excel as a number: leading zeros "
                                "may have been lost, and {what}; format the column as text and "
                                "enter the code in full", value=value, what=what))


def _registry_widths(conn: Connection, family: str) -> set[int]:
    """The lengths of the registry's all-digit codes of the family (streamed)."""
    out: set[int] = set()
    result: Any = conn.execute(select(REGISTRY[family]).execution_options(yield_per=10_000))
    for (code,) in result:
        if code.isascii() and code.isdigit():
            out.add(len(code))
    return out


__all__ = ["restore_codes"]

"""Time: the moment a command acts at, given by `--at` or read from the clock once."""

from __future__ import annotations

from datetime import UTC, datetime

from workflow.errors import UsageError
from workflow.i18n import _


def parse_at(text: str) -> datetime:
    """An ISO 8601 moment with an offset (2026-12-01T09:00+03:00 or ...Z), as UTC."""
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(_("--at {text}: not an ISO 8601 date-time (say "
                           "2026-12-01T09:00:00+03:00)", text=repr(text))) from None
    if at.tzinfo is None:
        raise UsageError(_("--at {text}: give an offset (+03:00 or Z) so the moment is exact",
                           text=repr(text)))
    return at.astimezone(UTC)


def now_or(at: str | None) -> datetime:
    """`--at` if given, else the wall clock: the only place the CLI reads it."""
    return parse_at(at) if at else datetime.now(UTC)

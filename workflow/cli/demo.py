"""`rollout demo`: a sample rollout on the embedded defaults."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Registered once the demo exists."""

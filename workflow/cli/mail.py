"""Mail commands (letter, remind, outbox, run): registered by the notifications work."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """No mail commands yet."""

"""Dashboard commands (dashboard, serve, token): registered by the dashboard work."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """No dashboard commands yet."""

"""The progress dashboard: server-rendered pages, static snapshots and the read-only JSON API.

`write_static` needs only Jinja2; `create_app` imports Starlette when it is called, so the rest
of `rollout` runs without the web extras installed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dashboard.static_site import write_static

if TYPE_CHECKING:
    from starlette.applications import Starlette


def create_app(services: Any, clock: Callable[[], datetime]) -> Starlette:
    """The Starlette application (see dashboard.app.create_app)."""
    from dashboard.app import create_app as _create

    return _create(services, clock)


__all__ = ["create_app", "write_static"]

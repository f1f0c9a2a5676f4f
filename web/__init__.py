"""The web: pages, static snapshots and the JSON API; the dashboard and, with sign-in, the actions.

`write_static` needs only Jinja2; `create_app` imports Starlette when it is called, so the rest
of `rollout` runs without the web extras installed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from web.static_site import write_static

if TYPE_CHECKING:
    from starlette.applications import Starlette


def create_app(services: Any, clock: Callable[[], datetime], lang: str = "ru") -> Starlette:
    """The Starlette application (see web.app.create_app)."""
    from web.app import create_app as _create

    return _create(services, clock, lang)


__all__ = ["create_app", "write_static"]

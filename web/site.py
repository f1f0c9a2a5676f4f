"""What every handler shares: the services, the clock, the links, and rendering a page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from web.access import Viewer
from web.pages import Urls, render
from web.session import identify


@dataclass
class Site:
    services: Any
    clock: Callable[[], datetime]
    urls: Urls = field(default_factory=Urls)

    @property
    def policies(self) -> Any:
        return self.services.policies

    @property
    def config(self) -> Any:
        return self.services.config

    def viewer(self, request: Request, now: datetime) -> Viewer | None:
        with self.services.db.read() as conn:
            return identify(conn, request, now)

    def html(self, template: str, viewer: Viewer | None, now: datetime, status: int = 200,
             **ctx: Any) -> Response:
        return HTMLResponse(render(template, viewer, self.urls, now, **ctx), status_code=status)

    def message(self, viewer: Viewer | None, now: datetime, status: int, title: str,
                message: str, back: str | None = None, details: list[str] | None = None
                ) -> Response:
        """A page with one message (a refusal, an error) and a link back."""
        return self.html("error.html", viewer, now, status, title=title, message=message,
                         back=back, details=details or [])

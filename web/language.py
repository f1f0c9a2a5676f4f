"""The page language: Russian by default, English when the reader asks for it with the switch.

The switch (`GET /lang/en?next=/path`) sets the `rollout_lang` cookie and returns to a path of
this site only. Each request is answered in the cookie's language, else the server's default
(`serve` takes it from ROLLOUT_LANG); the browser's Accept-Language is not read on purpose. The
JSON API keeps the process's language, as before the switch existed.
"""

from __future__ import annotations

from contextvars import ContextVar
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from workflow.i18n import LANGUAGES, language, speaking

if TYPE_CHECKING:  # Starlette is imported by `serve` only: the static snapshot needs Jinja2 alone
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "rollout_lang"
YEAR = 365 * 24 * 3600
# Each language named in itself on the switch: a reader who cannot read the page can still find it.
NAMES = {"ru": "Русский", "en": "English"}
# The path and query of the page being answered: the switch returns the reader to it.
_HERE: ContextVar[str] = ContextVar("rollout_page", default="/")


def chosen(cookie_header: str | None, default: str) -> str:
    """The language a request's cookies ask for, else `default`."""
    if cookie_header:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except Exception:  # a malformed Cookie header is the browser's problem, not a 500
            return default
        morsel = jar.get(COOKIE)
        if morsel is not None and morsel.value in LANGUAGES:
            return morsel.value
    return default


class Language:
    """ASGI middleware: every page of the request is rendered in the reader's language."""

    def __init__(self, app: ASGIApp, default: str = "ru") -> None:
        self.app, self.default = app, default if default in LANGUAGES else "ru"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        cookies = next((v.decode("latin-1") for k, v in scope.get("headers", [])
                        if k == b"cookie"), None)
        query = scope.get("query_string", b"").decode("latin-1")
        token = _HERE.set(path + (f"?{query}" if query else ""))
        try:
            with speaking(chosen(cookies, self.default)):
                await self.app(scope, receive, send)
        finally:
            _HERE.reset(token)


def switch_url(lang: str) -> str:
    """The link that turns the pages to `lang` and comes back to this page."""
    return f"/lang/{lang}?{urlencode({'next': _HERE.get()})}"


def other_language() -> str:
    """The language the switch offers: the one the page is not in."""
    return "ru" if language() == "en" else "en"


def switch(request: Request) -> Response:
    """Remember the language in a cookie and go back to the page the reader was on."""
    from starlette.responses import RedirectResponse

    from web.actions import safe_local

    lang = request.path_params["lang"]
    response = RedirectResponse(safe_local(request.query_params.get("next")), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=YEAR, path="/", httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")
    return response


def routes() -> list[Route]:
    from starlette.routing import Route

    return [Route("/lang/{lang}", switch, methods=["GET"])]

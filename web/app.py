"""`rollout serve`: the pages, the actions and the JSON API on Starlette.

Every request is authenticated (a Bearer token, or the session a sign-in link opened), scoped
by the person's grants, and answered with the security headers below. Page handlers are plain
functions: Starlette runs them in its thread pool, so the synchronous database calls never
block the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web import act, api, exports, language, signin, todo, trends, uploads, views
from web.access import Viewer
from web.errors import DashboardError, NotFound, NotSignedIn, OutOfScope
from web.history import Query, search
from web.pages import render, stylesheet
from web.session import TOKEN_COOKIE
from web.site import Site
from web.tables import CountryQuery
from workflow.i18n import _

COOKIE = TOKEN_COOKIE  # the first release's cookie name, still read for the read-only pages
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
     b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Only over HTTPS (RFC 6797 §7.2: a browser ignores it over plain HTTP). A year: the sign-in
# cookie is Secure, so a downgraded first visit would only lose the session anyway.
HSTS = [(b"strict-transport-security", b"max-age=31536000")]


class SecurityHeaders:
    """ASGI middleware: the same security headers on every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = SECURITY_HEADERS + (HSTS if scope.get("scheme") == "https" else [])
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(services: Any, clock: Callable[[], datetime], lang: str = "ru") -> Starlette:
    """The web app over `services`; `clock()` gives the moment each page shows; `lang` is the
    pages' language until a reader switches (Russian unless `serve` runs under ROLLOUT_LANG=en)."""
    site = Site(services, clock)
    urls, policies = site.urls, services.policies

    def viewer_of(request: Request) -> Viewer:
        viewer = site.viewer(request, clock())
        if viewer is None:
            raise NotSignedIn()
        return viewer

    def page(request: Request, build: Callable[[Any, Viewer, datetime], tuple[str, dict]]
             ) -> Response:
        viewer: Viewer | None = None
        try:
            viewer = viewer_of(request)
            now = clock()
            with services.db.read() as conn:
                template, ctx = build(conn, viewer, now)
            return HTMLResponse(render(template, viewer, urls, now,
                                       done=request.query_params.get("done", ""), **ctx))
        except NotSignedIn:
            return signed_out(request)
        except DashboardError as exc:
            return error_page(exc, viewer)

    def signed_out(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return signin.signin_form(site, request, 401, next_url=target)

    def error_page(exc: Exception, viewer: Viewer | None) -> Response:
        if isinstance(exc, OutOfScope):
            status, title, text = 403, _("No access"), _(
                "This page is outside your area of responsibility.")
        else:
            status, title, text = 404, _("Not found"), _(
                "There is no such region, municipality or school.")
        return site.message(viewer, clock(), status, title, text)

    def home(request: Request) -> Response:
        query = CountryQuery.parse(request.query_params)
        return page(request, lambda conn, v, now: home_page(conn, v, now, policies, query))

    def export(request: Request) -> Response:
        """The country table as on screen (same query string), as XLSX or CSV."""
        fmt = request.path_params["fmt"]
        if fmt not in exports.FORMATS:
            return error_page(NotFound("export", fmt), None)
        try:
            viewer = viewer_of(request)
        except NotSignedIn:
            return signed_out(request)
        now = clock()
        with services.db.read() as conn:
            ctx = views.country(conn, viewer, now, policies,
                                CountryQuery.parse(request.query_params))
        return exports.response(exports.header(), exports.rows(ctx["rows"]), fmt,
                                f"regions-{now:%Y-%m-%d}")

    def export_schools(kind: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            """The schools holding a region's (municipality's) step back, all of them."""
            code, fmt = request.path_params["code"], request.path_params["fmt"]
            if fmt not in exports.FORMATS:
                return error_page(NotFound("export", fmt), None)
            try:
                viewer = viewer_of(request)
                now = clock()
                with services.db.read() as conn:
                    ctx = views.group(conn, viewer, now, policies, kind, code,
                                      every_school=True)
            except NotSignedIn:
                return signed_out(request)
            except DashboardError as exc:
                return error_page(exc, None)
            return exports.response(exports.school_header(), exports.school_rows(ctx), fmt,
                                    f"schools-{code}-{now:%Y-%m-%d}", title=_("Schools"))
        return handler

    def page_number(request: Request, name: str = "page") -> int:
        value = request.query_params.get(name, "1")
        return int(value) if value.isdigit() and len(value) < 7 else 1

    def group_page(kind: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            code = request.path_params["code"]
            return page(request, lambda conn, v, now: ("group.html", views.group(
                conn, v, now, policies, kind, code, page_number(request),
                page_number(request, "late"))))
        return handler

    def school_page(request: Request) -> Response:
        code = request.path_params["code"]
        return page(request, lambda conn, v, now: (
            "school.html", views.school(conn, v, now, policies, code)))

    def step_page(kind: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            code, step = request.path_params["code"], request.path_params["step"]
            return page(request, lambda conn, v, now: ("step.html", todo.step_page(
                conn, v, now, policies, kind, code, step)))
        return handler

    def history_page(request: Request) -> Response:
        p = request.query_params
        query = Query(kind=p.get("kind", "school"), code=p.get("code", "").strip(),
                      event=p.get("event", ""), actor=p.get("actor", "").strip())
        return page(request, lambda conn, v, now: ("history.html", search(conn, v, query)))

    def css(request: Request) -> Response:
        return Response(stylesheet(), media_type="text/css")

    routes = [
        Route("/", home),
        *signin.routes(site),
        *language.routes(),
        Route("/static/style.css", css),
        Route("/regions/{code}", group_page("region")),
        Route("/regions/{code}/steps/{step}", step_page("region")),
        Route("/municipalities/{code}", group_page("municipality")),
        Route("/schools/{code}", school_page),
        Route("/schools/{code}/steps/{step}", step_page("school")),
        Route("/history", history_page),
        Route("/export/regions.{fmt}", export),
        Route("/export/regions/{code}/schools.{fmt}", export_schools("region")),
        Route("/export/municipalities/{code}/schools.{fmt}", export_schools("municipality")),
        Route("/trends", lambda r: page(r, lambda conn, v, now: (
            "trends.html", trends.page(conn, v, now, policies)))),
        Route("/regions/{code}/trends", lambda r: page(r, lambda conn, v, now: (
            "trends.html", trends.page(conn, v, now, policies, r.path_params["code"])))),
        *act.routes(site),
        *uploads.routes(site),
        *api.routes(services, viewer_of, clock),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(language.Language, default=lang)
    app.add_middleware(SecurityHeaders)
    return app


def home_page(conn: Any, viewer: Viewer, now: datetime, policies: Any,
              query: CountryQuery | None = None) -> tuple[str, dict]:
    """Everyone lands on what they must do now; those who see the country also see it."""
    ctx = todo.home(conn, viewer, now, policies)
    if viewer.sees_all:
        ctx |= views.country(conn, viewer, now, policies, query)
        return "country.html", ctx
    return "home.html", ctx | {"week": views.week_of(conn, viewer, now, policies)}


__all__ = ["COOKIE", "SECURITY_HEADERS", "create_app"]

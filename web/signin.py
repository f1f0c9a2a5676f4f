"""/signin, /signin/link and /signout: sign-in by e-mail link, sessions, sign-out.

GET never changes anything: the link in the letter opens a page whose button posts it (mail
scanners that fetch links do not use it up). The answer to a link request is the same whether
the address is known or not; requests beyond the limits get 429.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from web.actions import CSRF_FIELD, safe_local
from web.session import (
    SESSION_COOKIE,
    BadForm,
    clear_cookies,
    current_session,
    form_token,
    keep_form_token,
    read_form,
    same_token,
    set_session_cookie,
)
from web.site import Site
from workflow.i18n import N_, _
from workflow.signin import RateLimited, open_session, redeem_link, request_link, sign_out

SENT = N_("If this address is in the system, a letter with a sign-in link has been sent to "
          "it. The link works for {minutes} min. and only once.")


def client_of(request: Request) -> str:
    """The client's address (behind a proxy: the one the proxy reports, if uvicorn trusts it)."""
    return request.client.host if request.client else "unknown"


def form_page(site: Site, request: Request, template: str, status: int = 200, **ctx: object
              ) -> Response:
    """A page with a sign-in form and its double-submit token (set as a cookie if new)."""
    token, new = form_token(request)
    response = site.html(template, None, site.clock(), status, form_token=token, **ctx)
    if new:
        keep_form_token(response, request, token)
    return response


def signin_form(site: Site, request: Request, status: int = 200, error: str = "",
                sent: str = "", next_url: str | None = "/") -> Response:
    """The sign-in page: asks for an e-mail address (or an API token)."""
    return form_page(site, request, "signin.html", status, error=error, sent=sent,
                     next=safe_local(next_url))


def routes(site: Site) -> list[Route]:
    web = site.config.web

    def signin_page(request: Request, status: int = 200, error: str = "", sent: str = "",
                    next_url: str = "/") -> Response:
        return signin_form(site, request, status, error, sent, next_url)

    async def signin(request: Request) -> Response:
        if request.method == "GET":
            return signin_page(request, next_url=request.query_params.get("next", "/"))
        try:
            form = await read_form(request)
        except BadForm as exc:
            return signin_page(request, exc.status, error=_("Form not accepted."))
        next_url = safe_local(form.get("next"))
        if not same_token(request.cookies.get("rollout_form"), form.get(CSRF_FIELD)):
            return signin_page(request, 403, next_url=next_url,
                               error=_(
                                   "The form is out of date: open the sign-in page again."))
        now = site.clock()
        if form.get("token"):  # an operator's API token, for people without mail yet
            return await run_in_threadpool(token_signin, request, form["token"], next_url)
        email = (form.get("email") or "").strip()
        if not email or len(email) > 254:
            return signin_page(request, 422, error=_("Enter your e-mail address."),
                               next_url=next_url)
        try:
            await run_in_threadpool(request_link, site.services, email, client_of(request), now)
        except RateLimited:
            return signin_page(request, 429, next_url=next_url, error=(
                _("Too many requests for a sign-in link. Try again in an hour.")))
        return signin_page(request, sent=_(SENT, minutes=web.link_minutes),
                           next_url=next_url)

    def token_signin(request: Request, token: str, next_url: str) -> Response:
        now = site.clock()
        from web.access import authenticate

        with site.services.db.read() as conn:
            viewer = authenticate(conn, token.strip(), now)
        if viewer is None:
            return signin_page(request, 401, next_url=next_url,
                               error=_(
                                   "The key did not work: it is wrong, revoked or expired."))
        secret = open_session(site.services, viewer.email, now)[0]
        response = RedirectResponse(next_url, status_code=303)
        set_session_cookie(response, request, secret, web.session_hours * 3600)
        return response

    async def link(request: Request) -> Response:
        if request.method == "GET":  # shows the button; the link is used only by the POST
            secret = request.query_params.get("t", "")
            return form_page(site, request, "signin_link.html", secret=secret[:200])
        try:
            form = await read_form(request)
        except BadForm as exc:
            return signin_page(request, exc.status, error=_("Form not accepted."))
        if not same_token(request.cookies.get("rollout_form"), form.get(CSRF_FIELD)):
            return form_page(site, request, "signin_link.html", 403,
                             secret=form.get("t", "")[:200],
                             error=_("The form is out of date: press “Sign in” again."))
        opened = await run_in_threadpool(redeem_link, site.services, form.get("t", ""),
                                         site.clock())
        if opened is None:
            return signin_page(request, 401, error=(
                _("The sign-in link did not work: it has been used or has expired. "
                  "Ask for a new one.")))
        secret = opened[0]
        response = RedirectResponse("/", status_code=303)
        set_session_cookie(response, request, secret, web.session_hours * 3600)
        return response

    async def signout(request: Request) -> Response:
        now = site.clock()
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            try:
                form = await read_form(request)
            except BadForm:
                form = {}
            with site.services.db.read() as conn:
                session = current_session(conn, request, now)
            if session is not None and not same_token(session.csrf, form.get(CSRF_FIELD)):
                return site.message(None, now, 403, _("Form out of date"), _(
                    "Open the page again and press “Sign out” once more."))
            await run_in_threadpool(sign_out, site.services, secret, now)
        response = RedirectResponse("/signin", status_code=303)
        clear_cookies(response, request)
        return response

    return [
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/signin/link", link, methods=["GET", "POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]

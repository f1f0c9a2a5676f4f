"""Who is asking: the session cookie (browsers) or a Bearer token (scripts), and the CSRF checks.

A browser signs in by an e-mail link and then carries `rollout_session` (HttpOnly, SameSite=Lax,
Secure over HTTPS). The session row holds the synchronizer token that every state-changing form
must send back as `csrf`; the forms before sign-in (asking for a link, using it) are protected
by a double-submit pair instead (`rollout_form` cookie and the same value in the form).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from web.access import Viewer, authenticate, viewer_for
from workflow.signin import Session, session_of

SESSION_COOKIE = "rollout_session"
TOKEN_COOKIE = "rollout_token"  # the first release's cookie (an API token): read-only pages
FORM_COOKIE = "rollout_form"  # the double-submit token of the sign-in forms
MAX_FORM = 16 * 1024  # bytes: the biggest form (an appointment with a reason) is far smaller


class BadForm(Exception):
    """A form too large or malformed (413/422)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_session(conn: Any, request: Request, now: datetime) -> Session | None:
    return session_of(conn, request.cookies.get(SESSION_COOKIE), now)


def identify(conn: Any, request: Request, now: datetime) -> Viewer | None:
    """The viewer of a request: a Bearer token first, then the session, then the old cookie."""
    token = bearer(request)
    if token:
        return authenticate(conn, token, now)
    found = current_session(conn, request, now)
    if found is not None:
        return viewer_for(conn, found.email, found.csrf)
    return authenticate(conn, request.cookies.get(TOKEN_COOKIE), now)


def is_https(request: Request) -> bool:
    """Served over HTTPS (directly, or behind a proxy that uvicorn trusts for the scheme)."""
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, secret: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, secret, max_age=max_age, path="/", httponly=True,
                        secure=is_https(request), samesite="lax")


def clear_cookies(response: Response, request: Request) -> None:
    for name in (SESSION_COOKIE, TOKEN_COOKIE):
        response.delete_cookie(name, path="/", httponly=True, secure=is_https(request),
                               samesite="lax")


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a form's token with the expected one (both present)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def read_form(request: Request, limit: int = MAX_FORM) -> dict[str, str]:
    """An url-encoded form body, one value per field, refused beyond `limit` bytes."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise BadForm(415, "expected an url-encoded form")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadForm(413, "form too large")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=30, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise BadForm(422, "malformed form") from None
    return {k: v[0] for k, v in fields.items()}


def form_token(request: Request) -> tuple[str, bool]:
    """The double-submit token of the sign-in forms: the cookie's, or a new one (True)."""
    current = request.cookies.get(FORM_COOKIE, "")
    if 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(24), True


def keep_form_token(response: Response, request: Request, token: str) -> None:
    response.set_cookie(FORM_COOKIE, token, max_age=3600, path="/signin", httponly=True,
                        secure=is_https(request), samesite="strict")


__all__ = ["FORM_COOKIE", "SESSION_COOKIE", "TOKEN_COOKIE", "BadForm", "bearer",
           "clear_cookies", "current_session", "form_token", "identify", "is_https",
           "keep_form_token", "read_form", "same_token", "set_session_cookie"]

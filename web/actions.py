"""The pattern of every state-changing request (a form posted by a signed-in person).

`action(site, run, back)` makes the handler: it needs a live session (401 otherwise), reads the
form (size-limited), checks the session's CSRF token (403, nothing changes), then calls `run`
— a thin function that calls the same service as the command line with the person as actor
and "web" as the channel — in the thread pool. Success answers 303 to the page it names, with
`?done=WHAT` for the message shown there; a refusal renders the verdict with its figures, in
the reader's language: 403 out of scope or not permitted, 409 a guard or a conflict, 422 bad
input, 404 an unknown code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from storage import ConflictError
from web.access import Viewer, viewer_for
from web.errors import NotFound, OutOfScope
from web.session import BadForm, current_session, read_form, same_token
from web.site import Site
from workflow.errors import (
    DefinitionStale,
    GuardRefused,
    PermissionDenied,
    UnknownCode,
    UsageError,
    WorkflowError,
)
from workflow.i18n import N_, _, pick

CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Done:
    """Where a successful action sends the browser, and what the page says there."""

    to: str  # a local path
    what: str  # a key of the messages the page knows (web/templates/_done.html)


Run = Callable[[Viewer, dict[str, str], datetime, Request], Done]


def safe_local(target: str | None, default: str = "/") -> str:
    """Only a path of this site may be a redirect target, never an open redirect (`//host`,
    `/\\host`, a scheme, control characters are all refused)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def refusal(exc: Exception) -> tuple[int, str, list[str]]:
    """The HTTP status, the title and the details (the verdict's figures) of a refusal."""
    if isinstance(exc, PermissionDenied):
        verdict = exc.verdict
        return 403, _("You may not do this"), [
            pick(r.en, r.ru) for r in verdict.reasons] if verdict else []
    if isinstance(exc, OutOfScope):
        return 403, _("You may not do this"), []
    if isinstance(exc, GuardRefused):
        return 409, _("Action refused"), [pick(r.en, r.ru) for r in exc.verdict.reasons]
    if isinstance(exc, ConflictError | DefinitionStale):
        return 409, _("The data have changed"), []
    if isinstance(exc, UnknownCode | NotFound):
        return 404, _("Not found"), []
    if isinstance(exc, BadForm):
        return exc.status, _("Form not accepted"), []
    return 422, _("Check what you entered"), []


def said(exc: Exception) -> str:
    """What a page says of a refusal, in the page's language: the web errors' own text is
    English, for the JSON API and the logs."""
    if isinstance(exc, OutOfScope):
        return _("This is outside your area of responsibility.")
    if isinstance(exc, NotFound):
        return _("There is no such region, municipality or school.")
    return str(exc)


def action(site: Site, run: Run, back: Callable[[Request, dict[str, str]], str]
           ) -> Callable[[Request], Awaitable[Response]]:
    """The POST handler of one action (see the module's docstring)."""

    async def handler(request: Request) -> Response:
        now = site.clock()
        with site.services.db.read() as conn:
            session = current_session(conn, request, now)
            viewer = viewer_for(conn, session.email, session.csrf) if session else None
        if session is None or viewer is None:
            return site.message(None, now, 401, _("Sign in needed"), _(
                "Your session has ended or you are not signed in. Sign in again."),
                                back="/signin")
        form: dict[str, str] = {}
        try:
            form = await read_form(request)
        except BadForm as exc:
            return site.message(viewer, now, exc.status, _("Form not accepted"), str(exc))
        page = safe_local(back(request, form))
        if not same_token(session.csrf, form.get(CSRF_FIELD)):
            return site.message(viewer, now, 403, _("Form out of date"), _(
                "The form was not sent from a page of the system or is out of date; nothing "
                "was changed. Open the page again and retry."),
                                back=page)
        try:
            done = await run_in_threadpool(run, viewer, form, now, request)
        except (WorkflowError, ConflictError, OutOfScope, NotFound, BadForm) as exc:
            if isinstance(exc, UnknownCode | NotFound) and not viewer.sees_all:
                exc = OutOfScope(str(exc))  # a scoped person learns nothing about other codes
            status, title, details = refusal(exc)
            text = said(exc) if not details else (
                _("The step's conditions are not met:") if status == 409
                else _("Action not permitted:"))
            return site.message(viewer, now, status, title, text, back=page, details=details)
        target = safe_local(done.to)
        sep = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{sep}{urlencode({'done': done.what})}",
                                status_code=303)

    return handler


def field(form: dict[str, str], name: str, required: bool = True, limit: int = 500) -> str:
    """One form field, trimmed; UsageError (422) naming it when missing or too long."""
    value = " ".join((form.get(name) or "").split())
    if required and not value:
        raise UsageError(_("the field “{label}” is empty", label=label(name)))
    if len(value) > limit:
        raise UsageError(_("the field “{label}” is longer than {limit} characters",
                           label=label(name), limit=limit))
    return value


LABELS = {"reason": N_("Reason"), "email": N_("E-mail"), "name": N_("Full name"),
          "role": N_("Role"), "scope": N_("Code"), "position": N_("Position"),
          "phone": N_("Phone"), "step": N_("Step"), "old_email": N_("Whom to replace")}


def label(name: str) -> str:
    """A form field's label as the form shows it."""
    return _(LABELS[name]) if name in LABELS else name

__all__ = ["CSRF_FIELD", "Done", "Run", "action", "field", "refusal", "safe_local"]

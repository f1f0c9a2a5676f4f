"""The actions as routes: each is a thin call of the service the command line calls.

Steps:   POST /{regions|schools}/CODE/steps/SLUG/{complete|skip|reopen}  (reason for skip, reopen)
People:  POST /people/{assign|unassign|replace}  (role, scope, email, name, …; back)
Letters: POST /regions/CODE/letters/{coordinator|registry}
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from notifications.links import step_url
from web.access import Viewer
from web.actions import Done, action, field, safe_local
from web.site import Site
from workflow.errors import UsageError
from workflow.i18n import _
from workflow.services import WEB

Handler = Callable[[Request], Awaitable[Response]]
KINDS = {"regions": "region", "schools": "school"}
LETTER_STEP = {"coordinator": "coordinator", "registry": "registry"}


def _step_back(request: Request, form: dict[str, str]) -> str:
    p = request.path_params
    return step_url("", KINDS[p["pages"]], p["code"], p["step"])


def _form_back(request: Request, form: dict[str, str]) -> str:
    return safe_local(form.get("back"))


def routes(site: Site) -> list[Route]:
    services = site.services

    def step_action(verb: str) -> Handler:
        def run(viewer: Viewer, form: dict[str, str], now: datetime, request: Request) -> Done:
            p = request.path_params
            kind, code, step = KINDS[p["pages"]], p["code"], p["step"]
            if verb == "complete":
                reason = field(form, "reason", required=False) or None
                services.advance(kind, code, step, viewer.email, now, reason, channel=WEB)
            else:
                method = services.skip if verb == "skip" else services.reopen
                method(kind, code, step, viewer.email, now, field(form, "reason"), channel=WEB)
            return Done(step_url("", kind, code, step), verb)
        return action(site, run, _step_back)

    def people_action(verb: str) -> Handler:
        def run(viewer: Viewer, form: dict[str, str], now: datetime, request: Request) -> Done:
            from workflow.people import replace, unassign

            role, scope = field(form, "role", limit=40), field(form, "scope", limit=40)
            reason = field(form, "reason", required=False) or None
            if verb == "unassign":
                unassign(services, role, scope, field(form, "email", limit=254), viewer.email,
                         now, reason, channel=WEB)
                return Done(safe_local(form.get("back")), verb)
            email, name = field(form, "email", limit=254), field(form, "name", limit=300)
            details = {"position": field(form, "position", False, 300) or None,
                       "phone": field(form, "phone", False, 60) or None}
            if verb == "assign":
                services.assign(role, scope, email, name, viewer.email, now, channel=WEB,
                                **details)
            else:
                replace(services, role, scope, field(form, "old_email", limit=254), email, name,
                        viewer.email, now, reason, channel=WEB, **details)
            return Done(safe_local(form.get("back")), verb)
        return action(site, run, _form_back)

    def send_letter(viewer: Viewer, form: dict[str, str], now: datetime,
                    request: Request) -> Done:
        from workflow.mail import queue_letter

        code, name = request.path_params["code"], request.path_params["name"]
        if name not in LETTER_STEP:
            raise UsageError(_("no such letter: {name}", name=name))
        queue_letter(services, name, code, now, actor=viewer.email, channel=WEB)
        return Done(step_url("", "region", code, LETTER_STEP[name]), f"letter-{name}")

    def letter_back(request: Request, form: dict[str, str]) -> str:
        name = request.path_params["name"]
        return step_url("", "region", request.path_params["code"],
                        LETTER_STEP.get(name, "coordinator"))

    out = []
    for pages_name in KINDS:
        for verb in ("complete", "skip", "reopen"):
            out.append(Route(f"/{pages_name}/{{code}}/steps/{{step}}/{verb}",
                             _with_pages(step_action(verb), pages_name), methods=["POST"]))
    out += [Route(f"/people/{verb}", people_action(verb), methods=["POST"])
            for verb in ("assign", "unassign", "replace")]
    out.append(Route("/regions/{code}/letters/{name}", action(site, send_letter, letter_back),
                     methods=["POST"]))
    return out


def _with_pages(handler: Handler, pages_name: str) -> Handler:
    """Starlette has no alternatives in a path: one route per page kind, tagged here."""
    async def tagged(request: Request) -> Response:
        request.scope["path_params"]["pages"] = pages_name
        return await handler(request)
    return tagged

"""The JSON API of the contract: report, a region's or school's status, a machine's history.

The same data as `report --format json`, `status --json` and `audit log --json`, scoped: 401
without a valid token, 403 outside the person's scope (and for the history unless auditor or
program manager), 404 for an unknown code that the person could otherwise see.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from web import views
from web.access import Viewer, redact_people
from web.cartogram import By
from web.errors import NotFound, NotSignedIn, OutOfScope
from workflow.audit import machine_log
from workflow.errors import UnknownCode, UsageError
from workflow.i18n import speaking
from workflow.services import machine_status


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def routes(services: Any, viewer_of: Callable[[Request], Viewer],
           clock: Callable[[], datetime]) -> list[Route]:
    """The API routes, each authenticated by `viewer_of` and answered as JSON."""
    policies = services.policies

    def guarded(build: Callable[[Request, Any, Viewer], Any]) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            try:
                viewer = viewer_of(request)
                with services.db.read() as conn:
                    return _json(build(request, conn, viewer))
            except NotSignedIn as exc:
                return _json({"error": "unauthorized", "message": str(exc)}, 401,
                             {"WWW-Authenticate": 'Bearer realm="rollout"'})
            except OutOfScope as exc:
                return _json({"error": "forbidden", "message": str(exc)}, 403)
            except (NotFound, UnknownCode) as exc:
                return _json({"error": "not_found", "message": str(exc)}, 404)
            except UsageError as exc:
                return _json({"error": "bad_request", "message": str(exc)}, 400)
        return handler

    def report(request: Request, conn: Any, viewer: Viewer) -> Any:
        return views.report(conn, viewer)

    def map_tiles(request: Request, conn: Any, viewer: Viewer) -> Any:
        by = request.query_params.get("by", By.LATE.value)
        if by not in set(By):
            raise UsageError("by is late or progress")
        with speaking("ru"):  # the tiles' labels and legend, Russian as the API has always had
            return views.map_data(conn, viewer, clock(), policies, By(by))

    def status_of(kind: str) -> Callable[[Request, Any, Viewer], Any]:
        def build(request: Request, conn: Any, viewer: Viewer) -> Any:
            code = request.path_params["code"]
            views.readable(conn, viewer, kind, code)
            data = machine_status(conn, kind, code, policies)
            data["people"] = redact_people(conn, viewer, data["people"])
            return data
        return build

    def audit(request: Request, conn: Any, viewer: Viewer) -> Any:
        if not viewer.reads_history:
            raise OutOfScope("the history (auditors and program managers only)")
        region, school = (request.query_params.get(k) for k in ("region", "school"))
        if bool(region) == bool(school):
            raise UsageError("give exactly one of ?region=CODE or ?school=CODE")
        kind, code = ("region", region) if region else ("school", school)
        return machine_log(conn, kind, code or "")

    return [
        Route("/api/report", guarded(report)),
        Route("/api/map", guarded(map_tiles)),
        Route("/api/regions/{code}", guarded(status_of("region"))),
        Route("/api/schools/{code}", guarded(status_of("school"))),
        Route("/api/audit", guarded(audit)),
    ]

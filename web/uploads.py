"""Uploads: an import file previewed and confirmed (/uploads), and the region's own list of
schools reconciled on the region's page (/regions/CODE/reconcile).

The body of an upload is streamed through Starlette's multipart parser with a cap: a declared
Content-Length above it is refused before reading, and the bytes are counted as they arrive
(413 past the cap). The file then goes to the same services as the command line
(workflow/uploads.py: the importer's dry run, the confirm; workflow/reconcile).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from notifications.links import machine_url
from storage import ConflictError, repo
from storage.models import regions
from web.access import Viewer, viewer_for
from web.actions import Done, action, field, refusal, said
from web.errors import NotFound, OutOfScope
from web.session import BadForm, current_session, same_token
from web.site import Site
from workflow import uploads
from workflow.errors import InvalidInput, PermissionDenied, WorkflowError
from workflow.i18n import N_, _
from workflow.reconcile import accept
from workflow.reconcile.present import last_reconciliation, last_request

MAX_BODY = uploads.MAX_UPLOAD_BYTES + 64 * 1024  # the file and the form's few fields
KIND_TITLES = {"people": N_("People and roles"), "metrics": N_("School figures"),
               "schools": N_("Schools")}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Handler = Callable[[Request], Awaitable[Response]]


def titles() -> dict[str, str]:
    """The kinds of upload as the pages name them."""
    return {kind: _(title) for kind, title in KIND_TITLES.items()}


def too_large() -> str:
    return _("the file is larger than {mb} MB", mb=uploads.MAX_UPLOAD_BYTES // 2**20)


async def read_upload(request: Request, limit: int = MAX_BODY
                      ) -> tuple[dict[str, str], str, bytes]:
    """The form's text fields, the file's name and its bytes; BadForm (413, 415, 422)."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise BadForm(415, _("a form with a file was expected"))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadForm(413, too_large())

    async def capped() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise BadForm(413, too_large())
            yield chunk

    parser = MultiPartParser(request.headers, capped(), max_files=1, max_fields=10,
                             max_part_size=4096)
    try:
        form = await parser.parse()
    except MultiPartException:
        raise BadForm(422, _("the form with the file could not be read")) from None
    try:
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise BadForm(422, _("no file chosen"))
        return fields, file.filename, await file.read()
    finally:
        await form.close()


def row_problems(problems: list[str], file: str) -> list[str]:
    """The importer's `FILE:ROW: column: problem` lines as the page shows them: ROW first."""
    try:
        prefix = f"{uploads.safe_name(file)}:"
    except InvalidInput:
        return problems
    return [p[len(prefix):] if p.startswith(prefix) else p for p in problems]


def routes(site: Site) -> list[Route]:
    services = site.services

    def signed_in(request: Request, now: datetime) -> tuple[Any, Viewer | None]:
        with services.db.read() as conn:
            session = current_session(conn, request, now)
            viewer = viewer_for(conn, session.email, session.csrf) if session else None
        return session, viewer

    def upload_form(viewer: Viewer, now: datetime, status: int = 200, **ctx: Any) -> Response:
        kinds = uploads.allowed_kinds(services, viewer.email)
        ctx.setdefault("problems", [])
        ctx.setdefault("kind", kinds[0] if kinds else "")
        ctx.setdefault("file", "")
        return site.html("upload.html", viewer, now, status, kinds=kinds, titles=titles(),
                         max_mb=uploads.MAX_UPLOAD_BYTES // 2**20, **ctx)

    async def upload_page(request: Request) -> Response:
        now = site.clock()
        viewer = site.viewer(request, now)
        if viewer is None:
            return RedirectResponse("/signin?next=/uploads", status_code=303)
        return upload_form(viewer, now, done=request.query_params.get("done", ""))

    async def received(request: Request, now: datetime, back: str
                       ) -> Response | tuple[Viewer, dict[str, str], str, bytes]:
        """The signed-in person's file and form fields, its CSRF token checked; or the page
        that says why nothing was taken (401, 413/422, 403)."""
        session, viewer = signed_in(request, now)
        if session is None or viewer is None:
            return site.message(None, now, 401, _("Sign in needed"), _(
                "Your session has ended or you are not signed in. Sign in again."),
                                back="/signin")
        try:
            fields, name, content = await read_upload(request)
        except BadForm as exc:
            return site.message(viewer, now, exc.status, _("File not accepted"), str(exc),
                                back=back)
        if not same_token(session.csrf, fields.get("csrf")):
            return site.message(viewer, now, 403, _("Form out of date"), _(
                "Open the page again and upload the file once more; nothing was changed."),
                back=back)
        return viewer, fields, name, content

    async def upload(request: Request) -> Response:
        now = site.clock()
        got = await received(request, now, "/uploads")
        if isinstance(got, Response):
            return got
        viewer, fields, name, content = got
        kind, remove = fields.get("kind", ""), fields.get("remove_missing") == "1"
        try:
            seen = await run_in_threadpool(uploads.preview, services, viewer.email, kind, name,
                                           content, remove_missing=remove, now=now)
        except PermissionDenied as exc:
            return site.message(viewer, now, 403, _("You may not make this upload"), str(exc),
                                back="/uploads")
        except InvalidInput as exc:
            return upload_form(viewer, now, 422, problems=row_problems(exc.problems, name),
                               kind=kind, file=name, done="")
        return site.html("upload_preview.html", viewer, now, preview=seen, titles=titles())

    def confirm(viewer: Viewer, form: dict[str, str], now: datetime, request: Request) -> Done:
        uploads.confirm(services, viewer.email, request.path_params["upload_id"], now)
        return Done("/uploads", "imported")

    async def reconcile_page(request: Request) -> Response:
        now = site.clock()
        code = request.path_params["code"]
        viewer = site.viewer(request, now)
        if viewer is None:
            return RedirectResponse(f"/signin?next=/regions/{code}/reconcile", status_code=303)
        try:
            ctx = await run_in_threadpool(_reconcile_context, viewer, code)
        except (OutOfScope, NotFound) as exc:
            status, title, _details = refusal(exc)
            return site.message(viewer, now, status, title, said(exc))
        return site.html("reconcile.html", viewer, now, done=request.query_params.get(
            "done", ""), problems=[], **ctx)

    def _reconcile_context(viewer: Viewer, code: str) -> dict[str, Any]:
        with services.db.read() as conn:
            target = repo.target(conn, "region", code)
            if target is None:
                raise NotFound("region", code)
            if not viewer.may_see(target):
                raise OutOfScope(f"region {code}")
            name = conn.execute(select(regions.c.name).where(regions.c.code == code)).scalar()
            return {"code": code, "region_name": name or code,
                    "last": last_reconciliation(conn, code),
                    "region_url": machine_url("", "region", code)}

    async def reconcile_upload(request: Request) -> Response:
        now = site.clock()
        code = request.path_params["code"]
        back = f"/regions/{code}/reconcile"
        got = await received(request, now, back)
        if isinstance(got, Response):
            return got
        viewer, _fields, name, content = got
        try:
            await run_in_threadpool(uploads.reconcile_upload, services, code, name, content,
                                    viewer.email, now)
        except InvalidInput as exc:
            ctx = await run_in_threadpool(_reconcile_context, viewer, code)
            return site.html("reconcile.html", viewer, now, 422, done="",
                             problems=row_problems(exc.problems, name), **ctx)
        except (WorkflowError, ConflictError) as exc:
            status, title, details = refusal(exc)
            return site.message(viewer, now, status, title, str(exc), back=back,
                                details=details)
        return RedirectResponse(f"{back}?done=reconciled", status_code=303)

    async def request_file(request: Request) -> Response:
        now = site.clock()
        code = request.path_params["code"]
        viewer = site.viewer(request, now)
        if viewer is None:
            return site.message(None, now, 401, _("Sign in needed"),
                                _("Sign in to download the request."),
                                back="/signin")
        try:
            await run_in_threadpool(_reconcile_context, viewer, code)
            with services.db.read() as conn:
                name, data = last_request(conn, code)
        except (OutOfScope, NotFound, InvalidInput) as exc:
            status, title, _details = refusal(exc)
            return site.message(viewer, now, status, title, said(exc))
        return Response(data, media_type=XLSX, headers={
            "content-disposition": f'attachment; filename="{name}"'})

    def accept_open(viewer: Viewer, form: dict[str, str], now: datetime,
                    request: Request) -> Done:
        code = request.path_params["code"]
        accept(services, code, field(form, "reason", limit=1000), viewer.email, now)
        return Done(f"/regions/{code}/reconcile", "accepted")

    def reconcile_back(request: Request, form: dict[str, str]) -> str:
        return f"/regions/{request.path_params['code']}/reconcile"

    return [
        Route("/uploads", upload_page, methods=["GET"]),
        Route("/uploads", upload, methods=["POST"]),
        Route("/uploads/{upload_id}/confirm",
              action(site, confirm, lambda request, form: "/uploads"), methods=["POST"]),
        Route("/regions/{code}/reconcile", reconcile_page, methods=["GET"]),
        Route("/regions/{code}/reconcile", reconcile_upload, methods=["POST"]),
        Route("/regions/{code}/reconcile/request.xlsx", request_file, methods=["GET"]),
        Route("/regions/{code}/reconcile/accept", action(site, accept_open, reconcile_back),
              methods=["POST"]),
    ]


__all__ = ["MAX_BODY", "read_upload", "routes", "row_problems"]

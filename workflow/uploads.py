"""Imports uploaded on the web: a preview that is the importer's own dry run on the uploaded
bytes, then a confirm that imports exactly those bytes, all or nothing.

Why the bytes wait in the database rather than being uploaded again: a page without scripts
cannot carry a file from the preview to the confirm, and a second upload could be another file.
Kept in `uploads` (storage/uploads.py), keyed by a random id, bound to the person who uploaded
it, for UPLOAD_TTL; every process of `serve` sees it (PostgreSQL), and the confirm consumes it
inside the import's own transaction, so it imports once.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from states import upload_kinds
from storage import ConflictError, repo
from storage import uploads as staged
from workflow.errors import InvalidInput, PermissionDenied
from workflow.i18n import _
from workflow.importing import ImportResult, import_file
from workflow.importing.validation import MAX_XLSX_BYTES
from workflow.reconcile import Reconciliation, reconcile

MAX_UPLOAD_BYTES = MAX_XLSX_BYTES  # 20 MB: a national registry CSV is ~10 MB
UPLOAD_TTL = timedelta(hours=1)
CHANNEL = "web"
SUFFIXES = (".csv", ".xlsx")


def _gone() -> str:
    """The message for an upload that is no longer kept (built when shown, in its language)."""
    return _("the upload is gone: it was imported already or has expired; upload the file again")


@dataclass(frozen=True)
class Preview:
    """The dry run of an upload: what would change, and the id its confirm names."""

    upload_id: str
    kind: str
    file: str
    remove_missing: bool
    result: ImportResult


def allowed_kinds(services: Any, email: str) -> list[str]:
    """The import kinds `email` may upload (states.UPLOADERS)."""
    with services.db.read() as conn:
        return upload_kinds(repo.grants(conn, email))


def safe_name(name: str) -> str:
    """The uploaded file's own name, as errors quote it: no folders, no odd characters."""
    base = re.split(r"[\\/]", name or "")[-1].strip()
    base = re.sub(r"[^\w.\- ]", "_", base)[:120].lstrip(".") or "file"
    if not base.lower().endswith(SUFFIXES):
        raise InvalidInput(_("{file}: upload a CSV or XLSX file", file=base))
    return base


def preview(services: Any, email: str, kind: str, name: str, content: bytes, *,
            remove_missing: bool, now: datetime) -> Preview:
    """Dry-run the import of `content` as `email` would do it; keep the bytes for the confirm.

    InvalidInput lists the problems (`FILE:ROW: column: problem`); nothing is kept then."""
    _check_kind(services, email, kind)
    remove_missing = remove_missing and kind == "people"  # the flag is the people file's
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput(_("the file is larger than {mb} MB", mb=MAX_UPLOAD_BYTES // 2**20))
    file = safe_name(name)
    result = _run(services, email, kind, file, content, now, dry_run=True,
                  remove_missing=remove_missing)
    with services.db.write() as conn:
        staged.purge(conn, now)
        upload_id = staged.stage(conn, email=email, kind=kind, file=file,
                                 sha256=hashlib.sha256(content).hexdigest(), content=content,
                                 remove_missing=remove_missing, now=now,
                                 expires_at=now + UPLOAD_TTL)
    return Preview(upload_id, kind, file, remove_missing, result)


def pending(services: Any, email: str, upload_id: str, now: datetime) -> dict[str, Any]:
    """The person's kept upload (its content left out), or InvalidInput if it is gone."""
    with services.db.read() as conn:
        row = staged.find(conn, upload_id, email, now)
    if row is None:
        raise InvalidInput(_gone())
    row.pop("content")
    return row


def confirm(services: Any, email: str, upload_id: str, now: datetime) -> ImportResult:
    """Import the kept upload, all or nothing, once. ConflictError if it was confirmed
    already (or ran out meanwhile)."""
    with services.db.read() as conn:
        row = staged.find(conn, upload_id, email, now)
    if row is None:
        raise InvalidInput(_gone())
    _check_kind(services, email, row["kind"])
    if hashlib.sha256(row["content"]).hexdigest() != row["sha256"]:
        raise InvalidInput(_("{file}: the kept file is damaged; upload it again",
                              file=row["file"]))

    def take(conn: Connection) -> None:
        if not staged.claim(conn, upload_id, email, now):
            raise ConflictError("upload", row["file"])

    return _run(services, email, row["kind"], row["file"], row["content"], now, dry_run=False,
                remove_missing=row["remove_missing"], claim=take)


def _check_kind(services: Any, email: str, kind: str) -> None:
    if kind not in allowed_kinds(services, email):
        raise PermissionDenied(_("{email}: you may not upload {kind} files", email=email,
                                kind=kind))


def reconcile_upload(services: Any, region: str, name: str, content: bytes, actor: str,
                     now: datetime) -> Reconciliation:
    """`rollout reconcile --region CODE FILE --as EMAIL` on an uploaded list."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput(_("the file is larger than {mb} MB", mb=MAX_UPLOAD_BYTES // 2**20))
    with as_file(safe_name(name), content) as path:
        return reconcile(services, region, path, now, actor)


@contextmanager
def as_file(name: str, content: bytes) -> Iterator[Path]:
    """The bytes as a file of that name in a private temporary folder, removed afterwards:
    the readers take a path, and their errors quote the file's own name."""
    with tempfile.TemporaryDirectory(prefix="rollout-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        yield path


def _run(services: Any, email: str, kind: str, file: str, content: bytes, now: datetime, *,
         dry_run: bool, remove_missing: bool, claim: Any = None) -> ImportResult:
    """The importer on the bytes, under the file's own name (errors quote it)."""
    with as_file(file, content) as path:
        return import_file(services, kind, path, now=now, dry_run=dry_run, actor=email,
                           channel=CHANNEL, remove_missing=remove_missing,
                           claim=claim)


__all__ = ["MAX_UPLOAD_BYTES", "Preview", "allowed_kinds", "as_file", "confirm", "pending",
           "preview", "reconcile_upload"]

"""Files uploaded on the web, kept between their preview and the confirm that imports them.

A row holds the exact bytes that were previewed, its owner and an expiry: the confirm imports
those bytes and nothing else, only for the person who uploaded them, once (`claim` deletes the
row inside the import's transaction, so a second confirm finds nothing).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    select,
)

from storage.models import metadata, required
from storage.types import UtcDateTime

uploads = Table(
    "uploads", metadata,
    required("id", String(32), primary_key=True),
    required("email", String(254), ForeignKey("people.email"), index=True),
    required("kind", String(16)),
    required("file", String(255)),
    required("sha256", String(64)),
    required("size", Integer),
    required("remove_missing", Boolean),
    required("content", LargeBinary),
    required("created_at", UtcDateTime),
    required("expires_at", UtcDateTime),
)


def stage(conn: Connection, *, email: str, kind: str, file: str, sha256: str, content: bytes,
          remove_missing: bool, now: datetime, expires_at: datetime) -> str:
    """Keep an upload; returns its id (128 random bits, URL-safe)."""
    upload_id = secrets.token_urlsafe(16)
    conn.execute(insert(uploads).values(
        id=upload_id, email=email, kind=kind, file=file, sha256=sha256, size=len(content),
        remove_missing=remove_missing, content=content, created_at=now, expires_at=expires_at))
    return upload_id


def find(conn: Connection, upload_id: str, email: str, now: datetime) -> dict[str, Any] | None:
    """The person's upload, unless it expired or was imported already."""
    row = conn.execute(select(uploads).where(
        uploads.c.id == upload_id, uploads.c.email == email, uploads.c.expires_at > now)).first()
    return dict(row._mapping) if row else None


def claim(conn: Connection, upload_id: str, email: str, now: datetime) -> bool:
    """Take the upload for its import (delete it); False when it is gone or expired."""
    result = conn.execute(delete(uploads).where(
        uploads.c.id == upload_id, uploads.c.email == email, uploads.c.expires_at > now))
    return result.rowcount == 1


def purge(conn: Connection, now: datetime) -> int:
    """Forget the uploads whose time ran out; how many."""
    return conn.execute(delete(uploads).where(uploads.c.expires_at <= now)).rowcount


__all__ = ["claim", "find", "purge", "stage", "uploads"]

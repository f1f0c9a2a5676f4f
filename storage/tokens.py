"""Access tokens for the dashboard: a public key id and the SHA-256 of the secret, never the secret.

A token reads `KEYID.SECRET`; the row is found by its key id and the secret's hash is compared
in constant time (`hmac.compare_digest`), so a lookup never reveals how much of a guess matched.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    delete,
    insert,
    select,
)

from storage.models import metadata, required
from storage.types import UtcDateTime

access_tokens = Table(
    "access_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("key_id", String(32), unique=True),
    required("email", String(254), ForeignKey("people.email"), index=True),
    required("secret_hash", String(64)),
    required("created_at", UtcDateTime),
    # None: made before tokens expired; such a token lasts TOKEN_DAYS from its creation
    Column("expires_at", UtcDateTime, nullable=True),
)
TOKEN_DAYS = 90  # the default lifetime; `token create --days N` sets another


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def insert_token(conn: Connection, key_id: str, email: str, secret: str, now: datetime,
                 expires_at: datetime | None = None) -> datetime:
    """Store a token: its key id, the hash of its secret and when it expires (returned)."""
    expires_at = expires_at or now + timedelta(days=TOKEN_DAYS)
    conn.execute(insert(access_tokens).values(key_id=key_id, email=email,
                                              secret_hash=digest(secret), created_at=now,
                                              expires_at=expires_at))
    return expires_at


def delete_tokens(conn: Connection, email: str) -> list[str]:
    """Remove every token of a person; returns the key ids removed."""
    keys = list(conn.execute(select(access_tokens.c.key_id)
                             .where(access_tokens.c.email == email)).scalars())
    if keys:
        conn.execute(delete(access_tokens).where(access_tokens.c.email == email))
    return keys


def email_for(conn: Connection, token: str, now: datetime) -> str | None:
    """The e-mail whose token this is, or None (unknown, wrong or expired at `now`).

    The secret is compared in constant time.
    """
    key_id, sep, secret = token.strip().partition(".")
    if not sep or not key_id or not secret or len(token) > 200:
        return None
    row = conn.execute(select(access_tokens.c.email, access_tokens.c.secret_hash,
                              access_tokens.c.created_at, access_tokens.c.expires_at)
                       .where(access_tokens.c.key_id == key_id)).first()
    if row is None:
        hmac.compare_digest(digest(secret), "0" * 64)  # same work whether or not the key exists
        return None
    if not hmac.compare_digest(digest(secret), row.secret_hash):
        return None
    expires = row.expires_at or row.created_at + timedelta(days=TOKEN_DAYS)
    return row.email if now < expires else None

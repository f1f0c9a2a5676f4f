"""Access tokens for the dashboard: a public key id and the SHA-256 of the secret, never the secret.

A token reads `KEYID.SECRET`; the row is found by its key id and the secret's hash is compared
in constant time (`hmac.compare_digest`), so a lookup never reveals how much of a guess matched.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

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
)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def insert_token(conn: Connection, key_id: str, email: str, secret: str, now: datetime) -> None:
    """Store a token: its key id and the hash of its secret."""
    conn.execute(insert(access_tokens).values(key_id=key_id, email=email,
                                              secret_hash=digest(secret), created_at=now))


def delete_tokens(conn: Connection, email: str) -> list[str]:
    """Remove every token of a person; returns the key ids removed."""
    keys = list(conn.execute(select(access_tokens.c.key_id)
                             .where(access_tokens.c.email == email)).scalars())
    if keys:
        conn.execute(delete(access_tokens).where(access_tokens.c.email == email))
    return keys


def email_for(conn: Connection, token: str) -> str | None:
    """The e-mail whose token this is, or None; the secret is compared in constant time."""
    key_id, sep, secret = token.strip().partition(".")
    if not sep or not key_id or not secret or len(token) > 200:
        return None
    row = conn.execute(select(access_tokens.c.email, access_tokens.c.secret_hash)
                       .where(access_tokens.c.key_id == key_id)).first()
    if row is None:
        hmac.compare_digest(digest(secret), "0" * 64)  # same work whether or not the key exists
        return None
    return row.email if hmac.compare_digest(digest(secret), row.secret_hash) else None

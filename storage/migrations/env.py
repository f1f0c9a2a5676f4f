"""Alembic environment: runs on the connection that `Database.migrate` hands in."""

from alembic import context

import storage.outbox  # noqa: F401 - their tables join the metadata
import storage.sessions  # noqa: F401
import storage.tokens  # noqa: F401
from storage.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `rollout init` (storage.db.Database.migrate)")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

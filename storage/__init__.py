"""Persistence: SQLAlchemy models, the database, repositories and the hash-chained history."""

from storage import history, models, repo, sessions
from storage.db import Database
from storage.errors import (
    ChainBroken,
    ConflictError,
    DatabaseBusy,
    DatabaseNotReady,
    StorageError,
)
from storage.history import NewEvent
from storage.repo import MachineRow

__all__ = [
    "ChainBroken",
    "ConflictError",
    "Database",
    "DatabaseBusy",
    "DatabaseNotReady",
    "MachineRow",
    "NewEvent",
    "StorageError",
    "history",
    "models",
    "repo",
    "sessions",
]

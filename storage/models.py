"""The tables: the registry, people, machines, metrics and the hash-chained history.

Declared with SQLAlchemy Core (`Table`): the code reads and writes through Core statements
only, and leaving the ORM out keeps every CLI call a tenth of a second faster to start.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeEngine

from storage.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


ColumnType = TypeEngine[Any] | type[TypeEngine[Any]]


def required(name: str, type_: ColumnType, *args: SchemaItem, **kw: Any) -> Column[Any]:
    return Column(name, type_, *args, nullable=False, **kw)


def optional(name: str, type_: ColumnType, *args: SchemaItem, **kw: Any) -> Column[Any]:
    return Column(name, type_, *args, nullable=True, **kw)


regions = Table(
    "regions", metadata,
    Column("code", String(16), primary_key=True),
    required("name", String(300)),
    required("timezone", String(64), default="Europe/Moscow"),
)

municipalities = Table(
    "municipalities", metadata,
    Column("code", String(32), primary_key=True),
    required("region_code", String(16), ForeignKey("regions.code"), index=True),
    required("name", String(300)),
    optional("timezone", String(64)),
)

schools = Table(
    "schools", metadata,
    Column("code", String(32), primary_key=True),
    required("region_code", String(16), ForeignKey("regions.code"), index=True),
    optional("municipality_code", String(32), ForeignKey("municipalities.code"), index=True),
    required("name", String(500)),
    optional("inn", String(10), index=True),  # the registry check looks INN/KPP pairs up
    optional("kpp", String(9)),
    optional("parent_code", String(32), ForeignKey("schools.code"), index=True),  # main school
    required("teachers_expected", Integer, default=0),
    required("classes_expected", Integer, default=0),
    required("students_expected", Integer, default=0),
    required("parents_expected", Integer, default=0),
    optional("timezone", String(64)),
)

people = Table(
    "people", metadata,
    Column("email", String(254), primary_key=True),
    required("name", String(300)),
    optional("position", String(300)),
    optional("organisation", String(300)),  # for the signature: «… Министерства просвещения КБР»
    optional("phone", String(64)),
)

# A role a person holds; scope is '' for the global roles.
assignments = Table(
    "assignments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("email", String(254), ForeignKey("people.email"), index=True),
    required("role", String(32)),
    required("scope", String(32), default=""),
    required("since", UtcDateTime),
    UniqueConstraint("email", "role", "scope"),
    Index("ix_assignments_role_scope", "role", "scope"),
)

# Counts observed on the platform for a school (the `metrics` import).
metrics = Table(
    "metrics", metadata,
    Column("school_code", String(32), ForeignKey("schools.code"), primary_key=True),
    required("teachers", Integer, default=0),
    required("classes", Integer, default=0),
    required("parents", Integer, default=0),
    required("students", Integer, default=0),
    required("updated_at", UtcDateTime),
)

# The persisted state machine of a region or a school. `state` is the slug of the first step
# neither done nor skipped (or 'done'); `steps` maps every slug to
# {"status": done|skipped|current|pending, "since": ISO time or null}; `statuses` is the same
# statuses one letter a step ("DDDCCPPPP", states.graph.encode), for counting in SQL.
machines = Table(
    "machines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("kind", String(8)),
    required("code", String(32)),
    required("region_code", String(16)),
    required("state", String(32)),
    required("steps", JSON),
    required("statuses", String(16)),
    required("version", Integer, default=1),
    required("updated_at", UtcDateTime),
    optional("state_since", UtcDateTime),  # when the current state began: "late" queries
    UniqueConstraint("kind", "code"),
    Index("ix_machines_kind_region_state", "kind", "region_code", "state"),
    Index("ix_machines_kind_region_state_since", "kind", "region_code", "state", "state_since"),
    Index("ix_machines_kind_region_statuses", "kind", "region_code", "statuses"),
)

# Every open (current) step of every machine, with since when: the engine keeps it beside
# `machines.steps`, so that "late" questions (reminders, the dashboard) are index range scans.
open_steps = Table(
    "open_steps", metadata,
    Column("kind", String(8), primary_key=True),
    Column("code", String(32), primary_key=True),
    Column("step", String(32), primary_key=True),
    required("region_code", String(16)),
    required("since", UtcDateTime),
    Index("ix_open_steps_kind_step_region_since", "kind", "step", "region_code", "since"),
)

# The step definitions that have been in force (graph, thresholds, SLAs, shares); the highest
# version is the one the machines follow. `rollout steps migrate` adds a version.
step_definitions = Table(
    "step_definitions", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    required("fingerprint", String(16)),
    required("body", JSON),
    required("adopted_at", UtcDateTime),
    optional("note", Text),
)

# One entry of the append-only history; `hash` chains it to the event before.
events = Table(
    "events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    required("at", UtcDateTime),
    optional("kind", String(16)),
    optional("code", String(32)),
    optional("region_code", String(16), index=True),
    required("event", String(40)),
    optional("step", String(32)),
    optional("from_state", String(32)),
    optional("to_state", String(32)),
    required("actor", String(254)),
    optional("role", String(32)),
    optional("reason", Text),
    optional("trigger", Text),
    optional("data", JSON),
    optional("recorded_at", UtcDateTime),  # the real time of writing; `at` may be claimed (--at)
    required("prev_hash", String(64)),
    required("hash", String(64)),
    Index("ix_events_kind_code", "kind", "code"),
    # the week's finished steps (a range) and the trends (counted from the index alone)
    Index("ix_events_event_at", "event", "kind", "at", "step", "region_code"),
)

# The last event of the history; lets `audit verify` notice a deleted tail.
chain_head = Table(
    "chain_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    required("seq", Integer),
    required("hash", String(64)),
)

# Heads of the chain written down by `audit anchor` (and the auditors' digest). An attacker with
# the database can delete these rows too: the copy that proves anything is the one kept outside.
anchors = Table(
    "anchors", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    required("seq", Integer),
    required("hash", String(64)),
    required("at", UtcDateTime),  # the moment claimed (--at)
    required("recorded_at", UtcDateTime),  # the real time of writing
    required("actor", String(254)),
)

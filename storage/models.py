"""SQLAlchemy 2 models: the registry, people, machines, metrics and the hash-chained history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Region(Base):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")


class Municipality(Base):
    __tablename__ = "municipalities"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    timezone: Mapped[str | None] = mapped_column(String(64))


class School(Base):
    __tablename__ = "schools"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    municipality_code: Mapped[str | None] = mapped_column(
        ForeignKey("municipalities.code"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    inn: Mapped[str | None] = mapped_column(String(10))
    kpp: Mapped[str | None] = mapped_column(String(9))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("schools.code"))
    teachers_expected: Mapped[int] = mapped_column(Integer, default=0)
    classes_expected: Mapped[int] = mapped_column(Integer, default=0)
    students_expected: Mapped[int] = mapped_column(Integer, default=0)
    parents_expected: Mapped[int] = mapped_column(Integer, default=0)
    timezone: Mapped[str | None] = mapped_column(String(64))


class Person(Base):
    __tablename__ = "people"
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    position: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(64))


class Assignment(Base):
    """A role a person holds; scope is '' for the global roles."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("email", "role", "scope"),
                      Index("ix_assignments_role_scope", "role", "scope"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(ForeignKey("people.email"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(32), default="")
    since: Mapped[datetime]


class Metric(Base):
    """Counts observed on the platform for a school (the `metrics` import)."""

    __tablename__ = "metrics"
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"), primary_key=True)
    teachers: Mapped[int] = mapped_column(Integer, default=0)
    classes: Mapped[int] = mapped_column(Integer, default=0)
    parents: Mapped[int] = mapped_column(Integer, default=0)
    students: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class Machine(Base):
    """The persisted state machine of a region or a school.

    `state` is the slug of the first step neither done nor skipped (or 'done'); `steps` maps
    every slug to {"status": done|skipped|current|pending, "since": ISO time or null}.
    """

    __tablename__ = "machines"
    __table_args__ = (UniqueConstraint("kind", "code"),
                      Index("ix_machines_kind_region_state", "kind", "region_code", "state"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32))
    steps: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]


class Event(Base):
    """One entry of the append-only history; `hash` chains it to the event before."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_kind_code", "kind", "code"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(String(16), index=True)
    event: Mapped[str] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(254))
    role: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    """The last event of the history; lets `audit verify` notice a deleted tail."""

    __tablename__ = "chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


T = Base.metadata.tables
regions = T["regions"]
municipalities = T["municipalities"]
schools = T["schools"]
people = T["people"]
assignments = T["assignments"]
metrics = T["metrics"]
machines = T["machines"]
events = T["events"]
chain_head = T["chain_head"]

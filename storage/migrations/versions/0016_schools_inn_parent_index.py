"""Indexes on schools (inn) and (parent_code): the schools import checks a file against them.

Each part of a schools import looks up the stored schools holding its INN/KPP pairs and the
branches of its main schools; without these indexes each lookup read the whole registry
(45,000 rows) once per part, most of a re-import of an unchanged registry.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_schools_inn", "schools", ["inn"])
    op.create_index("ix_schools_parent_code", "schools", ["parent_code"])


def downgrade() -> None:
    op.drop_index("ix_schools_parent_code", table_name="schools")
    op.drop_index("ix_schools_inn", table_name="schools")

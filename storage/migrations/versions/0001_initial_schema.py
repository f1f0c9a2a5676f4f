"""Initial schema: the registry, people, machines, metrics and the hash-chained history.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_head'))
    )
    # The chain starts from a fixed genesis hash; audit verify checks the head against the tail.
    op.bulk_insert(
        sa.table('chain_head', sa.column('id', sa.Integer), sa.column('seq', sa.Integer),
                 sa.column('hash', sa.String)),
        [{'id': 1, 'seq': 0, 'hash': '0' * 64}],
    )
    op.create_table('events',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=True),
    sa.Column('region_code', sa.String(length=16), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=True),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('trigger', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_kind_code', ['kind', 'code'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_region_code'), ['region_code'], unique=False)

    op.create_table('machines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machines')),
    sa.UniqueConstraint('kind', 'code', name=op.f('uq_machines_kind'))
    )
    with op.batch_alter_table('machines', schema=None) as batch_op:
        batch_op.create_index('ix_machines_kind_region_state', ['kind', 'region_code', 'state'], unique=False)

    op.create_table('people',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('position', sa.String(length=300), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_people'))
    )
    op.create_table('regions',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    op.create_table('assignments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['email'], ['people.email'], name=op.f('fk_assignments_email_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments')),
    sa.UniqueConstraint('email', 'role', 'scope', name=op.f('uq_assignments_email'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignments_email'), ['email'], unique=False)
        batch_op.create_index('ix_assignments_role_scope', ['role', 'scope'], unique=False)

    op.create_table('municipalities',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_municipalities_region_code_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_municipalities'))
    )
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_municipalities_region_code'), ['region_code'], unique=False)

    op.create_table('schools',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('municipality_code', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('inn', sa.String(length=10), nullable=True),
    sa.Column('kpp', sa.String(length=9), nullable=True),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('teachers_expected', sa.Integer(), nullable=False),
    sa.Column('classes_expected', sa.Integer(), nullable=False),
    sa.Column('students_expected', sa.Integer(), nullable=False),
    sa.Column('parents_expected', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['municipality_code'], ['municipalities.code'], name=op.f('fk_schools_municipality_code_municipalities')),
    sa.ForeignKeyConstraint(['parent_code'], ['schools.code'], name=op.f('fk_schools_parent_code_schools')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_schools_region_code_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_schools'))
    )
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schools_municipality_code'), ['municipality_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_schools_region_code'), ['region_code'], unique=False)

    op.create_table('metrics',
    sa.Column('school_code', sa.String(length=32), nullable=False),
    sa.Column('teachers', sa.Integer(), nullable=False),
    sa.Column('classes', sa.Integer(), nullable=False),
    sa.Column('parents', sa.Integer(), nullable=False),
    sa.Column('students', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_code'], ['schools.code'], name=op.f('fk_metrics_school_code_schools')),
    sa.PrimaryKeyConstraint('school_code', name=op.f('pk_metrics'))
    )



def downgrade() -> None:

    op.drop_table('metrics')
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schools_region_code'))
        batch_op.drop_index(batch_op.f('ix_schools_municipality_code'))

    op.drop_table('schools')
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_municipalities_region_code'))

    op.drop_table('municipalities')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_role_scope')
        batch_op.drop_index(batch_op.f('ix_assignments_email'))

    op.drop_table('assignments')
    op.drop_table('regions')
    op.drop_table('people')
    with op.batch_alter_table('machines', schema=None) as batch_op:
        batch_op.drop_index('ix_machines_kind_region_state')

    op.drop_table('machines')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_region_code'))
        batch_op.drop_index('ix_events_kind_code')

    op.drop_table('events')
    op.drop_table('chain_head')


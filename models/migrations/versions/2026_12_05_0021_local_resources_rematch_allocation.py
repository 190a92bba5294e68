"""County-scale 供需对接: local resources (organizations.kind local, with the kind of giver
and the station answerable for it; a local provider may have no 统一社会信用代码), each
need's re-match state, and allocation plans with their lines (referrals remember the plan
that made them).

The downgrade refuses while local providers exist: their projects sit in ledgers and
referrals, and the charity-only schema cannot hold them.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('allocation_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('status', sa.Enum('draft', 'approved', 'discarded', name='allocationplanstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('objective', sa.Double(), nullable=False),
    sa.Column('fcfs_objective', sa.Double(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_allocation_plans_approved_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_allocation_plans_created_by_id_users')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_allocation_plans_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_plans'))
    )
    with op.batch_alter_table('allocation_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_plans_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_plans_status'), ['status'], unique=False)

    op.create_table('allocation_plan_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'removed', 'approved', 'conflict', name='allocationlinestatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('weight', sa.Double(), nullable=False),
    sa.Column('benefit', sa.Double(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('edited', sa.Boolean(), nullable=False),
    sa.Column('conflict_reason', sa.Text(), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_allocation_plan_lines_need_id_needs')),
    sa.ForeignKeyConstraint(['plan_id'], ['allocation_plans.id'], name=op.f('fk_allocation_plan_lines_plan_id_allocation_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_allocation_plan_lines_project_id_projects')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_allocation_plan_lines_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_plan_lines')),
    sa.UniqueConstraint('plan_id', 'need_id', name=op.f('uq_allocation_plan_lines_plan_id_need_id'))
    )
    with op.batch_alter_table('allocation_plan_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_plan_lines_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_plan_lines_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_plan_lines_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suitable_project_ids', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('rematched_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('gained_project_ids', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('gained_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_needs_gained_at'), ['gained_at'], unique=False)

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('charity', 'local', name='organizationkind', native_enum=False, create_constraint=True, length=32), server_default='charity', nullable=False))
        batch_op.add_column(sa.Column('provider_kind', sa.Enum('individual', 'village_fund', 'merchant', 'volunteer_team', 'enterprise', 'other', name='localproviderkind', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.add_column(sa.Column('responsible_station_id', sa.Integer(), nullable=True))
        batch_op.alter_column('uscc',
               existing_type=sa.VARCHAR(length=18),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_organizations_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_organizations_responsible_station_id'), ['responsible_station_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_organizations_responsible_station_id_stations'), 'stations', ['responsible_station_id'], ['id'])

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('allocation_plan_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_referrals_allocation_plan_id'), ['allocation_plan_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_referrals_allocation_plan_id_allocation_plans'), 'allocation_plans', ['allocation_plan_id'], ['id'])



def downgrade() -> None:
    organizations = sa.table("organizations", sa.column("kind"), sa.column("uscc"))
    local = op.get_bind().scalar(
        sa.select(sa.func.count()).select_from(organizations).where(
            sa.or_(organizations.c.kind == "local", organizations.c.uscc.is_(None))
        )
    )
    if local:
        raise RuntimeError(f"{local} local resource providers exist; remove them before downgrading.")
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_referrals_allocation_plan_id_allocation_plans'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_referrals_allocation_plan_id'))
        batch_op.drop_column('allocation_plan_id')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_organizations_responsible_station_id_stations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_organizations_responsible_station_id'))
        batch_op.drop_index(batch_op.f('ix_organizations_kind'))
        batch_op.drop_constraint(op.f('ck_organizations_localproviderkind'), type_='check')
        batch_op.drop_constraint(op.f('ck_organizations_organizationkind'), type_='check')
        batch_op.alter_column('uscc',
               existing_type=sa.VARCHAR(length=18),
               nullable=False)
        batch_op.drop_column('responsible_station_id')
        batch_op.drop_column('provider_kind')
        batch_op.drop_column('kind')

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_gained_at'))
        batch_op.drop_column('gained_at')
        batch_op.drop_column('gained_project_ids')
        batch_op.drop_column('rematched_at')
        batch_op.drop_column('suitable_project_ids')

    with op.batch_alter_table('allocation_plan_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_plan_lines_project_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_plan_lines_plan_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_plan_lines_need_id'))

    op.drop_table('allocation_plan_lines')
    with op.batch_alter_table('allocation_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_plans_status'))
        batch_op.drop_index(batch_op.f('ix_allocation_plans_region_code'))

    op.drop_table('allocation_plans')

"""结对帮扶 (pairings): a referral may carry one pairing — a person of the charity paired with
a member of the household for a period, with a number of visits planned a month — and each
month that saw fewer visits than planned is kept in ``pairing_alerts`` once raised, so the
daily job raises it only once.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pairings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('companion_name', sa.String(length=64), nullable=False),
    sa.Column('companion_role', sa.Enum('caring_mother', 'volunteer', 'social_worker', 'charity_worker', name='companionrole', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('visits_per_month', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ended_on IS NULL OR ended_on >= starts_on', name=op.f('ck_pairings_ended_after_start')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_pairings_ends_after_start')),
    sa.CheckConstraint('visits_per_month BETWEEN 1 AND 31', name=op.f('ck_pairings_visits_per_month_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_pairings_created_by_id_users')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_pairings_ended_by_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_pairings_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_pairings_referral_id_referrals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pairings')),
    sa.UniqueConstraint('referral_id', name=op.f('uq_pairings_referral_id'))
    )
    op.create_table('pairing_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pairing_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('planned_visits', sa.Integer(), nullable=False),
    sa.Column('logged_visits', sa.Integer(), nullable=False),
    sa.Column('raised_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pairing_id'], ['pairings.id'], name=op.f('fk_pairing_alerts_pairing_id_pairings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pairing_alerts')),
    sa.UniqueConstraint('pairing_id', 'month', name=op.f('uq_pairing_alerts_pairing_id_month'))
    )


def downgrade() -> None:
    op.drop_table('pairing_alerts')
    op.drop_table('pairings')

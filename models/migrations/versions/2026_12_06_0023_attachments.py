"""Attachments: receipts, photos and signed confirmations kept with a referral's service
episodes, completion and follow-up. The files live outside the database (a content-addressed
store under ``instance/attachments``); this table says whose they are.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('episode', 'completion', 'follow_up', name='attachmentkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=True),
    sa.Column('follow_up_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=128), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('caption', sa.String(length=200), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size_bytes > 0', name=op.f('ck_attachments_size_positive')),
    sa.CheckConstraint("(kind = 'episode') = (episode_id IS NOT NULL)", name=op.f('ck_attachments_episode_iff_episode_kind')),
    sa.CheckConstraint("(kind = 'follow_up') = (follow_up_id IS NOT NULL)", name=op.f('ck_attachments_follow_up_iff_follow_up_kind')),
    sa.ForeignKeyConstraint(['episode_id'], ['service_episodes.id'], name=op.f('fk_attachments_episode_id_service_episodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_ups.id'], name=op.f('fk_attachments_follow_up_id_follow_ups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_attachments_referral_id_referrals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_referral_id'), ['referral_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_referral_id'))

    op.drop_table('attachments')

"""Active discovery: monitoring batches and records delivered by other departments, the
warnings rules raise from them, each county's rule settings, and department accounts
(users.role data_provider, bound to one source by users.feed_source).

The downgrade removes department accounts (their audit entries keep the name, without the
link) before the role check goes back to four roles.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ROLES = ("station_staff", "charity_staff", "civil_affairs", "admin")


def _role_check(roles: tuple[str, ...]) -> str:
    return "role IN (" + ", ".join(f"'{r}'" for r in roles) + ")"


def upgrade() -> None:
    op.create_table('monitoring_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('medical_insurance', 'disabled_persons', 'education', 'civil_affairs', 'human_resources', 'emergency', name='monitoringsource', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('matched_count', sa.Integer(), nullable=False),
    sa.Column('warnings_raised', sa.Integer(), nullable=False),
    sa.Column('delivered_by_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivered_by_id'], ['users.id'], name=op.f('fk_monitoring_batches_delivered_by_id_users')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_monitoring_batches_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_batches')),
    sa.UniqueConstraint('digest', name=op.f('uq_monitoring_batches_digest'))
    )
    op.create_table('warning_rule_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('rule', sa.Enum('medical_cost', 'severe_disability', 'aid_stopped', 'school_dropout', 'head_unemployed', 'disaster_loss', name='warningrule', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('threshold_fen', sa.BigInteger(), nullable=True),
    sa.Column('income_share_percent', sa.Integer(), nullable=True),
    sa.Column('due_days', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_warning_rule_settings_region_code_regions')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_warning_rule_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_rule_settings')),
    sa.UniqueConstraint('region_code', 'rule', name=op.f('uq_warning_rule_settings_region_code_rule'))
    )
    op.create_table('monitoring_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('medical_insurance', 'disabled_persons', 'education', 'civil_affairs', 'human_resources', 'emergency', name='monitoringsource', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('event', sa.Enum('medical_expense', 'disability_issued', 'disability_changed', 'school_enrolled', 'school_dropout', 'school_stage_changed', 'aid_started', 'aid_stopped', 'aid_changed', 'unemployment_registered', 'disaster_loss', name='monitoringevent', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('id_number_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('id_number_masked', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['monitoring_batches.id'], name=op.f('fk_monitoring_records_batch_id_monitoring_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_monitoring_records_household_id_households'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_monitoring_records_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_monitoring_records_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_records'))
    )
    with op.batch_alter_table('monitoring_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_records_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_records_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_records_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_monitoring_records_person_day', ['id_number_hash', 'occurred_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_records_region_code'), ['region_code'], unique=False)

    op.create_table('monitoring_warnings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.Enum('medical_cost', 'severe_disability', 'aid_stopped', 'school_dropout', 'head_unemployed', 'disaster_loss', name='warningrule', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('open', 'confirmed', 'dismissed', name='warningstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('raised_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('since_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('escalated_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('dismiss_reason', sa.Enum('already_helped', 'situation_improved', 'not_in_need', 'not_found', 'moved_away', 'record_wrong', 'other', name='dismissreason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('dismiss_note', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_monitoring_warnings_decided_by_id_users')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_monitoring_warnings_household_id_households'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_monitoring_warnings_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_monitoring_warnings_need_id_needs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['record_id'], ['monitoring_records.id'], name=op.f('fk_monitoring_warnings_record_id_monitoring_records')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_monitoring_warnings_region_code_regions')),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_monitoring_warnings_station_id_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitoring_warnings')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_monitoring_warnings_dedupe_key'))
    )
    with op.batch_alter_table('monitoring_warnings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_monitoring_warnings_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_warnings_id_number_hash'), ['id_number_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_warnings_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_warnings_rule'), ['rule'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_warnings_station_id'), ['station_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_monitoring_warnings_status'), ['status'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_source', sa.Enum('medical_insurance', 'disabled_persons', 'education', 'civil_affairs', 'human_resources', 'emergency', name='monitoringsource', native_enum=False, create_constraint=True, length=32), nullable=True))
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), _role_check((*ROLES, "data_provider")))



def downgrade() -> None:
    departments = sa.select(sa.column("id")).select_from(sa.table("users")).where(
        sa.column("role") == "data_provider"
    )
    bind = op.get_bind()
    audit = sa.table("audit_log", sa.column("actor_id"))
    bind.execute(sa.update(audit).where(audit.c.actor_id.in_(departments)).values(actor_id=None))
    for table in ("api_tokens", "notifications"):
        owned = sa.table(table, sa.column("user_id"))
        bind.execute(sa.delete(owned).where(owned.c.user_id.in_(departments)))
    bind.execute(sa.delete(sa.table("users", sa.column("role"))).where(sa.column("role") == "data_provider"))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), _role_check(ROLES))
        batch_op.drop_constraint(op.f("ck_users_monitoringsource"), type_="check")
        batch_op.drop_column('feed_source')

    with op.batch_alter_table('monitoring_warnings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_warnings_status'))
        batch_op.drop_index(batch_op.f('ix_monitoring_warnings_station_id'))
        batch_op.drop_index(batch_op.f('ix_monitoring_warnings_rule'))
        batch_op.drop_index(batch_op.f('ix_monitoring_warnings_region_code'))
        batch_op.drop_index(batch_op.f('ix_monitoring_warnings_id_number_hash'))
        batch_op.drop_index(batch_op.f('ix_monitoring_warnings_household_id'))

    op.drop_table('monitoring_warnings')
    with op.batch_alter_table('monitoring_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_monitoring_records_region_code'))
        batch_op.drop_index('ix_monitoring_records_person_day')
        batch_op.drop_index(batch_op.f('ix_monitoring_records_member_id'))
        batch_op.drop_index(batch_op.f('ix_monitoring_records_household_id'))
        batch_op.drop_index(batch_op.f('ix_monitoring_records_batch_id'))

    op.drop_table('monitoring_records')
    op.drop_table('warning_rule_settings')
    op.drop_table('monitoring_batches')

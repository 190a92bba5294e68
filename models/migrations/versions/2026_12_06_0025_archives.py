"""Archives: a closed case kept longer than ``CASE_RETENTION_DAYS`` is archived, read-only,
never deleted. ``referrals.archived_at`` marks a closed referral (its follow-up done) as
archived; ``needs.archived_at`` a settled need once all its referrals are.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("archived_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_referrals_archived_at"), ["archived_at"])
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("archived_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_archived_at"))
        batch_op.drop_column("archived_at")

"""An index on needs (household_id, status) for the worklist.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_needs_household_id_status", "needs", ["household_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_needs_household_id_status", table_name="needs")

"""needs.public_summary: the summary written for charities (对外情况说明), the only text about
a need a charity reads before it accepts a referral.

Existing needs keep no summary (NULL); a charity then reads one built from the need's
structured fields, never the station's own text.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_summary", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("needs", schema=None) as batch_op:
        batch_op.drop_column("public_summary")

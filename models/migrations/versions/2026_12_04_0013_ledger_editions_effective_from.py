"""ledger_editions.effective_from and superseded_on: an edition built ahead of its half-year
waits for it, and which edition is current on a day follows from the rows alone.

Existing editions take effect on their half-year's first day. One already superseded is
given the day its successor replaced it (the successor's first day, or the day it was
published in Guangdong if later), so the current edition of every department stays the same.

Revision ID: 0013
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0013"
down_revision = "0006"
branch_labels = None
depends_on = None

TZ = ZoneInfo("Asia/Shanghai")

editions = sa.table(
    "ledger_editions",
    sa.column("id", sa.Integer),
    sa.column("region_code", sa.String),
    sa.column("period", sa.String),
    sa.column("status", sa.String),
    sa.column("published_at", models.base.UTCDateTime(timezone=True)),
    sa.column("effective_from", sa.Date),
    sa.column("superseded_on", sa.Date),
)


def _first_day(period: str) -> dt.date:
    # The period's own format, checked when it was published: 2026H1 or 2026H2.
    return dt.date(int(period[:4]), 1 if period[5] == "1" else 7, 1)


def upgrade() -> None:
    with op.batch_alter_table("ledger_editions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("effective_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("superseded_on", sa.Date(), nullable=True))

    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            editions.c.id, editions.c.region_code, editions.c.period, editions.c.status,
            editions.c.published_at,
        ).order_by(editions.c.region_code, editions.c.id)
    ).all()  # fmt: skip
    for row, after in zip(rows, [*rows[1:], None], strict=False):
        starts = _first_day(row.period)
        replaced = None
        if row.status == "superseded":
            if after is not None and after.region_code == row.region_code:
                published = after.published_at.astimezone(TZ).date()
                replaced = max(_first_day(after.period), published)
            else:
                replaced = starts  # no successor on record: never current again
        conn.execute(
            sa.update(editions)
            .where(editions.c.id == row.id)
            .values(effective_from=starts, superseded_on=replaced)
        )

    with op.batch_alter_table("ledger_editions", schema=None) as batch_op:
        batch_op.alter_column("effective_from", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    # Before this revision the latest published edition was current: mark every replaced
    # one superseded, so each department keeps one (an edition still waiting for its
    # half-year then counts as current at once, as it did).
    op.execute(
        sa.update(editions).where(editions.c.superseded_on.is_not(None)).values(status="superseded")
    )
    with op.batch_alter_table("ledger_editions", schema=None) as batch_op:
        batch_op.drop_column("superseded_on")
        batch_op.drop_column("effective_from")

"""Job runs can be queued (a run asked for from the jobs page, picked up by the scheduler) or
skipped (slots before a scheduler first ran), remember who asked and which process ran them;
the scheduler's lease row for SQLite.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD = "status IN ('running', 'succeeded', 'failed')"
NEW = "status IN ('queued', 'running', 'succeeded', 'failed', 'skipped')"


def upgrade() -> None:
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=160), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("owner", sa.String(length=160), nullable=True))
        batch_op.add_column(
            sa.Column(
                "requested_by_id", sa.Integer(),
                sa.ForeignKey("users.id", name=op.f("fk_job_runs_requested_by_id_users")),
                nullable=True,
            )
        )  # fmt: skip
        batch_op.add_column(sa.Column("options", sa.JSON(), nullable=True))
        batch_op.create_index("ix_job_runs_started_at", ["started_at"], unique=False)
        batch_op.drop_constraint(op.f("ck_job_runs_jobrunstatus"), type_="check")
        batch_op.create_check_constraint("jobrunstatus", NEW)
    op.create_index(
        "uq_job_runs_one_queued", "job_runs", ["job_name"], unique=True,
        sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_job_runs_one_queued", table_name="job_runs")
    op.execute("DELETE FROM job_runs WHERE status IN ('queued', 'skipped')")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_job_runs_jobrunstatus"), type_="check")
        batch_op.create_check_constraint("jobrunstatus", OLD)
        batch_op.drop_index("ix_job_runs_started_at")
        batch_op.drop_column("options")
        batch_op.drop_column("requested_by_id")
        batch_op.drop_column("owner")
        batch_op.drop_column("pid")
    op.drop_table("scheduler_leases")

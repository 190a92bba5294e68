"""Records of scheduled work."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_column
from .enums import JobRunStatus


class JobRun(Base):
    """One run of a job for one scheduled slot.

    The unique (job, scheduled time) pair is the claim: whoever inserts it first runs the slot.
    """

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_name: Mapped[str] = mapped_column(sa.String(64))
    scheduled_at: Mapped[dt.datetime] = mapped_column()
    started_at: Mapped[dt.datetime] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    status: Mapped[JobRunStatus] = mapped_column(
        enum_column(JobRunStatus), default=JobRunStatus.RUNNING
    )
    trigger: Mapped[str] = mapped_column(sa.String(16), default="schedule")
    host: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    pid: Mapped[int | None] = mapped_column(default=None)
    #: The process running it (host, pid and a per-process token), to tell a restarted
    #: process with the same pid from the one that claimed the run.
    owner: Mapped[str | None] = mapped_column(sa.String(160), default=None)
    #: Who asked for a manual run (from the jobs page or the command line).
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    options: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    counts: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(sa.Text, default=None)

    __table_args__ = (
        sa.UniqueConstraint("job_name", "scheduled_at"),
        sa.Index("ix_job_runs_started_at", "started_at"),
        # At most one queued run per job, however many requests race.
        sa.Index(
            "uq_job_runs_one_queued", "job_name", unique=True,
            sqlite_where=sa.text("status = 'queued'"),
            postgresql_where=sa.text("status = 'queued'"),
        ),
    )  # fmt: skip

    @property
    def duration(self) -> dt.timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None


class SchedulerLease(Base):
    """The scheduler leader's lease where the database has no advisory locks (SQLite).

    The leader renews ``expires_at``; a standby takes the row over once it has lapsed.
    """

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(160))
    expires_at: Mapped[dt.datetime] = mapped_column()


class ModelVersion(Base):
    """A trained or configured scoring model, with the metrics it was promoted on."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column()
    is_active: Mapped[bool] = mapped_column(default=False)
    feature_names: Mapped[list[str]] = mapped_column(default=list)
    params: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    artifact: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)

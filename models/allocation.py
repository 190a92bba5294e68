"""Allocation plans (联合分配方案): an office's proposal, for its open needs, of which
project or local resource takes each need, solved jointly rather than first come first
served, then edited and approved as a batch."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .enums import AllocationLineStatus, AllocationPlanStatus

if TYPE_CHECKING:
    from .households import Need
    from .projects import Project


class AllocationPlan(Base):
    __tablename__ = "allocation_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The county or township whose open needs the plan covers.
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    status: Mapped[AllocationPlanStatus] = mapped_column(
        enum_column(AllocationPlanStatus), default=AllocationPlanStatus.DRAFT, index=True
    )
    #: The priority weights the plan was solved with (urgency, priority groups, waiting,
    #: gap share, township floor …), as the office set them.
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The day whose ledgers and places it was solved against.
    as_of: Mapped[dt.date] = mapped_column()
    #: Total of match score × priority weight over its lines, and what first come first
    #: served would reach on the same needs and places.
    objective: Mapped[float] = mapped_column(default=0.0)
    fcfs_objective: Mapped[float] = mapped_column(default=0.0)
    #: The comparison shown beside it (urgent, priority-group, per township …).
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    approved_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    lines: Mapped[list[AllocationPlanLine]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="AllocationPlanLine.id"
    )


class AllocationPlanLine(Base):
    """One need given to one project in a plan (at most one line per need)."""

    __tablename__ = "allocation_plan_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("allocation_plans.id", ondelete="CASCADE"), index=True
    )
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id"), index=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    status: Mapped[AllocationLineStatus] = mapped_column(
        enum_column(AllocationLineStatus), default=AllocationLineStatus.PROPOSED
    )
    score: Mapped[float] = mapped_column(default=0.0)
    weight: Mapped[float] = mapped_column(default=1.0)
    #: score × weight: the line's share of the objective.
    benefit: Mapped[float] = mapped_column(default=0.0)
    #: Money the line would hold of the project's budget.
    amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    #: Changed or added by the office after solving.
    edited: Mapped[bool] = mapped_column(default=False)
    conflict_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"), default=None)

    plan: Mapped[AllocationPlan] = relationship(back_populates="lines")
    need: Mapped[Need] = relationship()
    project: Mapped[Project] = relationship()

    __table_args__ = (sa.UniqueConstraint("plan_id", "need_id"),)

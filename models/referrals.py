"""Referrals (转介) of a need to a charity project, with their timeline."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column, utcnow

if TYPE_CHECKING:
    from .households import Need
    from .projects import Project

from .enums import BackReferralStatus, DeclineReason, ReferralStatus, ServiceType


class Referral(TimestampMixin, Base):
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id"), index=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    status: Mapped[ReferralStatus] = mapped_column(
        enum_column(ReferralStatus), default=ReferralStatus.DRAFT, index=True
    )
    score: Mapped[float | None] = mapped_column(default=None)
    model_version: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    is_simplified: Mapped[bool] = mapped_column(default=False)
    reserved_amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    delivered_amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    decline_reason: Mapped[DeclineReason | None] = mapped_column(
        enum_column(DeclineReason), default=None
    )
    note: Mapped[str | None] = mapped_column(sa.Text, default=None)
    #: Why it was returned, declined or cancelled.
    status_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    delivered_service: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    approved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    answered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    completed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: The charity must answer by then (approval + the project's response days), or it expires.
    due_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    #: When the approving office was told the charity is silent (once per referral).
    overdue_flagged_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: The allocation plan whose approved line made this referral, if any.
    allocation_plan_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("allocation_plans.id"), default=None, index=True
    )
    #: When the closed case was archived (read-only from then on); never unset, never deleted.
    archived_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    #: Optimistic locking: an update carrying an old version is refused.
    version: Mapped[int] = mapped_column(default=1)

    need: Mapped[Need] = relationship()
    project: Mapped[Project] = relationship()
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralEvent.id"
    )
    episodes: Mapped[list[ServiceEpisode]] = relationship(
        back_populates="referral", cascade="all, delete-orphan",
        order_by="(ServiceEpisode.on, ServiceEpisode.id)",
    )  # fmt: skip

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ReferralEvent(Base):
    """One step on a referral's timeline."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    from_status: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    to_status: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str | None] = mapped_column(sa.Text, default=None)
    detail: Mapped[dict[str, Any] | None] = mapped_column(default=None)

    referral: Mapped[Referral] = relationship(back_populates="events")


class ServiceEpisode(Base):
    """One visit, session or class of service-type help delivered under a referral."""

    __tablename__ = "service_episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True
    )
    on: Mapped[dt.date] = mapped_column()
    kind: Mapped[ServiceType] = mapped_column(enum_column(ServiceType))
    quantity: Mapped[int] = mapped_column(default=1)
    unit: Mapped[str] = mapped_column(sa.String(16), default="次")
    value_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    note: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    referral: Mapped[Referral] = relationship(back_populates="episodes")

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("value_fen >= 0", name="value_not_negative"),
    )


class Notification(Base):
    """A message in one user's in-app inbox (the bell)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    referral_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    message: Mapped[str] = mapped_column(sa.String(255))
    link: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    __table_args__ = (sa.Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)


class BackReferral(Base):
    """双向转介: a charity tells the civil-affairs office a household may qualify for
    government aid (低保, 临时救助 …)."""

    __tablename__ = "back_referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    #: The household's region, so each office's queue is a range scan.
    region_code: Mapped[str] = mapped_column(sa.String(12), index=True)
    aid_types: Mapped[list[str]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[BackReferralStatus] = mapped_column(
        enum_column(BackReferralStatus), default=BackReferralStatus.OPEN, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    handled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    handled_note: Mapped[str | None] = mapped_column(sa.Text, default=None)

    referral: Mapped[Referral] = relationship()

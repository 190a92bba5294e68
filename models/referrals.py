"""Referrals (转介) of a need to a charity project, with their timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column, utcnow
from .enums import DeclineReason, ReferralStatus


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
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    approved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    answered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    completed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: Optimistic locking: an update carrying an old version is refused.
    version: Mapped[int] = mapped_column(default=1)

    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralEvent.id"
    )

    __mapper_args__ = {"version_id_col": version}


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

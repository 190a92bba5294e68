"""回访: the household's station asks, after a referral is completed, whether the help arrived
as the charity recorded it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .referrals import Referral


class FollowUp(Base):
    """One follow-up per completed referral: due some days after completion, recorded by the
    household's station; one that contradicts the completion is flagged to the approving
    office, which resolves it on record."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), unique=True
    )
    #: The station should follow up by this day (completion + ``FOLLOW_UP_DAYS``, local).
    due_on: Mapped[dt.date] = mapped_column(index=True)
    received: Mapped[bool | None] = mapped_column(default=None)
    #: The amount or service arrived as the completion recorded it.
    as_recorded: Mapped[bool | None] = mapped_column(default=None)
    #: The household's satisfaction, 1 (very unsatisfied) to 5 (very satisfied).
    satisfaction: Mapped[int | None] = mapped_column(default=None)
    need_met: Mapped[bool | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(sa.Text, default=None)
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    done_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: When the station was told the follow-up is overdue (once).
    overdue_raised_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: When the follow-up contradicted the completion and the office was told.
    flagged_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    resolution: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    referral: Mapped[Referral] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction_range"
        ),
    )

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_open_flag(self) -> bool:
        """Flagged to the office and not yet resolved."""
        return self.flagged_at is not None and self.resolved_at is None

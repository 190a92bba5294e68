"""结对帮扶 (pairings): a referral whose help is a person of the charity — a volunteer, a
social worker, an 爱心妈妈 — paired with one member of the household for a period, with a
visit plan. The visits themselves are the referral's service episodes."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .enums import CompanionRole
from .referrals import Referral

if TYPE_CHECKING:
    from .households import Member


class Pairing(Base):
    """One pairing per referral, set up by the charity (the referral's provider) once it has
    accepted: who of its people is paired with which member of the household, from when to
    when, and how many visits a month are planned. The charity may end it early, saying when
    and why."""

    __tablename__ = "pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        sa.ForeignKey("referrals.id", ondelete="CASCADE"), unique=True
    )
    #: The charity's own person paired with the member (志愿者、社工、爱心妈妈 …).
    companion_name: Mapped[str] = mapped_column(sa.String(64))
    companion_role: Mapped[CompanionRole] = mapped_column(enum_column(CompanionRole))
    #: The member of the need's household who is paired; None once the station removed the
    #: member from the household's record.
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    starts_on: Mapped[dt.date] = mapped_column()
    ends_on: Mapped[dt.date] = mapped_column()
    #: The visit plan: visits a whole month should see (a partial month, pro rata).
    visits_per_month: Mapped[int] = mapped_column()
    note: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The last day of the pairing when the charity ended it before ``ends_on``.
    ended_on: Mapped[dt.date | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    referral: Mapped[Referral] = relationship()
    member: Mapped[Member | None] = relationship()
    alerts: Mapped[list[PairingAlert]] = relationship(
        back_populates="pairing", cascade="all, delete-orphan", order_by="PairingAlert.month"
    )

    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        sa.CheckConstraint("visits_per_month BETWEEN 1 AND 31", name="visits_per_month_range"),
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= starts_on", name="ended_after_start"),
    )

    @property
    def is_ended_early(self) -> bool:
        return self.ended_on is not None


class PairingAlert(Base):
    """A month in which a pairing saw fewer visits than planned, raised once with the charity
    and the household's station; the unique key keeps a second run from raising it again."""

    __tablename__ = "pairing_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(sa.ForeignKey("pairings.id", ondelete="CASCADE"))
    #: The month, as its first day.
    month: Mapped[dt.date] = mapped_column()
    planned_visits: Mapped[int] = mapped_column()
    logged_visits: Mapped[int] = mapped_column()
    raised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    pairing: Mapped[Pairing] = relationship(back_populates="alerts")

    __table_args__ = (sa.UniqueConstraint("pairing_id", "month"),)

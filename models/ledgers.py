"""Half-year editions of a department's supply ledger (慈善帮扶资源供给信息台账)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .enums import LedgerEditionState, LedgerEditionStatus, RegionLevel


class LedgerEdition(Base):
    """An immutable snapshot of one department's verified, active projects for a period.

    A department is identified by its region; ``revision`` counts on-demand rebuilds
    within the same period.

    An edition is in effect from ``effective_from`` (its half-year's first day: an edition
    built ahead of its half-year waits for it) until ``superseded_on``, the day a later
    edition of the department took or takes its place (None while none has). Both are days
    in Asia/Shanghai, so which edition is current on a day is a property of the rows alone
    and changes at midnight without anything being written. ``status`` records what
    publishing did (``superseded`` once an edition is replaced for good); what an edition is
    on a given day is :meth:`state_on`.
    """

    __tablename__ = "ledger_editions"

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    period: Mapped[str] = mapped_column(sa.String(6))
    revision: Mapped[int] = mapped_column(default=1)
    status: Mapped[LedgerEditionStatus] = mapped_column(
        enum_column(LedgerEditionStatus), default=LedgerEditionStatus.PUBLISHED
    )
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    effective_from: Mapped[dt.date] = mapped_column()
    superseded_on: Mapped[dt.date | None] = mapped_column(default=None)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ledger_editions.id"), default=None
    )
    project_count: Mapped[int] = mapped_column(default=0)
    added_count: Mapped[int] = mapped_column(default=0)
    removed_count: Mapped[int] = mapped_column(default=0)
    changed_count: Mapped[int] = mapped_column(default=0)

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="edition", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.UniqueConstraint("region_code", "period", "revision"),)

    @classmethod
    def in_effect_on(cls, day: dt.date) -> sa.ColumnElement[bool]:
        """SQL: the edition is its department's current one on ``day``."""
        return sa.and_(
            cls.effective_from <= day,
            sa.or_(cls.superseded_on.is_(None), cls.superseded_on > day),
        )

    @classmethod
    def upcoming_on(cls, day: dt.date) -> sa.ColumnElement[bool]:
        """SQL: the edition will take effect after ``day`` (and has not been replaced before
        it ever does)."""
        return sa.and_(
            cls.effective_from > day,
            sa.or_(cls.superseded_on.is_(None), cls.superseded_on > cls.effective_from),
        )

    def state_on(self, day: dt.date) -> LedgerEditionState:
        """Upcoming, current or superseded on ``day`` (the rule of :meth:`in_effect_on` and
        :meth:`upcoming_on`). An edition replaced before it took effect is superseded."""
        replaced = self.superseded_on
        if replaced is not None and replaced <= max(day, self.effective_from):
            return LedgerEditionState.SUPERSEDED
        if day < self.effective_from:
            return LedgerEditionState.UPCOMING
        return LedgerEditionState.CURRENT


class LedgerEntry(Base):
    """A project's fields as published in one edition (frozen)."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ledger_editions.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(sa.String(128))
    snapshot: Mapped[dict[str, Any]] = mapped_column()
    #: Compared with the previous edition: "added", "changed" or "unchanged".
    change: Mapped[str] = mapped_column(sa.String(16), default="added")
    changed_fields: Mapped[list[str]] = mapped_column(default=list)

    edition: Mapped[LedgerEdition] = relationship(back_populates="entries")

    __table_args__ = (sa.UniqueConstraint("edition_id", "project_id"),)

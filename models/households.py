"""The local needs ledger (社会救助需求台账): stations, households, members, aid, needs."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column, utcnow
from .enums import (
    PRIORITY_GROUPS,
    ChildStatus,
    DisabilityType,
    Domain,
    GovAidType,
    HouseholdStatus,
    IllnessKind,
    NeedStatus,
    Relation,
    SchoolStage,
    SelfCare,
    Sex,
    StationKind,
    TargetGroup,
    Urgency,
    member_groups,
)


class Station(TimestampMixin, Base):
    """A township comprehensive-assistance station or a village assistance point."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[StationKind] = mapped_column(enum_column(StationKind))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    contact_name: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    phone: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    address: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Station {self.id} {self.name}>"


class Household(TimestampMixin, Base):
    """A household in hardship (困难家庭) kept by one station."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    head_name: Mapped[str] = mapped_column(sa.String(64), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    phone_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    phone_masked: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    #: Keyed hash of the phone's digits (blind index): found by exact number, never decrypted.
    phone_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True, default=None)
    categories: Mapped[list[str]] = mapped_column(default=list)
    #: ``HouseholdSituation`` codes (独居, 单亲家庭 …).
    situations: Mapped[list[str]] = mapped_column(default=list)
    income_per_head_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    medical_expense_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    education_expense_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    consent_on: Mapped[dt.date | None] = mapped_column(default=None)
    consent_scope: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    consent_recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id"), default=None
    )
    consent_withdrawn_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    status: Mapped[HouseholdStatus] = mapped_column(
        enum_column(HouseholdStatus), default=HouseholdStatus.ACTIVE
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)

    station: Mapped[Station] = relationship()
    members: Mapped[list[Member]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Member.id"
    )
    gov_aid: Mapped[list[GovAid]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="GovAid.id"
    )
    needs: Mapped[list[Need]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="Need.id"
    )

    @property
    def has_consent(self) -> bool:
        return self.consent_on is not None and self.consent_withdrawn_at is None

    def priority_groups(self, today: dt.date) -> list[TargetGroup]:
        """The guidance's priority groups present among the members, derived, never typed."""
        found: set[str] = set()
        for m in self.members:
            found |= member_groups(
                m.age_on(today), m.self_care, m.disability_type, m.illness_kind, m.school_stage
            )
        return [group for group in PRIORITY_GROUPS if group.value in found]

    def __repr__(self) -> str:
        return f"<Household {self.id}>"


class Member(Base):
    """A household member; the head is the member whose relation is ``head``."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(64))
    relation: Mapped[Relation] = mapped_column(enum_column(Relation))
    id_number_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    #: Keyed hash (HMAC) of the ID number, for duplicate checks without decrypting.
    id_number_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True, default=None)
    id_number_masked: Mapped[str | None] = mapped_column(sa.String(18), default=None)
    #: The date of birth, encrypted: shown only behind an audited reveal.
    birth_on_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary, default=None)
    #: The year of birth in clear, for ages, priority groups and statistics; with the county
    #: code and sex it still leaves 365 × 500 possible ID numbers.
    birth_year: Mapped[int | None] = mapped_column(default=None)
    sex: Mapped[Sex | None] = mapped_column(enum_column(Sex), default=None)
    disability_type: Mapped[DisabilityType | None] = mapped_column(
        enum_column(DisabilityType), default=None
    )
    disability_grade: Mapped[int | None] = mapped_column(default=None)
    illness: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    illness_kind: Mapped[IllnessKind | None] = mapped_column(enum_column(IllnessKind), default=None)
    #: Condition catalogue codes the station confirmed; None while never confirmed, and then
    #: the matcher reads the ``illness`` text mapped to the catalogue.
    conditions: Mapped[list[str] | None] = mapped_column(sa.JSON, default=None)
    child_status: Mapped[ChildStatus | None] = mapped_column(enum_column(ChildStatus), default=None)
    self_care: Mapped[SelfCare] = mapped_column(enum_column(SelfCare), default=SelfCare.INDEPENDENT)
    school_stage: Mapped[SchoolStage | None] = mapped_column(enum_column(SchoolStage), default=None)

    household: Mapped[Household] = relationship(back_populates="members")

    __table_args__ = (
        sa.CheckConstraint(
            "disability_grade IS NULL OR (disability_grade BETWEEN 1 AND 4)",
            name="disability_grade_range",
        ),
    )

    def age_on(self, day: dt.date) -> int | None:
        """The age reached in ``day``'s year (from the birth year alone: an age that changed
        on the birthday would give the date away to anyone watching it)."""
        if self.birth_year is None:
            return None
        return day.year - self.birth_year


class GovAid(Base):
    """A government assistance record (政府救助记录) a household receives."""

    __tablename__ = "gov_aid"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    aid_type: Mapped[GovAidType] = mapped_column(enum_column(GovAidType))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    period_start_on: Mapped[dt.date] = mapped_column()
    period_end_on: Mapped[dt.date | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(sa.String(255), default=None)

    household: Mapped[Household] = relationship(back_populates="gov_aid")


class Need(TimestampMixin, Base):
    """A help need (帮扶需求) that government aid leaves uncovered."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    domain: Mapped[Domain] = mapped_column(enum_column(Domain), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    #: 对外情况说明: what a charity reads before it accepts, written or confirmed by the
    #: station and checked for anything identifying on save (the text itself is the station's).
    public_summary: Mapped[str | None] = mapped_column(sa.Text, default=None)
    amount_gap_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    #: Money delivered by the need's completed referrals so far; what is left of the gap
    #: keeps the need on the worklist as 部分满足.
    delivered_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    urgency: Mapped[Urgency] = mapped_column(enum_column(Urgency), default=Urgency.NORMAL)
    status: Mapped[NeedStatus] = mapped_column(
        enum_column(NeedStatus), default=NeedStatus.OPEN, index=True
    )
    close_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    #: The suitable projects the last re-match found (None: never re-matched), when it ran,
    #: and the projects it found that were not suitable before, until staff look at them.
    suitable_project_ids: Mapped[list[int] | None] = mapped_column(sa.JSON, default=None)
    rematched_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    gained_project_ids: Mapped[list[int]] = mapped_column(
        sa.JSON, default=list, server_default="[]"
    )
    gained_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    #: When the settled need was archived with all its referrals (read-only from then on).
    archived_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    household: Mapped[Household] = relationship(back_populates="needs")
    member: Mapped[Member | None] = relationship()
    events: Mapped[list[NeedEvent]] = relationship(
        back_populates="need", cascade="all, delete-orphan", order_by="NeedEvent.id"
    )

    #: The worklist reads a station's open needs household by household.
    __table_args__ = (sa.Index("ix_needs_household_id_status", "household_id", "status"),)

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def remaining_gap_fen(self) -> int | None:
        """The part of the gap no completed referral has covered yet (None: no amount asked)."""
        if self.amount_gap_fen is None:
            return None
        return max(self.amount_gap_fen - (self.delivered_fen or 0), 0)


class NeedEvent(Base):
    """One change of a need's status, with who made it and why (the need's history)."""

    __tablename__ = "need_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    from_status: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    to_status: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str | None] = mapped_column(sa.Text, default=None)

    need: Mapped[Need] = relationship(back_populates="events")

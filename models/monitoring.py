"""Active discovery (主动发现): monitoring records other departments deliver, the warnings
the rules raise from them, and each county's settings for those rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, utcnow
from .enums import DismissReason, MonitoringEvent, MonitoringSource, WarningRule, WarningStatus
from .households import Household, Member, Need, Station


class MonitoringBatch(Base):
    """One delivery from one department: all of its records are kept, or none."""

    __tablename__ = "monitoring_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[MonitoringSource] = mapped_column(enum_column(MonitoringSource))
    delivered_on: Mapped[dt.date] = mapped_column()
    #: SHA-256 of the batch's source and records in a canonical form: the same batch
    #: delivered twice is recognised and changes nothing.
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    record_count: Mapped[int] = mapped_column(default=0)
    #: Records whose person was found in the ledger by the keyed hash of the ID number.
    matched_count: Mapped[int] = mapped_column(default=0)
    warnings_raised: Mapped[int] = mapped_column(default=0)
    delivered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    #: The delivering account's region: a county's 医保局 delivers for its county.
    region_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MonitoringRecord(Base):
    """One record of a batch: a person, an event, when, how much, and what the department
    said. The ID number is kept encrypted and as the keyed hash members are found by."""

    __tablename__ = "monitoring_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("monitoring_batches.id", ondelete="CASCADE"), index=True
    )
    #: The row of the delivered file or the index in the JSON list, counted from 1.
    row_number: Mapped[int] = mapped_column()
    source: Mapped[MonitoringSource] = mapped_column(enum_column(MonitoringSource))
    event: Mapped[MonitoringEvent] = mapped_column(enum_column(MonitoringEvent))
    id_number_hash: Mapped[str] = mapped_column(sa.String(64))
    id_number_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    id_number_masked: Mapped[str] = mapped_column(sa.String(18))
    name: Mapped[str] = mapped_column(sa.String(64))
    #: Where the department places the person: a township or village code.
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    occurred_on: Mapped[dt.date] = mapped_column()
    amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    #: Event-specific facts in the source's terms (残疾类别/等级, 学段, 救助类别 …).
    facts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    detail: Mapped[str | None] = mapped_column(sa.Text, default=None)
    #: The ledger member the ID number belongs to, when there is one.
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("members.id", ondelete="SET NULL"), default=None, index=True
    )
    household_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("households.id", ondelete="SET NULL"), default=None, index=True
    )

    batch: Mapped[MonitoringBatch] = relationship()
    member: Mapped[Member | None] = relationship()
    household: Mapped[Household | None] = relationship()

    #: Rules read a person's records over a window of days.
    __table_args__ = (
        sa.Index("ix_monitoring_records_person_day", "id_number_hash", "occurred_on"),
    )


class MonitoringWarning(Base):
    """A warning (预警) a rule raised for a person, waiting at a station to be confirmed
    (a need is created from it) or dismissed with a reason."""

    __tablename__ = "monitoring_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[WarningRule] = mapped_column(enum_column(WarningRule), index=True)
    status: Mapped[WarningStatus] = mapped_column(
        enum_column(WarningStatus), default=WarningStatus.OPEN, index=True
    )
    #: The rule, the person and the occasion: a warning already raised for it is not raised
    #: again, whichever batch or nightly run finds it.
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    id_number_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: In the ledger (在册): the household and member; not in it (未在册): both empty, and
    #: the station must visit (入户核查) by ``due_on``.
    household_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("households.id", ondelete="SET NULL"), default=None, index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    #: The latest record behind the warning: the name and masked ID of a person not in the
    #: ledger are read from it.
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("monitoring_records.id"))
    #: Every record the rule read, as ids of ``monitoring_records``.
    evidence: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    station_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stations.id"), default=None, index=True
    )
    #: The township or village the warning belongs to, for scoping.
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    #: Why, in Chinese, with the figures the rule compared.
    explanation: Mapped[str] = mapped_column(sa.Text)
    #: The gap the evidence suggests (e.g. the self-paid costs), offered when confirming.
    amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    raised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The day of the earliest evidence record: how long the person has waited.
    since_on: Mapped[dt.date] = mapped_column()
    due_on: Mapped[dt.date] = mapped_column()
    #: Set when an overdue warning was raised to the county office.
    escalated_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    need_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("needs.id", ondelete="SET NULL"), default=None
    )
    dismiss_reason: Mapped[DismissReason | None] = mapped_column(
        enum_column(DismissReason), default=None
    )
    dismiss_note: Mapped[str | None] = mapped_column(sa.Text, default=None)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    household: Mapped[Household | None] = relationship()
    member: Mapped[Member | None] = relationship()
    record: Mapped[MonitoringRecord] = relationship()
    station: Mapped[Station | None] = relationship()
    need: Mapped[Need | None] = relationship()

    @property
    def is_listed(self) -> bool:
        """在册: the person is in the needs ledger."""
        return self.household_id is not None


class WarningRuleSetting(Base):
    """A county's choice for one rule; a rule a county has not set runs on the provincial
    defaults kept in code."""

    __tablename__ = "warning_rule_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"))
    rule: Mapped[WarningRule] = mapped_column(enum_column(WarningRule))
    enabled: Mapped[bool] = mapped_column(default=True)
    #: An amount in fen the evidence must exceed (medical costs, disaster losses).
    threshold_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    #: A share of the household's yearly income, in percent (medical costs).
    income_share_percent: Mapped[int | None] = mapped_column(default=None)
    #: Days a station has to confirm or dismiss (visit, for a person not in the ledger).
    due_days: Mapped[int | None] = mapped_column(default=None)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.UniqueConstraint("region_code", "rule"),)

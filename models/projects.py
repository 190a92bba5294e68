"""Charities (慈善组织) and their help projects (慈善帮扶项目)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, enum_column
from .enums import (
    LocalProviderKind,
    OrganizationKind,
    OrganizationStatus,
    ProjectStatus,
    RegionLevel,
)

#: A project whose charity has not confirmed it for this long is stale (half a year).
STALE_AFTER_DAYS = 183


class Organization(TimestampMixin, Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    #: A local provider (``kind`` local) may have no 统一社会信用代码.
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True, default=None)
    kind: Mapped[OrganizationKind] = mapped_column(
        enum_column(OrganizationKind), default=OrganizationKind.CHARITY,
        server_default=OrganizationKind.CHARITY.value, index=True,
    )  # fmt: skip
    #: A local provider: what kind of giver it is, and the station answerable for it (its
    #: staff register its resources and handle the referrals made to them).
    provider_kind: Mapped[LocalProviderKind | None] = mapped_column(
        enum_column(LocalProviderKind), default=None
    )
    responsible_station_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stations.id"), default=None, index=True
    )
    registered_region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    registered_level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel))
    is_certified_charity: Mapped[bool] = mapped_column(default=False)
    has_public_fundraising: Mapped[bool] = mapped_column(default=False)
    contact_name: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32), default=None)
    address: Mapped[str | None] = mapped_column(sa.String(255), default=None)
    status: Mapped[OrganizationStatus] = mapped_column(
        enum_column(OrganizationStatus), default=OrganizationStatus.PENDING, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    verified_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", use_alter=True), default=None
    )
    verified_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    projects: Mapped[list[Project]] = relationship(back_populates="organization")

    @property
    def is_local(self) -> bool:
        return self.kind == OrganizationKind.LOCAL

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name}>"


class Project(TimestampMixin, Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    domains: Mapped[list[str]] = mapped_column(default=list)
    target_groups: Mapped[list[str]] = mapped_column(default=list)
    forms: Mapped[list[str]] = mapped_column(default=list)
    service_types: Mapped[list[str]] = mapped_column(default=list)

    # Eligibility rules; None or an empty list means "no restriction".
    min_age: Mapped[int | None] = mapped_column(default=None)
    max_age: Mapped[int | None] = mapped_column(default=None)
    household_categories: Mapped[list[str]] = mapped_column(default=list)
    max_income_per_head_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    max_disability_grade: Mapped[int | None] = mapped_column(default=None)
    illness_kinds: Mapped[list[str]] = mapped_column(default=list)
    school_stages: Mapped[list[str]] = mapped_column(default=list)
    # The second eligibility language: any of each list; with a grade rule, the disability
    # must be of a listed type and of that grade.
    sexes: Mapped[list[str]] = mapped_column(default=list)
    disability_types: Mapped[list[str]] = mapped_column(default=list)
    #: Condition catalogue codes (``seed/data/conditions.json``); a parent covers its children.
    conditions: Mapped[list[str]] = mapped_column(default=list)
    child_statuses: Mapped[list[str]] = mapped_column(default=list)
    household_situations: Mapped[list[str]] = mapped_column(default=list)

    amount_per_beneficiary_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    budget_fen: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    quota: Mapped[int] = mapped_column(default=0)
    quota_used: Mapped[int] = mapped_column(default=0)
    #: When a place was last taken or given back: the matcher refreshes places from here
    #: without rebuilding its index (``updated_at`` is left alone by those changes).
    places_changed_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    #: Money held for approved referrals (each reserves its amount until declined or cancelled).
    reserved_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    starts_on: Mapped[dt.date] = mapped_column()
    ends_on: Mapped[dt.date] = mapped_column()
    accepts_simplified: Mapped[bool] = mapped_column(default=False)
    response_days: Mapped[int] = mapped_column(default=7)
    contact_name: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32), default=None)

    status: Mapped[ProjectStatus] = mapped_column(
        enum_column(ProjectStatus), default=ProjectStatus.DRAFT, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(sa.Text, default=None)
    verified_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", use_alter=True), default=None
    )
    verified_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: An edit of a verified project waiting for review; the verified fields stay in force.
    pending_changes: Mapped[dict[str, Any] | None] = mapped_column(default=None)

    organization: Mapped[Organization] = relationship(back_populates="projects")
    areas: Mapped[list[ProjectArea]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )

    __table_args__ = (
        # The matcher's cache asks for the latest change on every request.
        sa.Index("ix_projects_updated_at", "updated_at"),
        sa.CheckConstraint("quota_used >= 0 AND quota_used <= quota", name="quota_within_bounds"),
        sa.CheckConstraint("starts_on <= ends_on", name="dates_in_order"),
    )

    @property
    def service_area_codes(self) -> list[str]:
        return sorted(a.region_code for a in self.areas)

    @property
    def quota_left(self) -> int:
        return self.quota - self.quota_used

    @hybrid_property
    def last_confirmed_at(self) -> dt.datetime:
        """When the charity last said the project is still on offer: its confirmation, else
        its verification, else its registration."""
        return self.confirmed_at or self.verified_at or self.created_at

    @last_confirmed_at.inplace.expression
    @classmethod
    def _last_confirmed_at_expression(cls) -> sa.ColumnElement[dt.datetime]:
        return sa.func.coalesce(cls.confirmed_at, cls.verified_at, cls.created_at)

    @hybrid_method
    def is_stale(self, now: dt.datetime) -> bool:
        """Unconfirmed by its charity for more than half a year (``STALE_AFTER_DAYS``) at
        ``now``; the same rule in Python and, on the class, as a query condition. A stale
        project is left out of the next ledger edition and flagged to its charity."""
        return self.last_confirmed_at < now - dt.timedelta(days=STALE_AFTER_DAYS)

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.name}>"


class ProjectArea(Base):
    """One region of a project's service area (covering its descendants)."""

    __tablename__ = "project_areas"

    project_id: Mapped[int] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), primary_key=True)

    project: Mapped[Project] = relationship(back_populates="areas")

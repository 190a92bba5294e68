"""The figures each role's home page opens with, counted in SQL within the user's scope."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import (
    Household,
    MonitoringWarning,
    Need,
    Organization,
    Project,
    Referral,
    Station,
    User,
)
from models.base import utcnow
from models.enums import (
    ACTIVE_REFERRAL_STATES,
    AWAITING_NEED_STATES,
    NeedStatus,
    ProjectStatus,
    ReferralStatus,
    Role,
    Urgency,
    WarningStatus,
)

from .regions import region_label
from .scoping import scoped


def _count(db: Session, stmt: sa.Select[Any], actor: User) -> int:
    scoped_stmt = scoped(stmt, actor)
    return db.scalar(sa.select(sa.func.count()).select_from(scoped_stmt.subquery())) or 0


def home_figures(db: Session, actor: User) -> dict[str, Any]:
    """Counts for the home page of ``actor``'s role, each limited to what it may see."""
    figures: dict[str, Any] = {"region": region_label(db, actor.region_code)}
    open_needs = sa.select(Need.id).where(Need.status.in_(AWAITING_NEED_STATES))
    if actor.role in (Role.STATION_STAFF, Role.CIVIL_AFFAIRS, Role.ADMIN):
        figures["households"] = _count(db, sa.select(Household.id), actor)
        figures["open_needs"] = _count(db, open_needs, actor)
        # Partly met needs wait for a further referral: counted among those waiting, and shown
        # on their own (never as done).
        figures["partial_needs"] = _count(
            db, sa.select(Need.id).where(Need.status == NeedStatus.PARTIAL), actor
        )
        figures["urgent_needs"] = _count(
            db, open_needs.where(Need.urgency == Urgency.URGENT), actor
        )
        figures["referrals_active"] = _count(
            db,
            sa.select(Referral.id).where(Referral.status.in_(ACTIVE_REFERRAL_STATES)),
            actor,
        )
        # What 预警工作台 lists unfiltered: the open warnings in scope.
        figures["open_warnings"] = _count(
            db,
            sa.select(MonitoringWarning.id).where(MonitoringWarning.status == WarningStatus.OPEN),
            actor,
        )
    if actor.role == Role.DATA_PROVIDER and actor.feed_source is not None:
        figures["source"] = actor.feed_source.label
        figures["source_code"] = actor.feed_source.value
    if actor.role == Role.STATION_STAFF and actor.station_id is not None:
        station = db.get(Station, actor.station_id)
        figures["station"] = station.name if station else ""
    if actor.role in (Role.CIVIL_AFFAIRS, Role.ADMIN):
        figures["stations"] = _count(db, sa.select(Station.id), actor)
        # The review queue's own lists, so the figures are what /review shows: registrations
        # and projects waiting for this department (not every one in its region), and
        # changes to verified projects as well as new ones.
        from .organizations import list_organizations
        from .projects import list_projects

        figures["organizations_pending"] = len(list_organizations(db, actor, reviewable=True))
        figures["projects_submitted"] = len(list_projects(db, actor, reviewable=True))
    if actor.role == Role.CHARITY_STAFF:
        organization = db.get(Organization, actor.organization_id)
        figures["organization"] = organization.name if organization else ""
        figures["organization_status"] = organization.status.label if organization else ""
        own = sa.select(Project.id).where(Project.organization_id == actor.organization_id)
        figures["projects"] = _count(db, own, actor)
        figures["projects_verified"] = _count(
            db, own.where(Project.status == ProjectStatus.VERIFIED), actor
        )
        from .projects import stale_projects

        figures["projects_stale"] = len(stale_projects(db, actor, utcnow()))
        figures["referrals_waiting"] = _count(
            db, sa.select(Referral.id).where(Referral.status == ReferralStatus.APPROVED), actor
        )
    if actor.role == Role.ADMIN:
        figures["users"] = _count(db, sa.select(User.id), actor)
    return figures

"""What each user may see: one predicate per model, applied through :func:`scoped`.

Every service query that returns records to a user goes through ``scoped(stmt, actor)``, so
a station's worker never reaches another station's household by changing an id in a URL:
the row is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from models import (
    AuditLog,
    BackReferral,
    Household,
    JobRun,
    LedgerEdition,
    Member,
    MonitoringWarning,
    Need,
    Notification,
    Organization,
    Project,
    Referral,
    Region,
    ServiceEpisode,
    Station,
    User,
)
from models.enums import (
    CHARITY_SEES_HOUSEHOLD_STATES,
    OrganizationKind,
    OrganizationStatus,
    ProjectStatus,
    Role,
)
from models.regions import descendant_range, significant_prefix, township_code

from .errors import Forbidden

S = TypeVar("S", bound=sa.Select[Any])
Rule = Callable[[User], ColumnElement[bool]]

_RULES: dict[type, Rule] = {}


def rule(model: type) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        _RULES[model] = fn
        return fn

    return register


def actor_prefix(actor: User) -> str:
    """The code prefix of the user's region (``4401`` for a 广州市 user)."""
    return significant_prefix(actor.region_code)


def in_region(column: QueryableAttribute[Any], actor: User) -> ColumnElement[bool]:
    """``column`` holds a region code at or below the user's region."""
    low, high = descendant_range(actor.region_code)
    return column.between(low, high)


def may_act(actor: User) -> bool:
    """Whether the account may act at all: it is enabled, and so are its station (station
    staff) and its organization (charity staff). Closing a station or suspending an
    organization cuts its staff off at once: sessions, API tokens and new sign-ins."""
    if not actor.is_active:
        return False
    if actor.role == Role.STATION_STAFF:
        return actor.station is not None and actor.station.is_active
    if actor.role == Role.CHARITY_STAFF:
        return (
            actor.organization is not None
            and actor.organization.status != OrganizationStatus.SUSPENDED
        )
    return True


def visibility(model: type, actor: User) -> ColumnElement[bool]:
    """The predicate limiting ``model`` rows to what ``actor`` may see."""
    if not may_act(actor):
        return sa.false()
    if actor.role == Role.ADMIN:
        return sa.true()
    if actor.role == Role.DATA_PROVIDER:
        # A department's account delivers monitoring batches and sees nothing but its own
        # account and notices (deny by default: a model added later stays closed to it).
        return _DATA_PROVIDER_SEES.get(model, _nothing)(actor)
    try:
        return _RULES[model](actor)
    except KeyError:
        raise LookupError(f"no visibility rule for {model.__name__}") from None


def scoped(stmt: S, actor: User) -> S:
    """Restrict a ``select()`` of a model to the rows ``actor`` may see.

    The model is the statement's first entity; joins and extra criteria are the caller's.
    """
    entity = stmt.column_descriptions[0]["entity"]
    return stmt.where(visibility(entity, actor))


def require_role(actor: User, *roles: Role) -> None:
    """Refuse (403) a user whose role may not use a capability at all."""
    if actor.role != Role.ADMIN and actor.role not in roles:
        raise Forbidden()


def _nothing(actor: User) -> ColumnElement[bool]:
    return sa.false()


_DATA_PROVIDER_SEES: dict[type, Rule] = {
    User: lambda actor: User.id == actor.id,
    Notification: lambda actor: Notification.user_id == actor.id,
}


@rule(Region)
def _regions(actor: User) -> ColumnElement[bool]:
    return sa.true()


@rule(Station)
def _stations(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.STATION_STAFF:
        return Station.id == actor.station_id
    if actor.role == Role.CIVIL_AFFAIRS:
        return in_region(Station.region_code, actor)
    return sa.false()


def _charity_household_ids(actor: User) -> sa.Select[Any]:
    return (
        sa.select(Need.household_id)
        .join(Referral, Referral.need_id == Need.id)
        .join(Project, Project.id == Referral.project_id)
        .where(
            Project.organization_id == actor.organization_id,
            Referral.status.in_(CHARITY_SEES_HOUSEHOLD_STATES),
        )
    )


@rule(Household)
def _households(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.STATION_STAFF:
        return Household.station_id == actor.station_id
    if actor.role == Role.CIVIL_AFFAIRS:
        return in_region(Household.region_code, actor)
    if actor.role == Role.CHARITY_STAFF:
        return sa.and_(
            Household.consent_withdrawn_at.is_(None),
            Household.id.in_(_charity_household_ids(actor)),
        )
    return sa.false()


def _visible_household_ids(actor: User) -> sa.Select[Any]:
    return sa.select(Household.id).where(visibility(Household, actor))


@rule(Member)
def _members(actor: User) -> ColumnElement[bool]:
    return Member.household_id.in_(_visible_household_ids(actor))


@rule(Need)
def _needs(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.CHARITY_STAFF:
        # Only once it has taken the household on: before that it sees the referral's
        # minimal view, never the need's own record.
        referred = (
            sa.select(Referral.need_id)
            .join(Project, Project.id == Referral.project_id)
            .where(
                Project.organization_id == actor.organization_id,
                Referral.status.in_(CHARITY_SEES_HOUSEHOLD_STATES),
            )
        )
        consenting = sa.select(Household.id).where(Household.consent_withdrawn_at.is_(None))
        return sa.and_(Need.id.in_(referred), Need.household_id.in_(consenting))
    return Need.household_id.in_(_visible_household_ids(actor))


@rule(MonitoringWarning)
def _warnings(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.STATION_STAFF:
        return MonitoringWarning.station_id == actor.station_id
    if actor.role == Role.CIVIL_AFFAIRS:
        return in_region(MonitoringWarning.region_code, actor)
    return sa.false()


def actor_township(actor: User) -> str | None:
    """The township of a station's worker (its own, or the one its village lies in)."""
    if actor.role != Role.STATION_STAFF or actor.station is None:
        return None
    return township_code(actor.station.region_code)


def _local_here(actor: User) -> ColumnElement[bool]:
    """A local provider (本地资源提供方) of the actor's own township: the stations there
    see its records, the responsible person's phone included; nobody else below the
    county office does."""
    township = actor_township(actor)
    if township is None:
        return sa.false()
    return sa.and_(
        Organization.kind == OrganizationKind.LOCAL,
        Organization.registered_region_code == township,
    )


@rule(Organization)
def _organizations(actor: User) -> ColumnElement[bool]:
    public = sa.and_(
        Organization.status == OrganizationStatus.VERIFIED,
        Organization.kind == OrganizationKind.CHARITY,
    )
    if actor.role == Role.CHARITY_STAFF:
        return sa.or_(public, Organization.id == actor.organization_id)
    if actor.role == Role.CIVIL_AFFAIRS:
        # Regulators see every registration; only the registering department may review it.
        return sa.true()
    if actor.role == Role.STATION_STAFF:
        return sa.or_(public, _local_here(actor))
    return public


@rule(Project)
def _projects(actor: User) -> ColumnElement[bool]:
    charities = sa.select(Organization.id).where(Organization.kind == OrganizationKind.CHARITY)
    public = sa.and_(
        Project.status == ProjectStatus.VERIFIED, Project.organization_id.in_(charities)
    )
    if actor.role == Role.CHARITY_STAFF:
        return sa.or_(public, Project.organization_id == actor.organization_id)
    if actor.role == Role.CIVIL_AFFAIRS:
        return sa.true()
    if actor.role == Role.STATION_STAFF:
        # Local resources (本地资源) of its own township, whatever their state.
        local = sa.select(Organization.id).where(_local_here(actor))
        return sa.or_(public, Project.organization_id.in_(local))
    return public


@rule(LedgerEdition)
def _editions(actor: User) -> ColumnElement[bool]:
    # Ledgers are handed down to every station; any signed-in user may read them.
    return sa.true()


@rule(Referral)
def _referrals(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.CHARITY_STAFF:
        own_projects = sa.select(Project.id).where(Project.organization_id == actor.organization_id)
        consenting = (
            sa.select(Need.id)
            .join(Household, Household.id == Need.household_id)
            .where(Household.consent_withdrawn_at.is_(None))
        )
        return sa.and_(
            Referral.project_id.in_(own_projects),
            # Only what reached the charity: a referral approved by civil affairs.
            Referral.approved_at.is_not(None),
            Referral.need_id.in_(consenting),
        )
    visible_needs = sa.select(Need.id).where(Need.household_id.in_(_visible_household_ids(actor)))
    if actor.role == Role.STATION_STAFF:
        # The station answerable for a local resource answers its referrals as a charity
        # would: once approved, and while the household's consent stands.
        return sa.or_(Referral.need_id.in_(visible_needs), _provided_by_station(actor))
    return Referral.need_id.in_(visible_needs)


def _provided_by_station(actor: User) -> ColumnElement[bool]:
    providers = sa.select(Organization.id).where(
        Organization.kind == OrganizationKind.LOCAL,
        Organization.responsible_station_id == actor.station_id,
    )
    own_resources = sa.select(Project.id).where(Project.organization_id.in_(providers))
    consenting = (
        sa.select(Need.id)
        .join(Household, Household.id == Need.household_id)
        .where(Household.consent_withdrawn_at.is_(None))
    )
    return sa.and_(
        Referral.project_id.in_(own_resources),
        Referral.approved_at.is_not(None),
        Referral.need_id.in_(consenting),
    )


@rule(ServiceEpisode)
def _episodes(actor: User) -> ColumnElement[bool]:
    return ServiceEpisode.referral_id.in_(sa.select(Referral.id).where(visibility(Referral, actor)))


@rule(Notification)
def _notifications(actor: User) -> ColumnElement[bool]:
    return Notification.user_id == actor.id


@rule(BackReferral)
def _back_referrals(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.CHARITY_STAFF:
        return BackReferral.organization_id == actor.organization_id
    if actor.role == Role.CIVIL_AFFAIRS:
        return in_region(BackReferral.region_code, actor)
    if actor.role == Role.STATION_STAFF:
        return BackReferral.household_id.in_(_visible_household_ids(actor))
    return sa.false()


@rule(User)
def _users(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.CIVIL_AFFAIRS:
        return in_region(User.region_code, actor)
    return User.id == actor.id


@rule(AuditLog)
def _audit(actor: User) -> ColumnElement[bool]:
    if actor.role == Role.CIVIL_AFFAIRS:
        return sa.or_(AuditLog.actor_id == actor.id, in_region(AuditLog.region_code, actor))
    return AuditLog.actor_id == actor.id


@rule(JobRun)
def _job_runs(actor: User) -> ColumnElement[bool]:
    return sa.true() if actor.role == Role.CIVIL_AFFAIRS else sa.false()

"""慈善组织帮扶记录: what one charity (or local provider) did in a half-year, for the charity
itself, for civil-affairs offices, and as a sheet of the half-year report.

Each figure counts the events whose moment falls in the half-year (Guangdong's midnight to
midnight): referrals received (approved to the organization), answered (accepted or
declined, by reason), left to expire (their answer deadline passed), completed, with the
money and services delivered on completion and the service episodes logged. Households
served are those whose help (in service or completed) ran during the half-year. Response
time is approval → answer, over the answers given in the half-year; satisfaction is the
households' rating (1–5) in the follow-ups (回访) recorded in the half-year.

Who sees what follows :mod:`.scoping`: a charity sees only its own record; a civil-affairs
office sees the charities registered in or serving its region, counting its own region's
households only (the referrals it may see); administrators see everything; stations none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from models import (
    FollowUp,
    Household,
    Need,
    Organization,
    Project,
    ProjectArea,
    Referral,
    ServiceEpisode,
    User,
)
from models.clock import half_year_name, period_bounds, period_window
from models.enums import DeclineReason, OrganizationStatus, ReferralStatus, Role
from models.regions import ancestor_prefixes, descendant_range

from .audit import write_audit
from .errors import NotFound
from .ledgers import check_period
from .organizations import get_organization
from .scoping import require_role

S = ReferralStatus

#: The figures of a record, in the order tables and the report sheet show them.
COLUMNS = (
    ("received", "接到转介"),
    ("accepted", "接收"),
    ("declined", "婉拒"),
    ("expired", "超时未答复"),
    ("completed", "完成"),
    ("households_served", "服务家庭（户）"),
    ("delivered_fen", "帮扶金额（元）"),
    ("services_completed", "完成的服务类帮扶"),
    ("episodes", "服务记录（次）"),
    ("acceptance_rate", "接收率"),
    ("response_hours_median", "答复用时中位数（小时）"),
    ("response_hours_p90", "答复用时第 90 百分位（小时）"),
    ("satisfaction_ratings", "回访评价（份）"),
    ("satisfaction_average", "回访满意度（平均，1—5）"),
)

#: Organizations whose record the half-year report lists: those that have worked with the
#: platform (a pending or rejected registration has no projects to refer to).
REPORTED_STATES = (OrganizationStatus.VERIFIED, OrganizationStatus.SUSPENDED)


@dataclass(frozen=True)
class DeclineCount:
    reason: str
    label: str
    count: int


@dataclass
class CharityRecord:
    """One organization's figures for one half-year (money in fen, times in hours)."""

    organization_id: int
    name: str
    kind: str
    period: str
    #: Counted over this region's households only, or None for all of them.
    region_code: str | None = None
    received: int = 0
    accepted: int = 0
    declined: int = 0
    expired: int = 0
    completed: int = 0
    households_served: int = 0
    delivered_fen: int = 0
    services_completed: int = 0
    episodes: int = 0
    response_hours_median: float | None = None
    response_hours_p90: float | None = None
    #: Households' satisfaction (1–5) in the follow-ups recorded in the half-year.
    satisfaction_ratings: int = 0
    satisfaction_average: float | None = None
    declines: list[DeclineCount] = field(default_factory=list)

    @property
    def period_name(self) -> str:
        return half_year_name(self.period)

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted among the referrals answered or left to expire in the half-year."""
        answered = self.accepted + self.declined + self.expired
        return round(self.accepted / answered, 3) if answered else None


# --- who may see which record -------------------------------------------------------------


def _registered_or_serving(region_code: str) -> ColumnElement[bool]:
    """Organizations registered in the region, or with a project whose service area lies in
    it or covers it (an area of the province covers every county)."""
    low, high = descendant_range(region_code)
    above = [p.ljust(12, "0") for p in ancestor_prefixes(region_code)]
    serving = (
        sa.select(Project.organization_id)
        .join(ProjectArea, ProjectArea.project_id == Project.id)
        .where(sa.or_(ProjectArea.region_code.in_(above),
                      ProjectArea.region_code.between(low, high)))
    )  # fmt: skip
    return sa.or_(
        Organization.registered_region_code.between(low, high), Organization.id.in_(serving)
    )


def record_scope(db: Session, actor: User, organization_id: int) -> tuple[Organization, str | None]:
    """The organization whose record ``actor`` asked for, and the region its figures are
    limited to (None: all of them).

    :raise Forbidden: a station's worker (or any role without records).
    :raise NotFound: not the caller's own charity, or not registered in or serving the
        office's region.
    """
    require_role(actor, Role.CIVIL_AFFAIRS, Role.CHARITY_STAFF)
    if actor.role == Role.CHARITY_STAFF and organization_id != actor.organization_id:
        raise NotFound("慈善组织不存在或您无权查看。")
    organization = get_organization(db, actor, organization_id)
    if actor.role != Role.CIVIL_AFFAIRS:
        return organization, None
    here = db.scalar(
        sa.select(Organization.id).where(
            Organization.id == organization.id, _registered_or_serving(actor.region_code)
        )
    )
    if here is None:
        raise NotFound("慈善组织不存在或您无权查看。")
    return organization, actor.region_code


# --- the figures --------------------------------------------------------------------------


def _hours(db: Session, start: Any, end: Any) -> ColumnElement[Any]:
    if db.get_bind().dialect.name == "postgresql":
        return sa.func.extract("epoch", end - start) / 3600.0
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 24.0


def _percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (PostgreSQL's ``percentile_cont``)."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * share
    below = int(at)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (at - below)


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def charity_records(
    db: Session, organizations: list[Organization], period: str, region_code: str | None = None
) -> list[CharityRecord]:
    """The records of ``organizations`` for ``period``, counting the households of
    ``region_code`` only (all households when None). Callers check who may see them.

    :raise ValidationFailed: ``period`` is not a half-year.
    """
    check_period(period)
    starts, ends = period_window(period)
    first_day, last_day = period_bounds(period)
    records = {
        o.id: CharityRecord(o.id, o.name, o.kind.value, period, region_code) for o in organizations
    }
    if not records:
        return []

    def during(column: Any) -> ColumnElement[bool]:
        return sa.and_(column >= starts, column < ends)

    def referrals(*columns: Any) -> sa.Select[Any]:
        stmt = (
            sa.select(Project.organization_id, *columns)
            .select_from(Referral)
            .join(Project, Project.id == Referral.project_id)
            .join(Need, Need.id == Referral.need_id)
            .where(Project.organization_id.in_(records), Referral.approved_at.is_not(None))
        )
        if region_code is not None:
            low, high = descendant_range(region_code)
            stmt = stmt.join(Household, Household.id == Need.household_id).where(
                Household.region_code.between(low, high)
            )
        return stmt

    answered = during(Referral.answered_at)
    completed = sa.and_(Referral.status == S.COMPLETED, during(Referral.completed_at))
    counts = db.execute(
        referrals(
            sa.func.count().filter(during(Referral.approved_at)),
            sa.func.count().filter(answered, Referral.decline_reason.is_(None)),
            sa.func.count().filter(answered, Referral.decline_reason.is_not(None)),
            sa.func.count().filter(Referral.status == S.EXPIRED, during(Referral.due_at)),
            sa.func.count().filter(completed),
            sa.func.coalesce(sa.func.sum(sa.case((completed, Referral.delivered_amount_fen))), 0),
            sa.func.count().filter(completed, Referral.delivered_service.is_not(None)),
        ).group_by(Project.organization_id)
    ).all()
    for org_id, received, yes, no, silent, done, fen, services in counts:
        record = records[org_id]
        record.received, record.accepted, record.declined, record.expired = (
            received, yes, no, silent
        )  # fmt: skip
        record.completed, record.delivered_fen, record.services_completed = (
            done, int(fen or 0), services
        )  # fmt: skip

    for org_id, reason, count in db.execute(
        referrals(Referral.decline_reason, sa.func.count())
        .where(answered, Referral.decline_reason.is_not(None))
        .group_by(Project.organization_id, Referral.decline_reason)
    ).all():
        records[org_id].declines.append(
            DeclineCount(DeclineReason(reason).value, DeclineReason(reason).label, count)
        )
    order = list(DeclineReason)
    for record in records.values():
        record.declines.sort(key=lambda d: order.index(DeclineReason(d.reason)))

    # Help that ran during the half-year: started before its end, and not finished before
    # its start (still in service, or completed within or after it).
    served = sa.and_(
        Referral.status.in_((S.IN_SERVICE, S.COMPLETED)),
        Referral.started_at < ends,
        sa.or_(Referral.status == S.IN_SERVICE, Referral.completed_at >= starts),
    )
    for org_id, households in db.execute(
        referrals(sa.func.count(sa.distinct(Need.household_id)))
        .where(served)
        .group_by(Project.organization_id)
    ).all():
        records[org_id].households_served = households

    for org_id, episodes in db.execute(
        referrals(sa.func.count(ServiceEpisode.id))
        .join(ServiceEpisode, ServiceEpisode.referral_id == Referral.id)
        .where(ServiceEpisode.on.between(first_day, last_day))
        .group_by(Project.organization_id)
    ).all():
        records[org_id].episodes = episodes

    for org_id, ratings, average in db.execute(
        referrals(sa.func.count(FollowUp.satisfaction), sa.func.avg(FollowUp.satisfaction))
        .join(FollowUp, FollowUp.referral_id == Referral.id)
        .where(during(FollowUp.done_at), FollowUp.satisfaction.is_not(None))
        .group_by(Project.organization_id)
    ).all():
        records[org_id].satisfaction_ratings = ratings
        records[org_id].satisfaction_average = None if average is None else round(float(average), 2)

    hours = _hours(db, Referral.approved_at, Referral.answered_at)
    if db.get_bind().dialect.name == "postgresql":
        for org_id, median, p90 in db.execute(
            referrals(
                sa.func.percentile_cont(0.5).within_group(hours),
                sa.func.percentile_cont(0.9).within_group(hours),
            )
            .where(answered)
            .group_by(Project.organization_id)
        ).all():
            records[org_id].response_hours_median = _round(median)
            records[org_id].response_hours_p90 = _round(p90)
    else:
        times: dict[int, list[float]] = {}
        for org_id, value in db.execute(referrals(hours).where(answered)).all():
            times.setdefault(org_id, []).append(float(value))
        for org_id, values in times.items():
            records[org_id].response_hours_median = _round(_percentile(values, 0.5))
            records[org_id].response_hours_p90 = _round(_percentile(values, 0.9))
    return list(records.values())


def get_charity_record(
    db: Session, actor: User, organization_id: int, period: str, *, form: str = "page"
) -> CharityRecord:
    """One organization's record for ``period``, as ``actor`` may see it; the read is
    audited (``charity_record.read``, with the ``form`` it took: page or api).

    :raise Forbidden / NotFound: see :func:`record_scope`.
    :raise ValidationFailed: ``period`` is not a half-year.
    """
    organization, region_code = record_scope(db, actor, organization_id)
    record = charity_records(db, [organization], period, region_code)[0]
    write_audit(
        db, actor, "charity_record.read", organization,
        region_code=region_code or organization.registered_region_code,
        detail={"period": period, "form": form, "organizations": [organization.id]},
    )  # fmt: skip
    return record


def region_charity_records(
    db: Session, actor: User | None, region_code: str, period: str
) -> list[CharityRecord]:
    """The records of the charities and local providers registered in or serving the region
    (verified or suspended), counting its own households, busiest first: for the half-year
    report, whose caller has already checked the region. The read is audited as
    ``charity_record.read`` in the form ``report`` (``actor`` None: the command line)."""
    organizations = list(
        db.scalars(
            sa.select(Organization)
            .where(_registered_or_serving(region_code), Organization.status.in_(REPORTED_STATES))
            .order_by(Organization.id)
        )
    )
    records = charity_records(db, organizations, period, region_code)
    write_audit(
        db, actor, "charity_record.read", region_code=region_code,
        actor_name=None if actor else "system",
        detail={"period": period, "form": "report",
                "organizations": [o.id for o in organizations]},
    )  # fmt: skip
    return sorted(records, key=lambda r: (-r.received, -r.completed, r.name))


def record_rows(
    records: list[CharityRecord], say: Callable[..., str] | None = None
) -> list[tuple[Any, ...]]:
    """The report sheet's rows: the organization's name, then :data:`COLUMNS` (money in
    元, the acceptance rate as a percentage), then declines by reason, their labels said by
    ``say`` (in the reader's language; Chinese when None)."""
    say = say or (lambda text: text)
    rows = []
    for record in records:
        rate = record.acceptance_rate
        values = {
            **{key: getattr(record, key) for key, _label in COLUMNS},
            "delivered_fen": round(record.delivered_fen / 100, 2),
            "acceptance_rate": "—" if rate is None else f"{rate * 100:.1f}%",
        }
        declines = "；".join(f"{say(d.label)} {d.count}" for d in record.declines)
        rows.append((record.name, *(values[key] for key, _label in COLUMNS), declines))
    return rows

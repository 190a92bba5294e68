"""Figures for civil-affairs offices: where needs outrun charity supply, how referrals fare.

Every figure is an SQL aggregate over one region (the user's or one below it) and, for flows,
an optional half-year; only grouped counts come back to Python. The few expressions that
differ between SQLite and PostgreSQL (JSON arrays, day differences, local months) are in the
helpers at the top.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from models import Household, Member, Need, Organization, Project, ProjectArea, Referral, Region
from models.base import utcnow
from models.enums import (
    PRIORITY_GROUPS,
    REGION_PREFIX_DIGITS,
    Domain,
    NeedStatus,
    ProjectStatus,
    ReferralStatus,
    RegionLevel,
    Role,
    TargetGroup,
)
from models.regions import ancestor_prefixes, descendant_range, guess_level, is_within

from .errors import Forbidden, NotFound
from .ledgers import period_bounds
from .scoping import require_role

S = ReferralStatus

#: The level below each level, for the drill-down.
CHILD_LEVEL = {
    RegionLevel.PROVINCE: RegionLevel.CITY,
    RegionLevel.CITY: RegionLevel.COUNTY,
    RegionLevel.COUNTY: RegionLevel.TOWNSHIP,
    RegionLevel.TOWNSHIP: RegionLevel.VILLAGE,
}


# --- the dialect differences --------------------------------------------------------------


def _postgres(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _json_values(db: Session, column: Any) -> Any:
    """A table of the elements of a JSON array column (one row per element, column ``value``)."""
    fn = sa.func.json_array_elements_text if _postgres(db) else sa.func.json_each
    return fn(column).table_valued("value")


def _days(db: Session, start: Any, end: Any) -> ColumnElement[float]:
    if _postgres(db):
        return sa.func.extract("epoch", end - start) / 86400.0
    return sa.func.julianday(end) - sa.func.julianday(start)


def _local_month(db: Session, column: Any) -> ColumnElement[str]:
    """``2026-11``: the calendar month in Guangdong (UTC+8) of a UTC timestamp."""
    if _postgres(db):
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, "+8 hours")


def _median(db: Session, values: sa.Select[Any]) -> float | None:
    """The median of a one-column select, with window functions both databases have."""
    inner = values.subquery()
    value = inner.c[0]
    ranked = sa.select(
        value.label("v"),
        sa.func.row_number().over(order_by=value).label("n"),
        sa.func.count().over().label("total"),
    ).subquery()
    middle = sa.select(sa.func.avg(ranked.c.v)).where(
        ranked.c.n.in_([(ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2])
    )
    result = db.scalar(middle)
    return None if result is None else round(float(result), 1)


# --- the scope ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsScope:
    region: Region
    today: dt.date
    period: str | None = None

    @property
    def range(self) -> tuple[str, str]:
        return descendant_range(self.region.code)

    @property
    def window(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The half-year as UTC instants (Guangdong's midnight to midnight)."""
        if self.period is None:
            return None
        starts, ends = period_bounds(self.period)
        zone = dt.timezone(dt.timedelta(hours=8))
        return (
            dt.datetime.combine(starts, dt.time(0), zone).astimezone(dt.UTC),
            dt.datetime.combine(ends + dt.timedelta(days=1), dt.time(0), zone).astimezone(dt.UTC),
        )

    def households(self) -> ColumnElement[bool]:
        low, high = self.range
        return Household.region_code.between(low, high)

    def during(self, column: Any) -> ColumnElement[bool]:
        window = self.window
        return sa.true() if window is None else column.between(*window)


def stats_scope(
    db: Session, actor: Any, region_code: str | None, today: dt.date, period: str | None = None
) -> StatsScope:
    """The region whose figures ``actor`` asked for: its own or one below it.

    :raise Forbidden: not civil-affairs staff, or a region outside the user's.
    :raise NotFound: no such region.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    code = region_code or actor.region_code
    region = db.get(Region, code)
    if region is None:
        raise NotFound("没有这个区划。")
    if actor.role != Role.ADMIN and not is_within(code, actor.region_code):
        raise Forbidden("只能查看本辖区及下级区划的统计。")
    if period is not None:
        period_bounds(period)
    return StatsScope(region, today, period)


# --- the figures --------------------------------------------------------------------------


def _serving(db: Session, scope: StatsScope) -> ColumnElement[bool]:
    """Projects on offer today with places left whose service area covers part of the
    region: an area above it (province, city, county) or inside it."""
    low, high = scope.range
    above = [p.ljust(12, "0") for p in ancestor_prefixes(scope.region.code)]
    area = sa.select(ProjectArea.project_id).where(
        sa.or_(ProjectArea.region_code.in_(above), ProjectArea.region_code.between(low, high))
    )
    return sa.and_(
        Project.status == ProjectStatus.VERIFIED,
        Project.starts_on <= scope.today,
        Project.ends_on >= scope.today,
        Project.quota_used < Project.quota,
        Project.id.in_(area),
    )


def needs_and_places(db: Session, scope: StatsScope) -> list[dict[str, Any]]:
    """Open needs against the places left in projects serving the region, by domain. A
    project in two domains counts its places in both."""
    needs = dict(
        db.execute(
            sa.select(Need.domain, sa.func.count())
            .join(Household, Household.id == Need.household_id)
            .where(scope.households(), Need.status == NeedStatus.OPEN)
            .group_by(Need.domain)
        ).all()
    )
    domains = _json_values(db, Project.domains)
    places = dict(
        db.execute(
            sa.select(domains.c.value, sa.func.sum(Project.quota - Project.quota_used))
            .select_from(Project)
            .join(domains, sa.true())
            .where(_serving(db, scope))
            .group_by(domains.c.value)
        ).all()
    )
    rows = []
    for domain in Domain:
        open_needs = int(needs.get(domain, 0) or needs.get(domain.value, 0))
        left = int(places.get(domain.value, 0) or 0)
        rows.append({"domain": domain.value, "label": domain.label, "open_needs": open_needs,
                     "places": left, "gap": max(open_needs - left, 0)})  # fmt: skip
    return rows


def coverage(db: Session, scope: StatsScope) -> dict[str, Any]:
    """How many open needs have at least one project on offer in their domain whose area
    covers the household (hard eligibility rules such as age are not counted here)."""
    low, high = scope.range
    grouped = db.execute(
        sa.select(Household.region_code, Need.domain, sa.func.count())
        .join(Household, Household.id == Need.household_id)
        .where(scope.households(), Need.status == NeedStatus.OPEN)
        .group_by(Household.region_code, Need.domain)
    ).all()
    domains = _json_values(db, Project.domains)
    above = [p.ljust(12, "0") for p in ancestor_prefixes(scope.region.code)]
    offered = set(
        db.execute(
            sa.select(ProjectArea.region_code, domains.c.value)
            .select_from(Project)
            .join(ProjectArea, ProjectArea.project_id == Project.id)
            .join(domains, sa.true())
            .where(
                _serving(db, scope),
                sa.or_(
                    ProjectArea.region_code.in_(above), ProjectArea.region_code.between(low, high)
                ),
            )
            .distinct()
        ).all()
    )
    total = covered = 0
    for region_code, domain, count in grouped:
        value = Domain(domain).value
        covering = [p.ljust(12, "0") for p in ancestor_prefixes(region_code)] + [region_code]
        total += count
        if any((code, value) in offered for code in covering):
            covered += count
    return {"open_needs": total, "with_project": covered,
            "share": round(covered / total, 3) if total else None}  # fmt: skip


def waiting(db: Session, scope: StatsScope, now: dt.datetime) -> dict[str, int]:
    """Open needs, and those waiting longer than 15 and 30 days."""
    row = db.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(Need.created_at < now - dt.timedelta(days=15)),
            sa.func.count().filter(Need.created_at < now - dt.timedelta(days=30)),
        )
        .join(Household, Household.id == Need.household_id)
        .where(scope.households(), Need.status == NeedStatus.OPEN)
    ).one()
    return {"open": row[0], "over_15_days": row[1], "over_30_days": row[2]}


def _referrals(scope: StatsScope) -> sa.Select[Any]:
    return (
        sa.select(Referral)
        .join(Need, Need.id == Referral.need_id)
        .join(Household, Household.id == Need.household_id)
        .where(scope.households(), scope.during(Referral.submitted_at))
    )


FUNNEL = (
    ("submitted", "已提交", Referral.submitted_at.is_not(None)),
    ("approved", "已批准", Referral.approved_at.is_not(None)),
    ("accepted", "已接收", sa.and_(Referral.answered_at.is_not(None),
                                  Referral.decline_reason.is_(None))),
    ("in_service", "服务中或已完成", Referral.started_at.is_not(None)),
    ("completed", "已完成", Referral.completed_at.is_not(None)),
)  # fmt: skip


def funnel(db: Session, scope: StatsScope) -> dict[str, Any]:
    """Referrals submitted in the scope that reached each step, and their present states."""
    base = _referrals(scope).subquery()
    reached = db.execute(
        sa.select(*(sa.func.count().filter(condition) for _k, _l, condition in FUNNEL))
        .select_from(Referral)
        .where(Referral.id.in_(sa.select(base.c.id)))
    ).one()
    by_status = dict(
        db.execute(sa.select(base.c.status, sa.func.count()).group_by(base.c.status)).all()
    )
    return {
        "steps": [{"step": key, "label": label, "count": int(count)}
                  for (key, label, _c), count in zip(FUNNEL, reached, strict=True)],
        "by_status": [{"status": s.value, "label": s.label,
                       "count": int(by_status.get(s, 0) or by_status.get(s.value, 0))}
                      for s in ReferralStatus if s != S.DRAFT],
    }  # fmt: skip


def durations(db: Session, scope: StatsScope) -> dict[str, float | None]:
    """Median days from submission to approval, and from approval to acceptance."""
    ids = sa.select(_referrals(scope).subquery().c.id)
    approval = sa.select(_days(db, Referral.submitted_at, Referral.approved_at)).where(
        Referral.id.in_(ids), Referral.approved_at.is_not(None)
    )
    acceptance = sa.select(_days(db, Referral.approved_at, Referral.answered_at)).where(
        Referral.id.in_(ids), Referral.answered_at.is_not(None), Referral.decline_reason.is_(None)
    )
    return {
        "submission_to_approval_days": _median(db, approval),
        "approval_to_acceptance_days": _median(db, acceptance),
    }


def charities(db: Session, scope: StatsScope, limit: int = 20) -> list[dict[str, Any]]:
    """Each charity's answers to the region's referrals: accepted, declined, left to expire."""
    ids = sa.select(_referrals(scope).subquery().c.id)
    accepted = sa.and_(Referral.answered_at.is_not(None), Referral.decline_reason.is_(None))
    rows = db.execute(
        sa.select(
            Organization.id, Organization.name,
            sa.func.count().filter(accepted),
            sa.func.count().filter(Referral.status == S.DECLINED),
            sa.func.count().filter(Referral.status == S.EXPIRED),
        )
        .select_from(Referral)
        .join(Project, Project.id == Referral.project_id)
        .join(Organization, Organization.id == Project.organization_id)
        .where(Referral.id.in_(ids), Referral.approved_at.is_not(None))
        .group_by(Organization.id, Organization.name)
    ).all()  # fmt: skip
    lines = []
    for org_id, name, yes, no, silent in rows:
        answered = yes + no + silent
        rate = round(yes / answered, 3) if answered else None
        lines.append({"organization_id": org_id, "name": name, "accepted": yes, "declined": no,
                      "expired": silent, "acceptance_rate": rate})  # fmt: skip
    lines.sort(key=lambda line: (-(line["accepted"] + line["declined"] + line["expired"]),
                                 line["name"]))  # fmt: skip
    return lines[:limit]


def delivered(db: Session, scope: StatsScope) -> list[dict[str, Any]]:
    """Amounts delivered by completed referrals, by month (Guangdong time) and domain."""
    month = _local_month(db, Referral.completed_at).label("month")
    rows = db.execute(
        sa.select(month, Need.domain, sa.func.sum(Referral.delivered_amount_fen), sa.func.count())
        .join(Need, Need.id == Referral.need_id)
        .join(Household, Household.id == Need.household_id)
        .where(
            scope.households(),
            Referral.status == S.COMPLETED,
            scope.during(Referral.completed_at),
        )
        .group_by(month, Need.domain)
        .order_by(month)
    ).all()
    return [
        {"month": m, "domain": Domain(d).value, "label": Domain(d).label,
         "amount_fen": int(amount or 0), "referrals": count}
        for m, d, amount, count in rows
    ]  # fmt: skip


def groups_reached(db: Session, scope: StatsScope) -> list[dict[str, Any]]:
    """Households whose referral reached service (in service or completed), by the priority
    groups among their members (a household counts once in each of its groups)."""
    served = (
        sa.select(Need.household_id)
        .join(Referral, Referral.need_id == Need.id)
        .where(Referral.started_at.is_not(None), scope.during(Referral.submitted_at))
    )
    adult = scope.today.replace(year=scope.today.year - 18)
    old = scope.today.replace(year=scope.today.year - 60)
    member_of = {
        TargetGroup.DISABLED_ELDERLY: sa.and_(Member.birth_on <= old,
                                              Member.self_care != "independent"),
        TargetGroup.MINOR: Member.birth_on > adult,
        TargetGroup.DISABLED: Member.disability_type.is_not(None),
        TargetGroup.SERIOUS_ILLNESS: Member.illness_kind.in_(("serious", "rare")),
    }  # fmt: skip
    households = sa.select(Household.id).where(scope.households(), Household.id.in_(served))
    counts = db.execute(
        sa.select(
            *(
                sa.func.count(sa.distinct(Member.household_id)).filter(member_of[group])
                for group in PRIORITY_GROUPS
            ),
            sa.func.count(sa.distinct(Member.household_id)),
        ).where(Member.household_id.in_(households))
    ).one()
    lines = [{"group": g.value, "label": g.label, "households": int(n)}
             for g, n in zip(PRIORITY_GROUPS, counts, strict=False)]  # fmt: skip
    lines.append({"group": "all", "label": "全部受助家庭", "households": int(counts[-1])})
    return lines


def children(db: Session, scope: StatsScope) -> list[dict[str, Any]]:
    """The figures of each region one level down, for the drill-down."""
    level = CHILD_LEVEL.get(guess_level(scope.region.code))
    if level is None:
        return []
    digits = REGION_PREFIX_DIGITS[level]
    prefix = sa.func.substr(Household.region_code, 1, digits)
    needs = dict(
        db.execute(
            sa.select(prefix, sa.func.count())
            .join(Need, Need.household_id == Household.id)
            .where(scope.households(), Need.status == NeedStatus.OPEN)
            .group_by(prefix)
        ).all()
    )
    flows = {
        row[0]: row[1:]
        for row in db.execute(
            sa.select(
                prefix, sa.func.count(),
                sa.func.count().filter(Referral.status == S.COMPLETED),
                sa.func.sum(Referral.delivered_amount_fen),
            )
            .select_from(Referral)
            .join(Need, Need.id == Referral.need_id)
            .join(Household, Household.id == Need.household_id)
            .where(scope.households(), Referral.submitted_at.is_not(None),
                   scope.during(Referral.submitted_at))
            .group_by(prefix)
        ).all()
    }  # fmt: skip
    low, high = scope.range
    regions = db.execute(
        sa.select(Region.code, Region.name)
        .where(Region.parent_code == scope.region.code, Region.code.between(low, high))
        .order_by(Region.code)
    ).all()
    lines = []
    for code, name in regions:
        key = code[:digits]
        submitted, completed, amount = flows.get(key, (0, 0, 0))
        lines.append({"code": code, "name": name, "open_needs": int(needs.get(key, 0)),
                      "referrals": int(submitted), "completed": int(completed),
                      "delivered_fen": int(amount or 0)})  # fmt: skip
    return lines


FIGURES = ("needs_and_places", "coverage", "waiting", "funnel", "durations", "charities",
           "delivered", "groups_reached", "children")  # fmt: skip


def overview(db: Session, scope: StatsScope, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every figure for the region (and half-year, if given)."""
    now = now or utcnow()
    return {
        "region": {"code": scope.region.code, "name": scope.region.name,
                   "level": scope.region.level.value, "parent_code": scope.region.parent_code},
        "period": scope.period,
        "needs_and_places": needs_and_places(db, scope),
        "coverage": coverage(db, scope),
        "waiting": waiting(db, scope, now),
        "funnel": funnel(db, scope),
        "durations": durations(db, scope),
        "charities": charities(db, scope),
        "delivered": delivered(db, scope),
        "groups_reached": groups_reached(db, scope),
        "children": children(db, scope),
    }  # fmt: skip


def child_scopes(db: Session, scope: StatsScope) -> list[StatsScope]:
    low, high = scope.range
    regions = db.scalars(
        sa.select(Region)
        .where(Region.parent_code == scope.region.code, Region.code.between(low, high))
        .order_by(Region.code)
    )
    return [StatsScope(region, scope.today, scope.period) for region in regions]


def half_year_report(db: Session, actor: Any, scope: StatsScope) -> bytes:
    """The half-year report (``.xlsx``): the region's figures, then each child region's."""
    from .audit import write_audit
    from .stats_tables import report_workbook

    now = utcnow()
    figures = overview(db, scope, now)
    children = [overview(db, child, now) for child in child_scopes(db, scope)]
    write_audit(db, actor, "stats.report", region_code=scope.region.code,
                actor_name=None if actor else "system",
                detail={"period": scope.period, "children": len(children)})  # fmt: skip
    return report_workbook(figures, children)

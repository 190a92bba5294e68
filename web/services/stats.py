"""Figures for civil-affairs offices: where needs outrun charity supply, how referrals fare.

Every figure is an SQL aggregate over one region (the user's or one below it) and, for flows,
an optional half-year; only grouped counts come back to Python. The few expressions that
differ between SQLite and PostgreSQL (JSON arrays, day differences, local months) are in the
helpers at the top.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from models import (
    Household,
    Member,
    Need,
    Organization,
    Project,
    ProjectArea,
    Referral,
    Region,
    User,
)
from models.base import utcnow
from models.clock import TZ, period_bounds, period_window
from models.enums import (
    AWAITING_NEED_STATES,
    PRIORITY_GROUPS,
    REGION_PREFIX_DIGITS,
    Domain,
    ProjectStatus,
    ReferralStatus,
    RegionLevel,
    Role,
    TargetGroup,
    WarningRule,
)
from models.regions import ancestor_prefixes, descendant_range, guess_level, is_within

from .audit import write_audit
from .errors import Forbidden, NotFound
from .ledgers import check_period
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


def _days(db: Session, start: Any, end: Any) -> ColumnElement[float | Decimal]:
    if _postgres(db):
        return sa.func.extract("epoch", end - start) / 86400.0
    return sa.func.julianday(end) - sa.func.julianday(start)


def _local_month(db: Session, column: Any) -> ColumnElement[str]:
    """``2026-11``: the calendar month in Guangdong (UTC+8) of a UTC timestamp."""
    if _postgres(db):
        return sa.func.to_char(sa.func.timezone(TZ.key, column), "YYYY-MM")
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
        return period_window(self.period)

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
        check_period(period)
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


def _child_digits(scope: StatsScope) -> int | None:
    level = CHILD_LEVEL.get(guess_level(scope.region.code))
    return None if level is None else REGION_PREFIX_DIGITS[level]


def _child(scope: StatsScope) -> ColumnElement[str]:
    """The code prefix of the child region a household lies in ('' at village level)."""
    digits = _child_digits(scope)
    if digits is None:
        return sa.literal("")
    return sa.func.substr(Household.region_code, 1, digits)


@dataclass(frozen=True)
class _Needs:
    """Open needs grouped by child region and domain, with how long they have waited: one
    scan feeds the domain figure, the waiting figure and the drill-down."""

    rows: list[tuple[str, str, int, int, int]]

    def by_domain(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for _child, domain, count, _15, _30 in self.rows:
            key = Domain(domain).value
            totals[key] = totals.get(key, 0) + count
        return totals

    def by_child(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for child, _domain, count, _15, _30 in self.rows:
            totals[child] = totals.get(child, 0) + count
        return totals


def _open_needs(db: Session, scope: StatsScope, now: dt.datetime) -> _Needs:
    child = _child(scope).label("child")
    rows = db.execute(
        sa.select(
            child, Need.domain, sa.func.count(),
            sa.func.count().filter(Need.created_at < now - dt.timedelta(days=15)),
            sa.func.count().filter(Need.created_at < now - dt.timedelta(days=30)),
        )
        .join(Household, Household.id == Need.household_id)
        .where(scope.households(), Need.status.in_(AWAITING_NEED_STATES))
        .group_by(child, Need.domain)
    ).all()  # fmt: skip
    return _Needs([tuple(r) for r in rows])  # type: ignore[misc]  # tuple() drops a Row's types


def _places(db: Session, scope: StatsScope) -> dict[str, int]:
    """Places left in projects serving the region, by domain (a project in two domains
    counts its places in both)."""
    domains = _json_values(db, Project.domains)
    return dict(
        db.execute(
            sa.select(domains.c.value, sa.func.sum(Project.quota - Project.quota_used))
            .select_from(Project)
            .join(domains, sa.true())
            .where(_serving(db, scope))
            .group_by(domains.c.value)
        ).all()
    )


def needs_and_places(needs: _Needs, places: dict[str, int]) -> list[dict[str, Any]]:
    """Open needs against the places left in projects serving the region, by domain."""
    open_needs = needs.by_domain()
    rows = []
    for domain in Domain:
        count = open_needs.get(domain.value, 0)
        left = int(places.get(domain.value, 0) or 0)
        rows.append({"domain": domain.value, "label": domain.label, "open_needs": count,
                     "places": left, "gap": max(count - left, 0)})  # fmt: skip
    return rows


def coverage(db: Session, scope: StatsScope) -> dict[str, Any]:
    """How many open needs have at least one project on offer in their domain whose area
    covers the household (hard eligibility rules such as age are not counted here)."""
    low, high = scope.range
    domains = _json_values(db, Project.domains)
    above = [p.ljust(12, "0") for p in ancestor_prefixes(scope.region.code)]
    offered = (
        sa.select(ProjectArea.region_code.label("area"), domains.c.value.label("domain"))
        .select_from(Project)
        .join(ProjectArea, ProjectArea.project_id == Project.id)
        .join(domains, sa.true())
        .where(
            _serving(db, scope),
            sa.or_(ProjectArea.region_code.in_(above), ProjectArea.region_code.between(low, high)),
        )
        .distinct()
        .cte("offered")
    )
    groups = (
        sa.select(
            Household.region_code.label("code"),
            Need.domain.label("domain"),
            sa.func.count().label("n"),
        )  # fmt: skip
        .join(Household, Household.id == Need.household_id)
        .where(scope.households(), Need.status.in_(AWAITING_NEED_STATES))
        .group_by(Household.region_code, Need.domain)
        .cte("groups")
    )
    # Each group of needs with the codes of its village and every region above it, joined to
    # the offers on (code, domain): a hash join, not a search per group.
    levels = [sa.func.substr(groups.c.code, 1, n).concat("0" * (12 - n)) for n in (2, 4, 6, 9)]
    covering = sa.union_all(
        *(sa.select(groups.c.code, groups.c.domain, groups.c.n, area.label("area"))
          for area in [*levels, groups.c.code])
    ).subquery()  # fmt: skip
    matched = (
        sa.select(covering.c.code, covering.c.domain, covering.c.n)
        .join(
            offered,
            sa.and_(offered.c.area == covering.c.area, offered.c.domain == covering.c.domain),
        )  # fmt: skip
        .distinct()
        .subquery()
    )
    total, covered = db.execute(
        sa.select(
            sa.select(sa.func.coalesce(sa.func.sum(groups.c.n), 0)).scalar_subquery(),
            sa.select(sa.func.coalesce(sa.func.sum(matched.c.n), 0)).scalar_subquery(),
        )
    ).one()
    total, covered = int(total), int(covered)
    return {"open_needs": total, "with_project": covered,
            "share": round(covered / total, 3) if total else None}  # fmt: skip


def waiting(needs: _Needs) -> dict[str, int]:
    """Open needs, and those waiting longer than 15 and 30 days."""
    return {
        "open": sum(r[2] for r in needs.rows),
        "over_15_days": sum(r[3] for r in needs.rows),
        "over_30_days": sum(r[4] for r in needs.rows),
    }


#: A query of any columns; ``_in_scope`` keeps them.
_Select = TypeVar("_Select", bound=sa.Select)


def _in_scope(stmt: _Select, scope: StatsScope) -> _Select:
    """Referrals of the region's households submitted (in the half-year, if one is given)."""
    return (
        stmt.join(Need, Need.id == Referral.need_id)
        .join(Household, Household.id == Need.household_id)
        .where(scope.households(), Referral.submitted_at.is_not(None),
               scope.during(Referral.submitted_at))
    )  # fmt: skip


ACCEPTED = sa.and_(Referral.answered_at.is_not(None), Referral.decline_reason.is_(None))

FUNNEL = (
    ("submitted", "已提交", Referral.submitted_at.is_not(None)),
    ("approved", "已批准", Referral.approved_at.is_not(None)),
    ("accepted", "已接收", ACCEPTED),
    ("in_service", "服务中或已完成", Referral.started_at.is_not(None)),
    ("completed", "已完成", Referral.completed_at.is_not(None)),
)


@dataclass(frozen=True)
class _Referrals:
    """Referrals grouped by child region and state, with the steps each reached and the
    amounts delivered: one scan feeds the funnel, the states and the drill-down."""

    rows: list[tuple[Any, ...]]  # child, status, count, *steps, delivered


def _referral_groups(db: Session, scope: StatsScope) -> _Referrals:
    child = _child(scope).label("child")
    stmt = sa.select(
        child, Referral.status, sa.func.count(),
        *(sa.func.count().filter(condition) for _k, _l, condition in FUNNEL),
        sa.func.coalesce(sa.func.sum(Referral.delivered_amount_fen), 0),
    ).select_from(Referral)  # fmt: skip
    rows = db.execute(_in_scope(stmt, scope).group_by(child, Referral.status)).all()
    return _Referrals([tuple(r) for r in rows])


def funnel(referrals: _Referrals) -> dict[str, Any]:
    """Referrals submitted in the scope that reached each step, and their present states."""
    reached = [sum(r[3 + i] for r in referrals.rows) for i in range(len(FUNNEL))]
    by_status: dict[str, int] = {}
    for row in referrals.rows:
        key = ReferralStatus(row[1]).value
        by_status[key] = by_status.get(key, 0) + row[2]
    return {
        "steps": [{"step": key, "label": label, "count": int(count)}
                  for (key, label, _c), count in zip(FUNNEL, reached, strict=True)],
        "by_status": [{"status": s.value, "label": s.label, "count": by_status.get(s.value, 0)}
                      for s in ReferralStatus if s != S.DRAFT],
    }  # fmt: skip


def durations(db: Session, scope: StatsScope) -> dict[str, float | None]:
    """Median days from submission to approval, and from approval to acceptance."""
    approval = _days(db, Referral.submitted_at, Referral.approved_at)
    acceptance = _days(db, Referral.approved_at, Referral.answered_at)
    if _postgres(db):
        # One scan, the database's own median.
        medians = db.execute(
            _in_scope(
                sa.select(
                    sa.func.percentile_cont(0.5).within_group(approval)
                    .filter(Referral.approved_at.is_not(None)),
                    sa.func.percentile_cont(0.5).within_group(acceptance).filter(ACCEPTED),
                ).select_from(Referral),
                scope,
            )
        ).one()  # fmt: skip
        values = [None if m is None else round(float(m), 1) for m in medians]
    else:
        values = [
            _median(db, _in_scope(sa.select(approval).select_from(Referral), scope)
                    .where(Referral.approved_at.is_not(None))),
            _median(db, _in_scope(sa.select(acceptance).select_from(Referral), scope)
                    .where(ACCEPTED)),
        ]  # fmt: skip
    return {"submission_to_approval_days": values[0], "approval_to_acceptance_days": values[1]}


def charities(db: Session, scope: StatsScope, limit: int = 20) -> list[dict[str, Any]]:
    """Each charity's answers to the region's referrals: accepted, declined, left to expire."""
    stmt = (
        sa.select(
            Organization.id, Organization.name,
            sa.func.count().filter(ACCEPTED),
            sa.func.count().filter(Referral.status == S.DECLINED),
            sa.func.count().filter(Referral.status == S.EXPIRED),
        )
        .select_from(Referral)
        .join(Project, Project.id == Referral.project_id)
        .join(Organization, Organization.id == Project.organization_id)
    )  # fmt: skip
    rows = db.execute(
        _in_scope(stmt, scope)
        .where(Referral.approved_at.is_not(None))
        .group_by(Organization.id, Organization.name)
    ).all()
    lines: list[dict[str, Any]] = []
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
        .join(Household, Household.id == Need.household_id)
        .where(
            scope.households(),
            Referral.started_at.is_not(None),
            scope.during(Referral.submitted_at),
        )
        .distinct()
        .subquery()
    )
    # Ages by birth year, as Member.age_on reckons them.
    member_of = {
        TargetGroup.DISABLED_ELDERLY: sa.and_(Member.birth_year <= scope.today.year - 60,
                                              Member.self_care != "independent"),
        TargetGroup.MINOR: Member.birth_year > scope.today.year - 18,
        TargetGroup.DISABLED: Member.disability_type.is_not(None),
        TargetGroup.SERIOUS_ILLNESS: Member.illness_kind.in_(("serious", "rare")),
    }  # fmt: skip
    counts = db.execute(
        sa.select(
            *(
                sa.func.count(sa.distinct(Member.household_id)).filter(member_of[group])
                for group in PRIORITY_GROUPS
            ),
            sa.func.count(sa.distinct(Member.household_id)),
        ).join(served, served.c.household_id == Member.household_id)
    ).one()
    lines = [{"group": g.value, "label": g.label, "households": int(n)}
             for g, n in zip(PRIORITY_GROUPS, counts, strict=False)]  # fmt: skip
    lines.append({"group": "all", "label": "全部受助家庭", "households": int(counts[-1])})
    return lines


def _child_regions(db: Session, scope: StatsScope) -> list[tuple[str, str]]:
    low, high = scope.range
    return [
        (code, name)
        for code, name in db.execute(
            sa.select(Region.code, Region.name)
            .where(Region.parent_code == scope.region.code, Region.code.between(low, high))
            .order_by(Region.code)
        )
    ]


def children(
    scope: StatsScope, needs: _Needs, referrals: _Referrals, regions: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The figures of each region one level down, for the drill-down."""
    digits = _child_digits(scope)
    if digits is None:
        return []
    open_needs = needs.by_child()
    flows: dict[str, list[int]] = {}
    for child, status, count, *steps_and_amount in referrals.rows:
        line = flows.setdefault(child, [0, 0, 0])
        line[0] += count
        if ReferralStatus(status) == S.COMPLETED:
            line[1] += count
        line[2] += int(steps_and_amount[-1] or 0)
    lines = []
    for code, name in regions:
        submitted, completed, amount = flows.get(code[:digits], (0, 0, 0))
        lines.append({"code": code, "name": name, "open_needs": open_needs.get(code[:digits], 0),
                      "referrals": submitted, "completed": completed,
                      "delivered_fen": amount})  # fmt: skip
    return lines


FIGURES = ("needs_and_places", "coverage", "waiting", "funnel", "durations", "charities",
           "delivered", "groups_reached", "children", "warnings_summary", "warnings_by_rule",
           "warnings_by_region")  # fmt: skip


#: The first day 主动发现 figures count from when no half-year is chosen (before any feed).
_DISCOVERY_FROM = dt.date(2000, 1, 1)


def discovery(db: Session, scope: StatsScope) -> dict[str, Any]:
    """主动发现: warnings raised, confirmed, dismissed and overdue by rule and by township, and
    the median days from the earliest evidence record to confirmation, in the region (and
    half-year). Counted by :func:`warnings.warning_figures` as the region's own office sees
    them, so a drill-down counts what that office's worklist holds."""
    from .warnings import warning_figures

    start_on, end_on = (
        period_bounds(scope.period) if scope.period else (_DISCOVERY_FROM, scope.today)
    )
    # A stand-in for the region's office (never added to the session): stats_scope has
    # already checked that the asking user may see this region.
    office = User(role=Role.CIVIL_AFFAIRS, region_code=scope.region.code, is_active=True)
    got = warning_figures(db, office, start_on, end_on, scope.today)
    counts = ("raised", "confirmed", "dismissed", "overdue")
    return {
        "warnings_summary": {
            **{key: sum(r[key] for r in got.by_rule) for key in counts},
            "median_days_to_confirm": got.median_days_to_confirm,
        },
        "warnings_by_rule": [
            {"rule": r["rule"], "label": WarningRule(r["rule"]).label,
             **{key: r[key] for key in counts},
             "median_days_to_confirm": r.get("median_days_to_confirm")}
            for r in got.by_rule
        ],
        "warnings_by_region": [
            {"code": r["region_code"], "name": r["region_name"], **{key: r[key] for key in counts},
             "median_days_to_confirm": r.get("median_days_to_confirm")}
            for r in got.by_region
        ],
    }  # fmt: skip


def overview(
    db: Session,
    scope: StatsScope,
    now: dt.datetime | None = None,
    *,
    side_by_side: sessionmaker[Session] | None = None,
) -> dict[str, Any]:
    """Every figure for the region (and half-year, if given).

    With ``side_by_side`` (a session factory on a PostgreSQL engine) the independent queries
    run at once on their own connections, each on its own core; otherwise one after another
    in ``db``.
    """
    now = now or utcnow()
    queries: dict[str, Callable[[Session], Any]] = {
        "needs": lambda d: _open_needs(d, scope, now),
        "referrals": lambda d: _referral_groups(d, scope),
        "places": lambda d: _places(d, scope),
        "coverage": lambda d: coverage(d, scope),
        "durations": lambda d: durations(d, scope),
        "charities": lambda d: charities(d, scope),
        "delivered": lambda d: delivered(d, scope),
        "groups_reached": lambda d: groups_reached(d, scope),
        "regions": lambda d: _child_regions(d, scope),
        "discovery": lambda d: discovery(d, scope),
    }
    bind = side_by_side.kw.get("bind") if side_by_side is not None else None
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        assert side_by_side is not None

        def run(query: Callable[[Session], Any]) -> Any:
            with side_by_side() as session:
                # The queries already share the cores between them; a parallel plan for each
                # on top only adds workers that wait for one another (measured: 0.87 s against
                # 0.68 s for a province of 200,000 households).
                session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
                return query(session)

        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="stats") as pool:
            futures = {name: pool.submit(run, query) for name, query in queries.items()}
            got = {name: future.result() for name, future in futures.items()}
    else:
        got = {name: query(db) for name, query in queries.items()}
    return {
        "region": {"code": scope.region.code, "name": scope.region.name,
                   "level": scope.region.level.value, "parent_code": scope.region.parent_code},
        "period": scope.period,
        "needs_and_places": needs_and_places(got["needs"], got["places"]),
        "coverage": got["coverage"],
        "waiting": waiting(got["needs"]),
        "funnel": funnel(got["referrals"]),
        "durations": got["durations"],
        "charities": got["charities"],
        "delivered": got["delivered"],
        "groups_reached": got["groups_reached"],
        "children": children(scope, got["needs"], got["referrals"], got["regions"]),
        **got["discovery"],
    }  # fmt: skip


def child_scopes(db: Session, scope: StatsScope) -> list[StatsScope]:
    low, high = scope.range
    regions = db.scalars(
        sa.select(Region)
        .where(Region.parent_code == scope.region.code, Region.code.between(low, high))
        .order_by(Region.code)
    )
    return [StatsScope(region, scope.today, scope.period) for region in regions]


def half_year_figures(
    db: Session,
    actor: Any,
    scope: StatsScope,
    side_by_side: sessionmaker[Session] | None = None,
    *,
    form: str = "xlsx",
    reads: Session | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The half-year report's figures: the region's, then each child region's; audited. The
    figures are read in ``reads`` (a replica's session) when given."""
    now = utcnow()
    figures = overview(reads or db, scope, now, side_by_side=side_by_side)
    children = [
        overview(reads or db, child, now, side_by_side=side_by_side)
        for child in child_scopes(db, scope)
    ]
    detail = {"period": scope.period, "children": len(children), "format": form}
    write_audit(db, actor, "stats.report", region_code=scope.region.code,
                actor_name=None if actor else "system", detail=detail)  # fmt: skip
    return figures, children


def half_year_report(
    db: Session,
    actor: Any,
    scope: StatsScope,
    side_by_side: sessionmaker[Session] | None = None,
    say: Callable[..., str] | None = None,
    *,
    reads: Session | None = None,
) -> bytes:
    """The half-year report as an ``.xlsx``; ``say`` gives its titles, headers and labels in
    the reader's language (Chinese when None)."""
    from .charity_record import record_rows, region_charity_records
    from .stats_tables import chinese, report_workbook

    figures, children = half_year_figures(db, actor, scope, side_by_side, reads=reads)
    records = None
    if scope.period is not None:
        records = record_rows(
            region_charity_records(db, actor, scope.region.code, scope.period), say
        )
    return report_workbook(figures, children, say or chinese, records)

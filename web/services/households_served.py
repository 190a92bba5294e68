"""一家慈善组织服务过的家庭: the households a charity (or local provider) took on, referral by
referral: those it accepted, is serving or has completed, archived ones included.

Who sees it follows the charity's half-year record (:func:`.charity_record.record_scope`):
the charity's own staff see all of its households; a civil-affairs office sees a charity
registered in or serving its region, and only its region's households; administrators see
everything. A station, or another charity, is told the list does not exist (404).

A charity sees each household as it sees a referral it accepted, not more: the township,
the number of members and the priority groups, never the head's name, an ID number or the
station's own text about the need. An office sees the head's name as on its referral
pages. Every page read is audited (``charity_households.read``, naming the households shown).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from models import FollowUp, Household, Need, Organization, Project, Referral, Region, User, clock
from models.clock import period_window
from models.enums import ACCEPTED_BY_CHARITY_STATES, NeedStatus, ReferralStatus, Role
from models.regions import descendant_range

from .audit import write_audit
from .charity_record import record_scope
from .errors import Forbidden, NotFound
from .ledgers import check_period
from .referrals.episodes import episode_summary
from .scoping import visibility

S = ReferralStatus

#: Rows on a page.
PAGE_SIZE = 50

#: What a row's outcome says: a completion that left part of the need's gap uncovered is
#: 部分满足, not done.
OUTCOMES: dict[str, str] = {
    "accepted": S.ACCEPTED.label,
    "in_service": S.IN_SERVICE.label,
    "completed": S.COMPLETED.label,
    "partial": NeedStatus.PARTIAL.label,
}


@dataclass
class HouseholdsServed:
    """One page of the households an organization served, as the asker may see them."""

    organization_id: int
    name: str
    #: The half-year asked for (``2026H2``), or None for all time.
    period: str | None
    #: Only this region's households, or None for all of them.
    region_code: str | None
    page: int
    per_page: int
    #: Referrals (rows) and distinct households over every page.
    total: int
    households: int
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def served_scope(db: Session, actor: User, organization_id: int) -> tuple[Organization, str | None]:
    """The organization and the region its list is limited to, as :func:`record_scope`,
    except that a station is told the list does not exist.

    :raise NotFound: a station; another charity's list; a charity neither registered in
        nor serving an office's region.
    """
    try:
        return record_scope(db, actor, organization_id)
    except Forbidden:
        raise NotFound("慈善组织不存在或您无权查看。") from None


def _accepted_at() -> sa.ColumnElement[dt.datetime]:
    """When the charity took the household on (its answer; a row without one, its start)."""
    return sa.func.coalesce(Referral.answered_at, Referral.started_at, Referral.approved_at)


def list_households_served(
    db: Session,
    actor: User,
    organization_id: int,
    *,
    period: str | None = None,
    page: int = 1,
    per_page: int = PAGE_SIZE,
    form: str = "page",
) -> HouseholdsServed:
    """The referrals ``organization_id`` accepted (accepted, in service, completed,
    archived or not), newest acceptance first, one page of ``per_page``. With ``period``
    only those whose help ran in that half-year: accepted before its end and not completed
    before its start. Amounts in fen. The read is audited with the households shown.

    :raise NotFound: see :func:`served_scope`.
    :raise ValidationFailed: ``period`` is not a half-year.
    """
    organization, region_code = served_scope(db, actor, organization_id)
    page = max(page, 1)
    accepted_at = _accepted_at()
    stmt = (
        sa.select(Referral)
        .join(Project, Project.id == Referral.project_id)
        .join(Need, Need.id == Referral.need_id)
        .join(Household, Household.id == Need.household_id)
        .where(
            Project.organization_id == organization.id,
            Referral.status.in_(ACCEPTED_BY_CHARITY_STATES),
            # The asker's own sight of referrals: a household that withdrew its consent is
            # gone from a charity's view, here as everywhere.
            visibility(Referral, actor),
        )
    )
    if region_code is not None:
        low, high = descendant_range(region_code)
        stmt = stmt.where(Household.region_code.between(low, high))
    if period:
        check_period(period)
        starts, ends = period_window(period)
        stmt = stmt.where(
            accepted_at < ends,
            sa.or_(Referral.status != S.COMPLETED, Referral.completed_at >= starts),
        )
    total, households = db.execute(
        stmt.with_only_columns(
            sa.func.count(Referral.id), sa.func.count(sa.distinct(Need.household_id))
        )
    ).one()
    referrals = list(
        db.scalars(
            stmt.options(
                joinedload(Referral.need)
                .joinedload(Need.household)
                .selectinload(Household.members),
                joinedload(Referral.project),
                selectinload(Referral.episodes),
            )
            .order_by(accepted_at.desc(), Referral.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).unique()
    )
    ratings = dict(
        db.execute(
            sa.select(FollowUp.referral_id, FollowUp.satisfaction).where(
                FollowUp.referral_id.in_([r.id for r in referrals]),
                FollowUp.done_at.is_not(None),
            )
        ).all()
    )
    townships = {r.need.household.region_code[:9] + "000" for r in referrals}
    places = dict(
        db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(townships))).all()
    )
    charity = actor.role == Role.CHARITY_STAFF
    today = clock.today()
    items = [_row(r, ratings.get(r.id), places, charity=charity, today=today) for r in referrals]
    write_audit(
        db, actor, "charity_households.read", organization,
        region_code=region_code or organization.registered_region_code,
        detail={"period": period, "page": page, "form": form, "count": len(items),
                "households": sorted({r.need.household_id for r in referrals})},
    )  # fmt: skip
    return HouseholdsServed(
        organization.id, organization.name, period, region_code, page, per_page,
        total, households, items,
    )  # fmt: skip


def _outcome(referral: Referral) -> str:
    if referral.status == S.COMPLETED:
        return "partial" if referral.need.status == NeedStatus.PARTIAL else "completed"
    return str(referral.status.value)


def _row(
    r: Referral,
    satisfaction: int | None,
    places: dict[str, str],
    *,
    charity: bool,
    today: dt.date,
) -> dict[str, Any]:
    need, household = r.need, r.need.household
    outcome = _outcome(r)
    row: dict[str, Any] = {
        "referral_id": r.id,
        "place": places.get(household.region_code[:9] + "000", ""),
        "member_count": len(household.members),
        "priority_groups": [g.value for g in household.priority_groups(today)],
        "project_id": r.project_id,
        "project_name": r.project.name,
        "domain": need.domain.value,
        "domain_label": need.domain.label,
        "status": r.status.value,
        "outcome": outcome,
        "outcome_label": OUTCOMES[outcome],
        "accepted_at": r.answered_at,
        "started_at": r.started_at,
        "completed_at": r.completed_at,
        "delivered_amount_fen": r.delivered_amount_fen,
        "delivered_service": r.delivered_service,
        "episodes": episode_summary(list(r.episodes)) or None,
        "satisfaction": satisfaction,
        "archived_at": r.archived_at,
    }
    if not charity:
        row["household_id"] = household.id
        row["head_name"] = household.head_name
    return row

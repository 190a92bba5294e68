"""What each scheduled job does: plain functions calling the services, returning counts.

Each is idempotent: run twice for one slot, the second run finds nothing left to do.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from models import Household, LedgerEdition, Need, Referral, Region, Station, User
from models.enums import LEDGER_LEVELS, OPEN_REFERRAL_STATES, HouseholdStatus, NeedStatus
from models.regions import covering_ledger_codes
from web.services.ledgers import build_edition, period_bounds, period_of
from web.services.matching import train_matcher
from web.services.notifications import notify, office_users
from web.services.projects import expire_projects as expire_project_rows
from web.services.referrals.workflow import expire_unanswered, flag_overdue

from .registry import JobContext

#: A need open this long without a referral is raised with its station (``STALE_NEED_DAYS``).
STALE_NEED_DAYS = 30


def ledger_refresh(ctx: JobContext) -> dict[str, Any]:
    """Every department's edition for the half-year (skipping those already published for
    it), then one notification per station naming the new editions that cover it."""
    db = ctx.db
    period = ctx.options.get("period") or period_of(ctx.local_day)
    period_bounds(period)  # a bad period fails before any work
    departments = list(
        db.scalars(
            sa.select(Region.code).where(Region.level.in_(LEDGER_LEVELS)).order_by(Region.code)
        )
    )
    # Departments with an edition for this half-year, or a later one, are left as they are.
    done = set(
        db.scalars(sa.select(LedgerEdition.region_code).where(LedgerEdition.period >= period))
    )
    built: dict[str, LedgerEdition] = {}
    projects = 0
    for i, code in enumerate(departments, 1):
        if code not in done:
            edition = build_edition(db, None, code, period, ctx.now).edition
            built[code] = edition
            projects += edition.project_count
        ctx.progress(i, len(departments))
    names = dict(
        db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(built))).all()
    )
    notified = 0
    if built:
        stations = db.execute(sa.select(Station.id, Station.region_code).where(Station.is_active))
        for station_id, region_code in stations:
            new = [built[c] for c in covering_ledger_codes(region_code) if c in built]
            if not new:
                continue
            listed = "；".join(
                f"{names.get(e.region_code, e.region_code)} {e.project_count} 个项目"
                f"（新增 {e.added_count}，变更 {e.changed_count}，移除 {e.removed_count}）"
                for e in new
            )
            users = db.scalars(
                sa.select(User.id).where(User.station_id == station_id, User.is_active)
            )
            notified += notify(db, users, "ledger", f"{period} 慈善帮扶资源台账已发布：{listed}",
                               link="/ledgers/current")  # fmt: skip
    return {
        "period": period,
        "departments": len(departments),
        "published": len(built),
        "skipped": len(departments) - len(built),
        "projects": projects,
        "notified": notified,
    }


def expire_projects(ctx: JobContext) -> dict[str, Any]:
    """Projects past their end date, or with every place taken, leave the offer."""
    expired = expire_project_rows(ctx.db, ctx.local_day)
    ctx.progress(1, 1)
    return {"expired": len(expired)}


def stale_needs(ctx: JobContext) -> dict[str, Any]:
    """Needs open longer than ``STALE_NEED_DAYS`` with no referral under way: each station is
    told how many it has, and each county office how many lie in its area."""
    db = ctx.db
    days = int(ctx.config.get("STALE_NEED_DAYS", STALE_NEED_DAYS))
    cutoff = ctx.now - dt.timedelta(days=days)
    referred = sa.select(Referral.need_id).where(Referral.status.in_(OPEN_REFERRAL_STATES))
    rows = db.execute(
        sa.select(Station.id, Station.region_code, sa.func.count(Need.id))
        .select_from(Need)
        .join(Household, Household.id == Need.household_id)
        .join(Station, Station.id == Household.station_id)
        .where(
            Need.status == NeedStatus.OPEN,
            Household.status == HouseholdStatus.ACTIVE,
            Need.created_at < cutoff,
            Need.id.notin_(referred),
        )
        .group_by(Station.id, Station.region_code)
    ).all()
    by_office: dict[tuple[int, ...], int] = defaultdict(int)
    for station_id, region_code, count in rows:
        users = db.scalars(sa.select(User.id).where(User.station_id == station_id, User.is_active))
        notify(db, users, "stale_needs",
               f"有 {count} 项需求已等待超过 {days} 天仍未转介，请查找匹配项目或转报县级民政部门。",
               link="/worklist")  # fmt: skip
        by_office[tuple(office_users(db, region_code))] += count
    for office, count in by_office.items():
        notify(db, office, "stale_needs",
               f"辖区内有 {count} 项需求等待超过 {days} 天仍未转介。")  # fmt: skip
    ctx.progress(1, 1)
    return {"needs": sum(c for _s, _r, c in rows), "stations": len(rows)}


def overdue_referrals(ctx: JobContext) -> dict[str, Any]:
    """Referrals past the charity's answer deadline expire (the place goes back, the need to
    the station); offices hear of those silent longer than ``REFERRAL_OVERDUE_DAYS``."""
    days = int(ctx.config.get("REFERRAL_OVERDUE_DAYS", 3))
    expired = expire_unanswered(ctx.db, ctx.now)
    flagged = flag_overdue(ctx.db, ctx.now, days)
    ctx.progress(1, 1)
    return {"expired": expired, "flagged": flagged}


def retrain_matcher(ctx: JobContext) -> dict[str, Any]:
    """Fit a model on the referral outcomes so far; promoted only if it beats the active one."""
    result = train_matcher(ctx.db, None, ctx.local_day)
    ctx.progress(1, 1)
    return {
        "outcomes": result.outcomes,
        "promoted": result.promoted,
        "model": result.model.name if result.model else None,
        "message": result.message,
    }

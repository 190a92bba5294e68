"""Needs left waiting: an open need with no referral under way for ``STALE_NEED_DAYS`` is
raised, daily, with its station and the county office above it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Household, Need, Referral, Station, User
from models.enums import OPEN_REFERRAL_STATES, HouseholdStatus, NeedStatus

from .notifications import notify, office_users

#: Days a need may stay open without a referral before it is raised (the ``STALE_NEED_DAYS``
#: setting's default).
STALE_NEED_DAYS = 30


@dataclass(frozen=True)
class StaleNeeds:
    """What one day's reminder found (the job run keeps these as its counts)."""

    needs: int
    stations: int


def alert_stale_needs(db: Session, now: dt.datetime, days: int = STALE_NEED_DAYS) -> StaleNeeds:
    """Tell each station how many of its active households' needs have been open for more
    than ``days`` days with no referral under way, and each county office how many lie in
    its area (one notification each, with the count)."""
    cutoff = now - dt.timedelta(days=days)
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
    return StaleNeeds(needs=sum(count for _s, _r, count in rows), stations=len(rows))

"""What each county's civil-affairs office decides for its area: for now, whether one person
may create (or submit) a referral and approve it too (允许同一人发起并审批)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import CountySetting, Region, User
from models.enums import RegionLevel, Role
from models.regions import descendant_range

from .audit import write_audit
from .errors import Forbidden
from .scoping import require_role


def county_code_of(region_code: str) -> str:
    """The county (县/区) a region lies in: its first six digits."""
    return region_code[:6] + "000000"


def allows_self_approval(db: Session, region_code: str) -> bool:
    """Whether the county of ``region_code`` lets one person create and approve a referral."""
    setting = db.get(CountySetting, county_code_of(region_code))
    return setting is not None and setting.allows_self_approval


@dataclass(frozen=True)
class CountyLine:
    code: str
    name: str
    allows_self_approval: bool


def list_county_settings(db: Session, actor: User) -> list[CountyLine]:
    """The counties in a civil-affairs user's area (their own, for a county office) with
    their settings.

    :raise Forbidden: not civil-affairs staff.
    """
    require_role(actor, Role.CIVIL_AFFAIRS)
    low, high = descendant_range(actor.region_code)
    rows = db.execute(
        sa.select(Region.code, Region.name, CountySetting.allows_self_approval)
        .outerjoin(CountySetting, CountySetting.region_code == Region.code)
        .where(Region.level == RegionLevel.COUNTY, Region.code.between(low, high))
        .order_by(Region.code)
    ).all()
    return [CountyLine(code, name, bool(allowed)) for code, name, allowed in rows]


def is_county_office(db: Session, actor: User) -> bool:
    """Whether ``actor`` speaks for a county's civil-affairs office."""
    region = db.get(Region, actor.region_code)
    return (
        actor.role == Role.CIVIL_AFFAIRS
        and region is not None
        and (region.level == RegionLevel.COUNTY)
    )


def set_self_approval(db: Session, actor: User, allowed: bool) -> CountySetting:
    """Let (or stop letting) one person create and approve the same referral in the actor's
    county; audited.

    :raise Forbidden: the actor is not staff of a county's civil-affairs office (a city or the
        province does not decide for its counties).
    """
    if not is_county_office(db, actor):
        raise Forbidden("只有县（区）民政部门可以修改本县的设置。")
    setting = db.get(CountySetting, actor.region_code)
    if setting is None:
        setting = CountySetting(region_code=actor.region_code)
        db.add(setting)
    setting.allows_self_approval = allowed
    setting.updated_by_id = actor.id
    db.flush()
    write_audit(
        db, actor, "county.self_approval", setting, region_code=actor.region_code,
        detail={"allowed": allowed},
    )  # fmt: skip
    return setting

"""Needs left waiting are raised with their station and the county office above it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Need, Notification, Project, Referral, utcnow
from models.enums import NeedStatus, ProjectStatus, ReferralStatus
from tests.helpers import get_user
from web.services.needs import STALE_NEED_DAYS, StaleNeeds, alert_stale_needs


def open_needs_of(db: Session, username: str) -> list[Need]:
    station_id = get_user(db, username).station_id
    needs = db.scalars(
        sa.select(Need).join(Need.household).where(Need.status == NeedStatus.OPEN).order_by(Need.id)
    ).all()
    return [n for n in needs if n.household.station_id == station_id]


def told(db: Session, username: str) -> list[str]:
    return list(
        db.scalars(
            sa.select(Notification.message).where(
                Notification.user_id == get_user(db, username).id,
                Notification.kind == "stale_needs",
            )
        )
    )


def test_needs_waiting_a_month_are_raised_with_the_station_and_the_county_office(
    db: Session,
) -> None:
    now = utcnow()
    for need in open_needs_of(db, "station_a")[:2]:
        need.created_at = now - dt.timedelta(days=STALE_NEED_DAYS + 1)
    db.flush()
    assert alert_stale_needs(db, now) == StaleNeeds(needs=2, stations=1)
    (station,) = told(db, "station_a")
    assert "2 项需求" in station and f"超过 {STALE_NEED_DAYS} 天" in station
    (office,) = told(db, "ca_conghua")
    assert "辖区内有 2 项需求" in office


def test_a_need_with_a_referral_under_way_or_not_yet_old_enough_is_left_alone(
    db: Session,
) -> None:
    now = utcnow()
    referred, recent = open_needs_of(db, "station_a")[:2]
    referred.created_at = now - dt.timedelta(days=45)
    recent.created_at = now - dt.timedelta(days=STALE_NEED_DAYS - 1)
    project = db.scalar(sa.select(Project).where(Project.status == ProjectStatus.VERIFIED))
    db.add(Referral(need_id=referred.id, project_id=project.id, status=ReferralStatus.DRAFT))
    db.flush()
    assert alert_stale_needs(db, now) == StaleNeeds(needs=0, stations=0)
    assert told(db, "station_a") == [] and told(db, "ca_conghua") == []


def test_an_office_may_choose_how_long_a_need_may_wait(db: Session) -> None:
    now = utcnow()
    (need,) = open_needs_of(db, "station_a")[:1]
    need.created_at = now - dt.timedelta(days=10)
    db.flush()
    assert alert_stale_needs(db, now, days=7) == StaleNeeds(needs=1, stations=1)
    assert "超过 7 天" in told(db, "station_a")[0]

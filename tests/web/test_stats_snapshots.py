"""The province's and each city's overview, counted ahead of a visit by the scheduler: read
as kept while fresh, with when it was counted; counted on the visit otherwise."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from models import Household, Member, Need, Region, Station, StatsSnapshot, utcnow
from models.enums import Domain, RegionLevel, Relation, StationKind
from tests.helpers import bearer, sign_in
from web.services.stats_snapshots import SNAPSHOT_FRESH, count_snapshots

GUANGZHOU, LIWAN = "440100000000", "440103000000"


def open_need_in_liwan(db: Session) -> None:
    station = Station(name="沙面街道综合救助服务站", kind=StationKind.TOWNSHIP,
                      region_code="440103001000")  # fmt: skip
    db.add(station)
    db.flush()
    household = Household(
        station_id=station.id, region_code="440103001101", head_name="甲",
        consent_on=dt.date(2026, 3, 1),
        members=[Member(name="甲", relation=Relation.HEAD, birth_year=1980)],
    )  # fmt: skip
    db.add(household)
    db.flush()
    db.add(Need(household_id=household.id, domain=Domain.EDUCATION, text="孩子上学的学杂费"))
    db.commit()


def open_needs(client: FlaskClient, headers: dict, region: str) -> tuple[int, dict]:
    body = client.get(f"/api/v1/stats/overview?region_code={region}", headers=headers).json
    return body["waiting"]["open"], body


def test_the_province_and_cities_are_read_as_counted_and_dated(
    db: Session, client: FlaskClient
) -> None:
    counted = count_snapshots(db)
    levels = (RegionLevel.PROVINCE, RegionLevel.CITY)
    assert counted == db.scalar(
        sa.select(sa.func.count()).select_from(Region).where(Region.level.in_(levels))
    )
    headers = bearer(client, "ca_guangzhou")
    before, kept = open_needs(client, headers, GUANGZHOU)
    assert kept["is_snapshot"] is True
    kept_at = db.get(StatsSnapshot, GUANGZHOU).counted_at
    assert dt.datetime.fromisoformat(kept["counted_at"]) == kept_at

    open_need_in_liwan(db)
    # The city shows its last count until the next one; the district below counts now.
    assert open_needs(client, headers, GUANGZHOU)[0] == before
    district, live = open_needs(client, headers, LIWAN)
    assert live["is_snapshot"] is False and district == 1
    count_snapshots(db)
    assert open_needs(client, headers, GUANGZHOU)[0] == before + 1


def test_a_count_too_old_from_yesterday_or_for_a_half_year_is_not_used(
    db: Session, client: FlaskClient
) -> None:
    headers = bearer(client, "ca_guangzhou")
    count_snapshots(db)
    open_need_in_liwan(db)
    snapshot = db.get(StatsSnapshot, GUANGZHOU)
    fresh_count = open_needs(client, headers, GUANGZHOU)[0]
    for counted_at in (utcnow() - SNAPSHOT_FRESH - dt.timedelta(minutes=1),
                       utcnow() - dt.timedelta(days=1)):  # fmt: skip
        snapshot.counted_at = counted_at
        db.commit()
        got, body = open_needs(client, headers, GUANGZHOU)
        assert body["is_snapshot"] is False and got == fresh_count + 1
    snapshot.counted_at = utcnow()
    db.commit()
    half_year = client.get(
        f"/api/v1/stats/overview?region_code={GUANGZHOU}&period=2026H2", headers=headers
    ).json
    assert half_year["is_snapshot"] is False


def test_the_dashboard_says_when_its_figures_were_counted(db: Session, app: Flask) -> None:
    count_snapshots(db)
    browser = app.test_client()
    sign_in(browser, "ca_guangzhou")
    city = browser.get(f"/dashboard?region={GUANGZHOU}").text
    assert 'data-testid="counted-at"' in city and "统计时间：" in city
    assert "每 10 分钟更新一次" in city
    district = browser.get(f"/dashboard?region={LIWAN}").text
    assert "统计时间：" in district and "每 10 分钟更新一次" not in district

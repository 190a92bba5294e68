"""Which station a form works on, and where its households may live."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from models import Station
from models.regions import is_within
from tests.helpers import get_user
from web.services.errors import NotFound
from web.services.stations import station_for, station_regions


def test_civil_affairs_staff_who_name_no_station_are_asked_to_choose_one(db: Session) -> None:
    with pytest.raises(NotFound, match="请先选择服务站"):
        station_for(db, get_user(db, "ca_conghua"), None)


def test_a_stations_staff_work_at_their_own_station_on_a_form_whatever_the_link_says(
    db: Session,
) -> None:
    staff = get_user(db, "station_a")
    other = get_user(db, "station_c").station_id
    assert station_for(db, staff, other, own_first=True).id == staff.station_id
    with pytest.raises(NotFound):
        station_for(db, staff, other)


def test_a_stations_regions_are_its_own_and_those_below_it(db: Session) -> None:
    station = db.get(Station, get_user(db, "station_a").station_id)
    assert station is not None
    codes = [r.code for r in station_regions(db, station)]
    assert codes[0] == station.region_code and len(codes) > 1
    assert codes == sorted(codes)
    assert all(is_within(code, station.region_code) for code in codes)

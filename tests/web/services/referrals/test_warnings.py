"""A referral's page warns whoever may still submit it that another charity already helps."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.helpers import get_user, need_of, project_named
from tests.web.test_referrals_api import HOUSING, SURGERY
from web.services.referrals.workflow import (
    approve_referral,
    start_referral,
    submit_referral,
    submit_warnings,
)


def test_the_station_is_warned_of_another_charitys_place_until_it_submits(db: Session) -> None:
    station, office = get_user(db, "station_a"), get_user(db, "ca_conghua")
    need = need_of(db, "钟伟明", "medical")
    held = start_referral(db, station, need.id, project_named(db, SURGERY).id)
    submit_referral(db, station, held.id)
    approve_referral(db, office, held.id)
    second = start_referral(db, station, need.id, project_named(db, HOUSING).id)
    (warning,) = submit_warnings(db, station, second)
    assert warning[1] == SURGERY and warning[2].label == "已批准"
    assert submit_warnings(db, office, second)  # the office may submit a draft too
    assert submit_warnings(db, get_user(db, "charity_f"), second) == []
    assert submit_warnings(db, get_user(db, "admin"), second) == []
    submit_referral(db, station, second.id, acknowledge_duplicate=True)
    assert submit_warnings(db, station, second) == []

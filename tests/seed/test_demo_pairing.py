"""The demo's pairing (结对帮扶): an 爱心妈妈 paired with a left-behind child of 温泉镇, two
visits a month, one month short, so the demo's charity and station find one alert; and its
双向转介, waiting in a county office's queue."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import BackReferral, Notification, Pairing, PairingAlert, clock, utcnow
from models.enums import BackReferralStatus, CompanionRole, ReferralStatus
from seed.activity import load_activity
from tests.helpers import get_user
from web.services.referrals.back_referrals import list_back_referrals
from web.services.referrals.pairings import months_before, raise_missed_visits


def test_the_demo_pairs_a_caring_mother_with_a_left_behind_child_and_shows_one_missed_month(
    db: Session,
) -> None:
    today = clock.today()

    load_activity(db, today)

    (pairing,) = db.scalars(sa.select(Pairing)).all()
    assert pairing.companion_role == CompanionRole.CARING_MOTHER
    assert pairing.member is not None and pairing.member.name == "李子轩"
    assert pairing.referral.status == ReferralStatus.IN_SERVICE
    alerts = db.scalars(sa.select(PairingAlert)).all()
    assert [(a.month, a.planned_visits, a.logged_visits) for a in alerts] == [
        (months_before(today, 2), 2, 1)
    ]
    told = {
        n.user_id
        for n in db.scalars(
            sa.select(Notification).where(Notification.kind == "pairing_missed_visit")
        )
    }
    assert {get_user(db, "charity_c").id, get_user(db, "station_a").id} <= told
    assert raise_missed_visits(db, today, utcnow()) == 0


def test_the_demo_has_a_back_referral_waiting_in_the_county_offices_queue(db: Session) -> None:
    """双向转介: the charity serving 冯志明's son tells 乳源's office the household may qualify
    for the disability subsidies, so the office's queue and the charity's list have a row."""
    load_activity(db, clock.today())

    (back,) = db.scalars(sa.select(BackReferral)).all()
    assert back.status == BackReferralStatus.OPEN and back.aid_types == ["disability_subsidy"]
    assert back.referral.need.household.head_name == "冯志明"
    assert back.region_code.startswith("440232")
    office = get_user(db, "ca_ruyuan")
    assert [b.id for b in list_back_referrals(db, office)] == [back.id]
    assert list_back_referrals(db, get_user(db, "ca_conghua")) == []

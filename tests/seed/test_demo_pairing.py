"""The demo's pairing (结对帮扶): an 爱心妈妈 paired with a left-behind child of 温泉镇, two
visits a month, one month short, so the demo's charity and station find one alert."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Notification, Pairing, PairingAlert, clock, utcnow
from models.enums import CompanionRole, ReferralStatus
from seed.activity import load_activity
from tests.helpers import get_user
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

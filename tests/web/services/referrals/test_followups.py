"""回访: a completed referral asks the household's station to follow up; a follow-up that
contradicts the completion is flagged to the approving office, which resolves it on record;
an overdue one is raised with the station once.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import AuditLog, Notification, clock, utcnow
from models.enums import ReferralStatus
from tests.helpers import get_user
from tests.web.services.referrals.steps import Parties, Walk, refused
from web.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from web.services.referrals import followups, views
from web.services.referrals.followups import FollowUpInput

S = ReferralStatus

ALL_WELL = FollowUpInput(received=True, as_recorded=True, satisfaction=5, need_met=True)
NOTHING_ARRIVED = FollowUpInput(
    received=False, as_recorded=False, satisfaction=1, need_met=False, note="户主说未收到款项"
)


def inbox(db: Session, user_id: int, kind: str) -> list[Notification]:
    mine = sa.select(Notification).where(Notification.user_id == user_id)
    return list(db.scalars(mine.where(Notification.kind == kind)))


def test_completing_a_referral_opens_a_follow_up_due_after_the_configured_days(
    db: Session, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)

    follow_up = followups.find_follow_up(db, referral.id)

    assert follow_up is not None and not follow_up.is_done
    assert referral.completed_at is not None
    completed_on = clock.local_date(referral.completed_at)
    assert follow_up.due_on == completed_on + dt.timedelta(days=followups.FOLLOW_UP_DAYS)


def test_a_follow_up_saying_all_arrived_is_recorded_and_flags_nothing(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)

    follow_up = followups.record_follow_up(db, parties.station, referral.id, ALL_WELL)

    assert follow_up.is_done and follow_up.satisfaction == 5
    assert follow_up.done_by_id == parties.station.id
    assert follow_up.flagged_at is None
    assert inbox(db, parties.office.id, "follow_up_flagged") == []
    assert db.scalar(sa.select(AuditLog).where(AuditLog.action == "referral.follow_up"))


def test_a_follow_up_saying_nothing_arrived_flags_the_referral_to_the_office(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)
    events = len(referral.events)

    follow_up = followups.record_follow_up(db, parties.station, referral.id, NOTHING_ARRIVED)

    assert follow_up.flagged_at is not None and follow_up.is_open_flag
    told = inbox(db, parties.office.id, "follow_up_flagged")
    assert len(told) == 1 and "未收到" in told[0].message
    assert "钟伟明" not in told[0].message  # messages name the referral, never the household
    assert referral.status == S.COMPLETED
    assert len(referral.events) == events + 1
    assert referral.events[-1].detail == {"follow_up": "flagged"}
    shown = views.referral_view(db, parties.office, referral, clock.today())["follow_up"]
    assert shown["is_flagged"] and shown["can_resolve"] and not shown["received"]


def test_the_office_resolves_a_flagged_follow_up_on_record_without_moving_the_referral(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)
    followups.record_follow_up(db, parties.station, referral.id, NOTHING_ARRIVED)

    follow_up = followups.resolve_follow_up(
        db, parties.office, referral.id, "已联系慈善会核实，款项已于本周补发到户。"
    )

    assert follow_up.resolved_by_id == parties.office.id and not follow_up.is_open_flag
    assert referral.status == S.COMPLETED
    assert referral.events[-1].detail == {"follow_up": "resolved"}
    assert "补发" in (referral.events[-1].note or "")
    audit = db.scalar(sa.select(AuditLog).where(AuditLog.action == "referral.follow_up_resolved"))
    assert audit is not None and audit.actor_id == parties.office.id
    assert inbox(db, parties.station.id, "follow_up_resolved")
    again = refused(db, followups.resolve_follow_up, db, parties.office, referral.id, "再核实")
    assert isinstance(again, Conflict)


def test_a_resolution_needs_its_text(db: Session, parties: Parties, referral_in: Walk) -> None:
    referral = referral_in(S.COMPLETED)
    followups.record_follow_up(db, parties.station, referral.id, NOTHING_ARRIVED)

    error = refused(db, followups.resolve_follow_up, db, parties.office, referral.id, "  ")

    assert isinstance(error, ValidationFailed) and "resolution" in error.fields


def test_a_follow_up_without_its_answers_or_with_a_satisfaction_of_six_is_refused_by_field(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)
    bad = FollowUpInput(received=None, as_recorded=True, satisfaction=6, need_met=None)

    error = refused(db, followups.record_follow_up, db, parties.station, referral.id, bad)

    assert isinstance(error, ValidationFailed)
    assert set(error.fields) == {"received", "satisfaction", "need_met"}
    assert error.fields["satisfaction"] == ["满意度应在 1 至 5 之间。"]
    follow_up = followups.find_follow_up(db, referral.id)
    assert follow_up is not None and not follow_up.is_done


def test_another_stations_follow_up_is_not_found(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)

    for other in ("station_b", "station_c"):
        error = refused(
            db, followups.record_follow_up, db, get_user(db, other), referral.id, ALL_WELL
        )
        assert isinstance(error, NotFound), other


@pytest.mark.parametrize("party", ["office", "charity", "admin"])
def test_only_the_station_records_a_follow_up(
    db: Session, parties: Parties, referral_in: Walk, party: str
) -> None:
    referral = referral_in(S.COMPLETED)

    error = refused(
        db, followups.record_follow_up, db, getattr(parties, party), referral.id, ALL_WELL
    )

    assert isinstance(error, Forbidden)


def test_a_referral_not_yet_completed_has_no_follow_up_to_record(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.IN_SERVICE)

    error = refused(db, followups.record_follow_up, db, parties.station, referral.id, ALL_WELL)

    assert isinstance(error, Conflict)


def test_a_follow_up_is_recorded_once(db: Session, parties: Parties, referral_in: Walk) -> None:
    referral = referral_in(S.COMPLETED)
    followups.record_follow_up(db, parties.station, referral.id, ALL_WELL)

    error = refused(db, followups.record_follow_up, db, parties.station, referral.id, ALL_WELL)

    assert isinstance(error, Conflict)


def test_the_charity_sees_whether_it_arrived_and_the_satisfaction_only(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)
    followups.record_follow_up(db, parties.station, referral.id, NOTHING_ARRIVED)
    followups.resolve_follow_up(db, parties.office, referral.id, "已核实，慈善会补发。")

    view = views.referral_view(db, parties.charity, referral, clock.today())

    assert view["follow_up"] == {"is_done": True, "received": False, "satisfaction": 1}
    assert not any(e["follow_up"] for e in view["events"])


def test_an_overdue_follow_up_is_raised_with_the_station_once(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)
    follow_up = followups.find_follow_up(db, referral.id)
    assert follow_up is not None
    on_time = follow_up.due_on
    later = on_time + dt.timedelta(days=1)

    assert followups.raise_overdue_follow_ups(db, on_time, utcnow()) == 0
    first = followups.raise_overdue_follow_ups(db, later, utcnow())
    second = followups.raise_overdue_follow_ups(db, later + dt.timedelta(days=1), utcnow())

    assert first >= 1 and second == 0
    assert follow_up.overdue_raised_at is not None
    told = [n for n in inbox(db, parties.station.id, "follow_up_overdue")
            if n.referral_id == referral.id]  # fmt: skip
    assert len(told) == 1


def test_a_follow_up_done_in_time_is_never_raised(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)
    follow_up = followups.record_follow_up(db, parties.station, referral.id, ALL_WELL)

    followups.raise_overdue_follow_ups(db, follow_up.due_on + dt.timedelta(days=30), utcnow())

    assert follow_up.overdue_raised_at is None


def test_the_station_lists_its_follow_ups_due(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)

    due = followups.due_follow_ups(db, parties.station)

    assert referral.id in [r.id for r, _ in due]
    assert followups.due_follow_ups(db, get_user(db, "station_c")) == []
    followups.record_follow_up(db, parties.station, referral.id, ALL_WELL)
    assert referral.id not in [r.id for r, _ in followups.due_follow_ups(db, parties.station)]

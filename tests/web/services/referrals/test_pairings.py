"""结对帮扶: the charity pairs one of its people with a member of the household, with a visit
plan; a month that saw fewer visits than planned is raised once with the charity and the
station; the pairing is the charity's to set up and end, and the station's and office's to
read; anyone else finds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Member, Notification, PairingAlert, Referral, clock, utcnow
from models.enums import CompanionRole, ReferralStatus, ServiceType
from tests.helpers import get_user
from tests.web.services.referrals.steps import Parties, Walk, refused
from web.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from web.services.referrals import episodes, pairings
from web.services.referrals.notices import to_charity, to_station
from web.services.referrals.pairings import (
    GRACE_DAYS,
    PairingEndInput,
    PairingInput,
    month_end,
    next_month,
    planned_visits,
    raise_missed_visits,
)

S = ReferralStatus


def child_of(referral: Referral) -> Member:
    """钟浩然, 钟伟明's younger son (born 2016)."""
    return next(m for m in referral.need.household.members if m.name == "钟浩然")


def plan(referral: Referral, **change: object) -> PairingInput:
    today = clock.today()
    values: dict[str, object] = {
        "companion_name": "陈淑芬", "companion_role": CompanionRole.CARING_MOTHER,
        "member_id": child_of(referral).id, "starts_on": today,
        "ends_on": today + dt.timedelta(days=365), "visits_per_month": 2,
        "note": "每月两次入户陪伴，辅导作业",
    }  # fmt: skip
    values.update(change)
    return PairingInput(**values)  # type: ignore[arg-type]


def visit(db: Session, parties: Parties, referral: Referral, on: dt.date, later: dt.date) -> None:
    episodes.add_episode(
        db, parties.charity, referral.id,
        episodes.EpisodeInput(on=on, kind=ServiceType.VISITING_CARE, note="入户陪伴"),
        today=later,
    )  # fmt: skip


def refusal(db: Session, call: Callable[..., object], *args: object, **kwargs: object) -> Any:
    """The refusal ``call(*args, **kwargs)`` raises, its work undone."""
    return refused(db, lambda: call(*args, **kwargs))


def missed(db: Session, referral: Referral) -> list[Notification]:
    return list(
        db.scalars(
            sa.select(Notification).where(
                Notification.referral_id == referral.id,
                Notification.kind == "pairing_missed_visit",
            )
        )
    )


@pytest.fixture
def paired(db: Session, parties: Parties, referral_in: Walk) -> Referral:
    """A referral in service, its pairing starting today, 2 visits a month; the partial first
    month given the visits it expects."""
    referral = referral_in(S.IN_SERVICE)
    pairings.set_up_pairing(db, parties.charity, referral.id, plan(referral), today=clock.today())
    today = clock.today()
    for _ in range(planned_visits(2, today, month_end(today))):
        visit(db, parties, referral, today, today)
    return referral


def test_a_month_with_a_missed_visit_raises_one_alert_to_charity_and_station_once(
    db: Session, parties: Parties, paired: Referral
) -> None:
    whole = next_month(clock.today())
    judged_on = month_end(whole) + dt.timedelta(days=GRACE_DAYS + 1)
    visit(db, parties, paired, whole + dt.timedelta(days=3), judged_on)  # 1 of 2

    first = raise_missed_visits(db, judged_on, utcnow())
    second = raise_missed_visits(db, judged_on, utcnow())

    assert (first, second) == (1, 0)
    alerts = db.scalars(sa.select(PairingAlert)).all()
    assert [(a.month, a.planned_visits, a.logged_visits) for a in alerts] == [(whole, 2, 1)]
    told = missed(db, paired)
    expected = set(to_charity(db, paired)) | set(to_station(db, paired))
    assert parties.charity.id in expected and parties.station.id in expected
    assert sorted(n.user_id for n in told) == sorted(expected)  # one each
    assert parties.office.id not in {n.user_id for n in told}
    assert "少于计划的 2 次" in told[0].message and "钟" not in told[0].message


def test_a_month_with_the_planned_visits_raises_nothing(
    db: Session, parties: Parties, paired: Referral
) -> None:
    whole = next_month(clock.today())
    judged_on = month_end(whole) + dt.timedelta(days=GRACE_DAYS + 1)
    for day in (4, 18):
        visit(db, parties, paired, whole + dt.timedelta(days=day), judged_on)

    assert raise_missed_visits(db, judged_on, utcnow()) == 0
    assert missed(db, paired) == []


def test_a_month_is_judged_only_after_its_grace_days(
    db: Session, parties: Parties, paired: Referral
) -> None:
    whole = next_month(clock.today())
    within_grace = month_end(whole) + dt.timedelta(days=GRACE_DAYS)

    assert raise_missed_visits(db, within_grace, utcnow()) == 0
    assert raise_missed_visits(db, within_grace + dt.timedelta(days=1), utcnow()) == 1


def test_a_partial_month_expects_its_share_of_the_plan_rounded_down() -> None:
    assert planned_visits(2, dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == 2
    assert planned_visits(2, dt.date(2026, 11, 10), dt.date(2026, 11, 30)) == 1
    assert planned_visits(2, dt.date(2026, 11, 20), dt.date(2026, 11, 30)) == 0
    assert planned_visits(4, dt.date(2027, 2, 1), dt.date(2027, 2, 14)) == 2


def test_a_pairing_ended_early_expects_no_visits_after_its_last_day(
    db: Session, parties: Parties, paired: Referral
) -> None:
    today = clock.today()
    ended = pairings.end_pairing(
        db, parties.charity, paired.id, PairingEndInput(today, "家庭搬迁到市区居住"), today=today
    )
    later = month_end(next_month(next_month(today))) + dt.timedelta(days=GRACE_DAYS + 1)

    assert ended.ended_on == today and ended.end_reason == "家庭搬迁到市区居住"
    assert raise_missed_visits(db, later, utcnow()) == 0
    told = db.scalars(
        sa.select(Notification).where(
            Notification.user_id == parties.station.id, Notification.kind == "pairing_ended"
        )
    ).all()
    assert len(told) == 1 and "家庭搬迁" in told[0].message
    again = refusal(db, pairings.end_pairing, db, parties.charity, paired.id,
                    PairingEndInput(today, "重复"), today=today)  # fmt: skip
    assert isinstance(again, Conflict)


def test_the_station_and_the_office_read_the_pairing_and_others_find_nothing(
    db: Session, parties: Parties, paired: Referral
) -> None:
    today = clock.today()
    for reader in (parties.charity, parties.station, parties.office, parties.admin):
        shown = pairings.get_pairing(db, reader, paired.id, today)
        assert shown["companion_name"] == "陈淑芬" and shown["member_name"] == "钟浩然"
        assert shown["can_end"] is (reader is parties.charity)
    for outsider in ("charity_h", "charity_g", "station_c", "station_b", "ca_ruyuan"):
        with pytest.raises(NotFound):
            pairings.get_pairing(db, get_user(db, outsider), paired.id, today)
    # Ending it is a provider's step: another charity does not find the referral; a station
    # or an office may never take the step (as with any provider's step).
    for outsider, refusal_kind in (("charity_h", NotFound), ("station_c", Forbidden),
                                   ("ca_ruyuan", Forbidden)):  # fmt: skip
        with pytest.raises(refusal_kind):
            pairings.end_pairing(db, get_user(db, outsider), paired.id,
                                 PairingEndInput(today, "无"), today=today)  # fmt: skip


def test_the_charity_names_the_paired_member_only_while_it_serves_the_household(
    db: Session, parties: Parties, paired: Referral
) -> None:
    from web.services.referrals import workflow

    today = clock.today()
    workflow.complete_referral(db, parties.charity, paired.id, delivered_amount_fen=0)

    charity = pairings.get_pairing(db, parties.charity, paired.id, today)
    station = pairings.get_pairing(db, parties.station, paired.id, today)

    assert charity["member_name"] is None
    assert (charity["member_relation_label"], charity["member_birth_year"]) == ("子女", 2016)
    assert station["member_name"] == "钟浩然"


def test_a_pairing_stops_counting_when_consent_is_withdrawn_and_its_case_is_archived(
    db: Session, parties: Parties, paired: Referral
) -> None:
    from web.services.households import withdraw_consent

    later = month_end(next_month(next_month(clock.today()))) + dt.timedelta(days=GRACE_DAYS + 1)
    withdraw_consent(db, parties.station, paired.need.household_id, utcnow())
    assert paired.status == S.CANCELLED

    shown = pairings.get_pairing(db, parties.station, paired.id, later)

    # The months after the cancellation are not months of missed visits.
    assert [m["is_short"] for m in shown["months"]] == [False]
    # And an archived case raises nothing, whatever its months.
    paired.status, paired.archived_at = S.IN_SERVICE, utcnow()
    assert raise_missed_visits(db, later, utcnow()) == 0


def test_the_paired_member_cannot_be_taken_off_the_household(db: Session, paired: Referral) -> None:
    from web.services.households import _keep_members_on_record

    with pytest.raises(ValidationFailed) as refused:
        _keep_members_on_record(db, [child_of(paired)])

    assert "钟浩然" in refused.value.fields["members"][0]


def test_only_the_charity_answering_the_referral_sets_up_its_pairing(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.IN_SERVICE)
    today = clock.today()
    for party in (parties.station, parties.office, parties.admin):
        error = refusal(db, pairings.set_up_pairing, db, party, referral.id, plan(referral),
                        today=today)  # fmt: skip
        assert isinstance(error, Forbidden)
    error = refusal(db, pairings.set_up_pairing, db, get_user(db, "charity_h"), referral.id,
                    plan(referral), today=today)  # fmt: skip
    assert isinstance(error, NotFound)

    pairings.set_up_pairing(db, parties.charity, referral.id, plan(referral), today=today)
    twice = refusal(db, pairings.set_up_pairing, db, parties.charity, referral.id,
                    plan(referral), today=today)  # fmt: skip
    assert isinstance(twice, Conflict)


def test_a_pairing_waits_for_the_charity_to_accept(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.APPROVED)

    error = refusal(db, pairings.set_up_pairing, db, parties.charity, referral.id,
                    plan(referral), today=clock.today())  # fmt: skip

    assert isinstance(error, Conflict) and "接收转介后" in error.message


def test_a_bad_pairing_is_refused_by_field(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.ACCEPTED)
    today = clock.today()
    stranger = db.scalar(sa.select(Member).where(Member.name == "赵小雨"))
    assert stranger is not None
    bad = plan(
        referral, companion_name="  ", companion_role=None, member_id=stranger.id,
        starts_on=today - dt.timedelta(days=30), visits_per_month=0,
    )  # fmt: skip

    error = refusal(db, pairings.set_up_pairing, db, parties.charity, referral.id, bad,
                    today=today)  # fmt: skip

    assert isinstance(error, ValidationFailed)
    assert set(error.fields) == {
        "companion_name",
        "companion_role",
        "member_id",
        "starts_on",
        "visits_per_month",
    }
    assert error.fields["member_id"] == ["请选择该户的家庭成员。"]
    backwards = refusal(db, pairings.set_up_pairing, db, parties.charity, referral.id,
                        plan(referral, ends_on=today), today=today)  # fmt: skip
    assert isinstance(backwards, ValidationFailed)
    assert backwards.fields == {"ends_on": ["结束日期应晚于开始日期。"]}
    unreasoned = PairingEndInput(None, "")
    pairings.set_up_pairing(db, parties.charity, referral.id, plan(referral), today=today)
    error = refusal(db, pairings.end_pairing, db, parties.charity, referral.id, unreasoned,
                    today=today)  # fmt: skip
    assert isinstance(error, ValidationFailed) and set(error.fields) == {"ended_on", "reason"}

"""A referral as each party sees it. Before accepting, a charity learns what the household
needs, never who it is; once it accepts it may open the contact, each look audited; the
station and the office see the household by name and the whole timeline."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import AuditLog
from models.enums import ReferralStatus
from tests.helpers import need_of
from tests.web.services.referrals.steps import Parties, Walk, refused
from web.services.crypto import cipher_of
from web.services.errors import Forbidden
from web.services.referrals import views

S = ReferralStatus

TODAY = dt.date(2026, 11, 23)


def test_before_accepting_a_charity_sees_the_need_but_not_who_the_household_is(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    need = need_of(db, "钟伟明", "medical")
    household = need.household
    phone = cipher_of(db).decrypt(household.phone_encrypted)
    need.text = f"{household.head_name}（电话 {phone}）{need.text}"
    referral = referral_in(S.APPROVED, need=need)
    referral.note = "户主妻子刘秀英陪护，白天可联系"  # the station's words, for the office
    names = [household.head_name, *(m.name for m in household.members)]

    view = views.referral_view(db, parties.charity, referral, TODAY)

    shown = json.dumps(view, ensure_ascii=False, default=str)
    for secret in [*names, phone]:
        assert secret not in shown, secret
    assert view["need"]["text"] is None  # the station's own words wait for acceptance
    assert view["need"]["public_summary"] == need.public_summary
    assert view["need"]["amount_gap_fen"] == 4_000_000
    assert view["household"]["place"].endswith("温泉镇")
    assert "serious_illness" in view["household"]["priority_groups"]
    assert {"id", "head_name", "region_code", "station_id"}.isdisjoint(view["household"])
    assert "note" not in view
    assert [e["to_status"] for e in view["events"]] == ["approved"]
    assert view["contact_available"] is False
    error = refused(db, views.referral_contact, db, parties.charity, referral.id)
    assert isinstance(error, Forbidden)


@pytest.mark.parametrize("state", [S.ACCEPTED, S.IN_SERVICE], ids=lambda s: s.value)
def test_once_it_has_accepted_a_charity_may_open_the_contact_and_each_look_is_audited(
    db: Session, parties: Parties, referral_in: Walk, state: ReferralStatus
) -> None:
    referral = referral_in(state)
    assert views.referral_view(db, parties.charity, referral, TODAY)["contact_available"]

    looks = [views.referral_contact(db, parties.charity, referral.id) for _ in range(2)]

    assert looks[0]["head_name"] == "钟伟明" and looks[0]["phone"] == "13719248651"
    assert looks[0]["station"] and looks[0]["address"]
    audited = db.scalar(
        sa.select(sa.func.count(AuditLog.id)).where(
            AuditLog.action == "referral.contact_revealed",
            AuditLog.object_id == str(referral.id),
            AuditLog.actor_id == parties.charity.id,
        )
    )
    assert audited == 2


def test_once_the_help_is_completed_the_contact_is_closed_again(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.COMPLETED)
    assert not views.referral_view(db, parties.charity, referral, TODAY)["contact_available"]
    error = refused(db, views.referral_contact, db, parties.charity, referral.id)
    assert isinstance(error, Forbidden)


def test_the_station_and_the_office_see_the_household_by_name_and_the_whole_timeline(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.ACCEPTED)
    for actor in (parties.station, parties.office):
        view = views.referral_view(db, actor, referral, TODAY)
        assert view["household"]["head_name"] == "钟伟明"
        assert view["need"]["text"] == referral.need.text
        assert [e["to_status"] for e in view["events"]] == [
            "draft", "submitted", "approved", "accepted",
        ]  # fmt: skip
        assert view["contact_available"] is False  # they have the household's record


def test_a_charity_lists_its_referrals_without_a_household_name(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.APPROVED)
    inbox = views.list_referrals(
        db, parties.charity, views.ReferralFilter(status=views.BOXES["inbox"])
    )
    assert [r.id for r in inbox] == [referral.id]
    (line,) = views.referral_summaries(db, parties.charity, inbox)
    assert line["township"].endswith("温泉镇") and line["is_urgent"]
    assert "head_name" not in line and "household_id" not in line
    (station_line,) = views.referral_summaries(db, parties.station, inbox)
    assert station_line["head_name"] == "钟伟明"

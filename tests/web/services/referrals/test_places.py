"""A project's places and money follow its referrals: approval holds one place and the
amount, a decline, a cancellation or an expiry gives them back, completion settles the money
on what was delivered, and an approval with nothing left is refused and takes nothing.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from models import Project
from models.enums import ReferralStatus
from tests.helpers import need_of, project_named
from tests.web.services.referrals.steps import SURGERY, Parties, Walk, refused, what_users_see
from web.services.referrals import workflow
from web.services.referrals.places import QuotaExhausted

S = ReferralStatus

#: 荔乡慈善会's housing project: ¥20,000 a person.
HOUSING = "安居工程·困难老人住房修缮与适老化改造"


def places(db: Session, project: Project) -> tuple[int, int]:
    db.refresh(project)
    return project.quota_used, project.reserved_fen


@pytest.mark.parametrize(
    ("domain", "project_name", "held_fen"),
    [
        ("medical", SURGERY, 800_000),  # a ¥40,000 gap: the project's ¥8,000 a person
        ("education", HOUSING, 300_000),  # a ¥3,000 gap: no more than the gap
    ],
)
def test_approval_holds_one_place_and_the_smaller_of_the_gap_and_the_amount_per_person(
    db: Session, referral_in: Walk, domain: str, project_name: str, held_fen: int
) -> None:
    project = project_named(db, project_name)
    used, reserved = places(db, project)
    referral = referral_in(S.APPROVED, need=need_of(db, "钟伟明", domain), project=project)
    assert referral.reserved_amount_fen == held_fen
    assert places(db, project) == (used + 1, reserved + held_fen)


@pytest.mark.parametrize("state", [S.DECLINED, S.CANCELLED, S.EXPIRED], ids=lambda s: s.value)
def test_a_decline_a_cancellation_or_an_expiry_gives_the_place_and_the_money_back(
    db: Session, referral_in: Walk, state: ReferralStatus
) -> None:
    project = project_named(db, SURGERY)
    before = places(db, project)
    referral = referral_in(state)
    assert referral.reserved_amount_fen is None
    assert places(db, project) == before


def test_cancelling_before_approval_gives_back_nothing_it_never_held(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    project = project_named(db, SURGERY)
    before = places(db, project)
    referral = referral_in(S.SUBMITTED)
    workflow.cancel_referral(db, parties.station, referral.id, "家属已自行筹到费用")
    assert places(db, project) == before


@pytest.mark.parametrize("short_of", ["places", "money"])
def test_with_nothing_left_approval_is_refused_and_takes_nothing(
    db: Session, parties: Parties, referral_in: Walk, short_of: str
) -> None:
    project = project_named(db, SURGERY)
    if short_of == "places":
        project.quota_used = project.quota
    else:  # one fen short of the ¥8,000 a person
        project.budget_fen = project.reserved_fen + 800_000 - 1
    db.flush()
    referral = referral_in(S.SUBMITTED)
    before = what_users_see(db, referral.id)
    error = refused(db, workflow.approve_referral, db, parties.office, referral.id)
    assert isinstance(error, QuotaExhausted) and error.code == "quota_exhausted"
    assert what_users_see(db, referral.id) == before
    assert referral.status == S.SUBMITTED


def test_completion_charges_the_project_what_was_delivered_not_what_was_held(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    project = project_named(db, SURGERY)
    used, reserved = places(db, project)
    referral = referral_in(S.IN_SERVICE)
    workflow.complete_referral(db, parties.charity, referral.id, delivered_amount_fen=500_000)
    assert places(db, project) == (used + 1, reserved + 500_000)  # the other ¥3,000 goes back

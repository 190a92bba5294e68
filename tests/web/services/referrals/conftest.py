"""The referral services' fixtures: the demo parties a referral passes through, and a factory
that walks a referral through the workflow to any state.

The household is 钟伟明's (温泉镇, station_a, 从化区 office ca_conghua): its medical need
has a gap of ¥40,000; 从化区慈善医疗救助 of 荔乡慈善会 (charity_f) gives ¥8,000 a person.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from models import Need, Project, Referral
from models.enums import ReferralStatus
from tests.helpers import get_user, need_of, project_named
from tests.web.services.referrals.steps import PATHS, STEPS, SURGERY, TAKEN_BY, Parties, Walk
from web.services.referrals import workflow

S = ReferralStatus


@pytest.fixture
def parties(db: Session) -> Parties:
    return Parties(
        station=get_user(db, "station_a"),
        office=get_user(db, "ca_conghua"),
        charity=get_user(db, "charity_f"),
        admin=get_user(db, "admin"),
    )


@pytest.fixture
def referral_in(db: Session, parties: Parties) -> Walk:
    """``referral_in(state, need=…, project=…)``: a new referral of the need (钟伟明's medical
    need by default) to the project (从化区慈善医疗救助), walked to ``state``."""

    def walk(
        state: ReferralStatus, *, need: Need | None = None, project: Project | None = None
    ) -> Referral:
        need = need or need_of(db, "钟伟明", "medical")
        project = project or project_named(db, SURGERY)
        referral = workflow.start_referral(db, parties.station, need.id, project.id, score=0.8)
        for step in PATHS[state]:
            STEPS[step](db, getattr(parties, TAKEN_BY[step]), referral.id, None)
        if state == S.EXPIRED:
            assert referral.due_at is not None
            workflow.expire_unanswered(db, referral.due_at + dt.timedelta(seconds=1))
        assert referral.status == state
        return referral

    return walk

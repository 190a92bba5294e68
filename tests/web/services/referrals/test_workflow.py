"""The referral workflow's steps, service by service: each step is open to its parties from
its states only, moves the referral, and leaves a timeline event and an audit record; every
refusal (wrong party, outside the scope, stale version, wrong state) leaves nothing behind.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import AuditLog, Referral
from models.enums import NeedStatus, ReferralStatus
from tests.helpers import get_user, project_named
from tests.web.services.referrals.steps import STEPS, Parties, Walk, refused, what_users_see
from web.services.errors import Conflict, Forbidden, NotFound
from web.services.referrals import workflow
from web.services.referrals.guards import StaleVersion

S = ReferralStatus

#: The workflow as DESIGN §6 states it: for each step, the states it may be taken from, the
#: state it leads to, and the parties who may take it.
RULES: dict[str, tuple[tuple[ReferralStatus, ...], ReferralStatus, tuple[str, ...]]] = {
    "submit": ((S.DRAFT, S.RETURNED), S.SUBMITTED, ("station", "office")),
    "approve": ((S.SUBMITTED,), S.APPROVED, ("office",)),
    "return": ((S.SUBMITTED,), S.RETURNED, ("office",)),
    "accept": ((S.APPROVED,), S.ACCEPTED, ("charity",)),
    "decline": ((S.APPROVED,), S.DECLINED, ("charity",)),
    "start": ((S.ACCEPTED,), S.IN_SERVICE, ("charity",)),
    "complete": ((S.IN_SERVICE,), S.COMPLETED, ("charity",)),
    "cancel": ((S.DRAFT, S.SUBMITTED, S.RETURNED, S.APPROVED), S.CANCELLED, ("station", "office")),
}
EVERYONE = ("station", "office", "charity", "admin")
#: A charity finds no referral the office has not approved.
UNSEEN_BY_CHARITY = (S.DRAFT, S.SUBMITTED, S.RETURNED)

ALLOWED = [
    pytest.param(step, state, party, id=f"{step}-from-{state.value}-by-{party}")
    for step, (states, _, takers) in RULES.items()
    for state in states
    for party in takers
]


@pytest.mark.parametrize(("step", "state", "party"), ALLOWED)
def test_a_step_from_its_state_by_its_party_moves_the_referral_and_records_it(
    db: Session, parties: Parties, referral_in: Walk, step: str, state: ReferralStatus, party: str
) -> None:
    referral = referral_in(state)
    version, events = referral.version, len(referral.events)
    actor = getattr(parties, party)

    moved = STEPS[step](db, actor, referral.id, version)
    db.flush()

    leads_to = RULES[step][1]
    assert moved.status == leads_to
    assert moved.version > version  # whoever read the old version must read again
    assert len(moved.events) == events + 1
    event = moved.events[-1]
    assert (event.from_status, event.to_status) == (state.value, leads_to.value)
    assert event.actor_id == actor.id
    audited = db.scalars(
        sa.select(AuditLog.action).where(
            AuditLog.object_id == str(referral.id), AuditLog.actor_id == actor.id
        )
    ).all()
    assert f"referral.{leads_to.value}" in audited


@pytest.mark.parametrize("step", RULES)
def test_a_party_that_may_not_take_a_step_is_forbidden_and_nothing_changes(
    db: Session, parties: Parties, referral_in: Walk, step: str
) -> None:
    states, _, takers = RULES[step]
    referral = referral_in(states[0])
    before = what_users_see(db, referral.id)
    for party in EVERYONE:
        if party in takers:
            continue
        actor = getattr(parties, party)
        error = refused(db, STEPS[step], db, actor, referral.id, referral.version)
        assert isinstance(error, Forbidden), (party, error)
        assert what_users_see(db, referral.id) == before, party


@pytest.mark.parametrize(
    ("step", "state", "outsider"),
    [
        ("submit", S.DRAFT, "station_c"),  # 乳源's 必背镇 station
        ("cancel", S.SUBMITTED, "ca_ruyuan"),  # another county's office
        ("approve", S.SUBMITTED, "ca_ruyuan"),
        ("accept", S.APPROVED, "charity_h"),  # 乳源's charity
    ],
)
def test_someone_in_the_right_role_outside_the_scope_finds_no_referral(
    db: Session, referral_in: Walk, step: str, state: ReferralStatus, outsider: str
) -> None:
    referral = referral_in(state)
    before = what_users_see(db, referral.id)
    actor = get_user(db, outsider)
    error = refused(db, STEPS[step], db, actor, referral.id, referral.version)
    assert isinstance(error, NotFound)
    assert what_users_see(db, referral.id) == before


@pytest.mark.parametrize("step", RULES)
def test_a_step_on_a_version_the_referral_has_moved_past_is_a_conflict_and_changes_nothing(
    db: Session, parties: Parties, referral_in: Walk, step: str
) -> None:
    states, _, takers = RULES[step]
    referral = referral_in(states[0])
    before = what_users_see(db, referral.id)
    actor = getattr(parties, takers[0])
    error = refused(db, STEPS[step], db, actor, referral.id, referral.version - 1)
    assert isinstance(error, StaleVersion)
    assert (error.status, error.code) == (409, "stale_version")
    assert what_users_see(db, referral.id) == before


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.value)
def test_a_step_the_state_does_not_allow_is_refused_and_changes_nothing(
    db: Session, parties: Parties, referral_in: Walk, state: ReferralStatus
) -> None:
    referral = referral_in(state)
    before = what_users_see(db, referral.id)
    for step, (states, _, takers) in RULES.items():
        if state in states:
            continue
        party = takers[0]
        actor = getattr(parties, party)
        error = refused(db, STEPS[step], db, actor, referral.id, referral.version)
        if party == "charity" and state in UNSEEN_BY_CHARITY:
            assert isinstance(error, NotFound), (step, error)
        else:
            assert type(error) is Conflict, (step, error)
            assert f"“{state.label}”" in error.message, (step, error.message)
        assert what_users_see(db, referral.id) == before, step


@pytest.mark.parametrize(
    ("state", "need_status"),
    [
        (S.DRAFT, NeedStatus.OPEN),
        (S.SUBMITTED, NeedStatus.REFERRED),
        (S.RETURNED, NeedStatus.OPEN),
        (S.APPROVED, NeedStatus.REFERRED),
        (S.ACCEPTED, NeedStatus.REFERRED),
        (S.IN_SERVICE, NeedStatus.IN_SERVICE),
        # ¥8,000 delivered of a ¥40,000 gap: the rest stays open for another referral.
        (S.COMPLETED, NeedStatus.PARTIAL),
        (S.DECLINED, NeedStatus.OPEN),
        (S.CANCELLED, NeedStatus.OPEN),
        (S.EXPIRED, NeedStatus.OPEN),
    ],
    ids=lambda v: v.value,
)
def test_the_need_follows_its_only_referral(
    db: Session, referral_in: Walk, state: ReferralStatus, need_status: NeedStatus
) -> None:
    referral = referral_in(state)
    db.expire_all()
    assert referral.need.status == need_status


def test_a_settled_need_takes_no_new_referral(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    referral = referral_in(S.IN_SERVICE)
    workflow.complete_referral(db, parties.charity, referral.id, delivered_amount_fen=4_000_000)
    need = referral.need
    other = project_named(db, "粤善同行·重特大疾病医疗救助")
    error = refused(db, workflow.start_referral, db, parties.station, need.id, other.id)
    assert isinstance(error, Conflict) and "已满足" in error.message
    made = db.scalar(sa.select(sa.func.count(Referral.id)).where(Referral.need_id == need.id))
    assert made == 1

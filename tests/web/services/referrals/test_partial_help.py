"""Partial help keeps the need open: a completion that delivers less than the gap leaves the
need 部分满足 with the rest of the gap on the worklist, ready for another referral; a need
closed by mistake is reopened with a reason, on record."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import AuditLog, Need, Project, User, clock
from models.enums import NeedStatus, ReferralStatus
from tests.helpers import need_of, project_named
from tests.web.services.referrals.steps import PATHS, STEPS, TAKEN_BY, Parties, Walk
from web.services.errors import Conflict, ValidationFailed
from web.services.needs import set_need_status, worklist
from web.services.referrals import workflow

S = ReferralStatus
#: 广东省慈善总会's project: ¥20,000 a person.
SERIOUS_ILLNESS = "粤善同行·重特大疾病医疗救助"


def staff_of(db: Session, project: Project) -> User:
    user = db.scalar(sa.select(User).where(User.organization_id == project.organization_id))
    assert user is not None
    return user


def to_service(db: Session, parties: Parties, need: Need, project: Project) -> int:
    """A referral of ``need`` to ``project`` walked to 服务中 by its own charity."""
    charity = staff_of(db, project)
    referral = workflow.start_referral(db, parties.station, need.id, project.id)
    for step in PATHS[S.IN_SERVICE]:
        who = charity if TAKEN_BY[step] == "charity" else getattr(parties, TAKEN_BY[step])
        STEPS[step](db, who, referral.id, None)
    return referral.id


def on_worklist(db: Session, parties: Parties, need: Need) -> bool:
    items = worklist(db, parties.station, None, clock.today()).items
    return need.id in {item.need.id for item in items}


def test_part_of_the_gap_delivered_leaves_the_rest_open_until_a_second_referral_covers_it(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    need = need_of(db, "钟伟明", "medical")
    need.amount_gap_fen = 2_000_000  # ¥20,000
    first = referral_in(S.IN_SERVICE, need=need)
    assert not on_worklist(db, parties, need)

    workflow.complete_referral(db, parties.charity, first.id, delivered_amount_fen=800_000)
    assert need.status == NeedStatus.PARTIAL
    assert need.delivered_fen == 800_000 and need.remaining_gap_fen == 1_200_000
    assert on_worklist(db, parties, need)

    # The second referral holds only what is left of the gap, not the project's ¥20,000.
    second = to_service(db, parties, need, project_named(db, SERIOUS_ILLNESS))
    assert not on_worklist(db, parties, need)
    referral = workflow.complete_referral(
        db, staff_of(db, project_named(db, SERIOUS_ILLNESS)), second,
        delivered_amount_fen=1_200_000,
    )  # fmt: skip
    assert referral.reserved_amount_fen == 1_200_000
    assert need.status == NeedStatus.FULFILLED and need.remaining_gap_fen == 0
    assert not on_worklist(db, parties, need)
    assert [e.to_status for e in need.events] == [
        "referred", "in_service", "partial", "referred", "in_service", "fulfilled",
    ]  # fmt: skip


def test_a_partly_met_need_takes_a_new_referral_but_a_met_one_does_not(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    need = need_of(db, "钟伟明", "medical")
    first = referral_in(S.COMPLETED, need=need)  # ¥8,000 of ¥40,000
    assert need.status == NeedStatus.PARTIAL
    again = workflow.start_referral(db, parties.station, need.id, first.project_id)
    assert again.status == S.DRAFT
    workflow.cancel_referral(db, parties.station, again.id, "改选其他项目")
    assert need.status == NeedStatus.PARTIAL  # a cancelled second try leaves it partly met


def test_a_closed_need_is_reopened_with_a_reason_kept_in_its_history_and_the_audit_log(
    db: Session, parties: Parties, referral_in: Walk
) -> None:
    need = need_of(db, "钟伟明", "medical")
    referral_in(S.COMPLETED, need=need)  # ¥8,000 delivered
    with pytest.raises(ValidationFailed):
        set_need_status(db, parties.station, need.id, NeedStatus.CLOSED, "  ")
    set_need_status(db, parties.station, need.id, NeedStatus.CLOSED, "户主已去世")
    assert not on_worklist(db, parties, need)
    with pytest.raises(ValidationFailed):
        set_need_status(db, parties.station, need.id, NeedStatus.OPEN)
    set_need_status(db, parties.station, need.id, NeedStatus.OPEN, "误关闭：去世的是另一户")

    # Back where its referrals left it: partly met, the rest of the gap still open.
    assert need.status == NeedStatus.PARTIAL and need.close_reason is None
    assert need.remaining_gap_fen == 3_200_000 and on_worklist(db, parties, need)
    history = [(e.from_status, e.to_status, e.reason) for e in need.events]
    assert history[-2:] == [
        ("partial", "closed", "户主已去世"),
        ("closed", "partial", "误关闭：去世的是另一户"),
    ]
    audit = db.scalar(
        sa.select(AuditLog)
        .where(AuditLog.action == "need.reopen", AuditLog.object_id == str(need.id))
        .order_by(AuditLog.id.desc())
    )
    assert audit is not None and audit.detail["reason"] == "误关闭：去世的是另一户"


def test_referred_is_set_only_by_a_referral(db: Session, parties: Parties) -> None:
    need = need_of(db, "钟伟明", "medical")
    with pytest.raises(Conflict, match="由转介自动设置"):
        set_need_status(db, parties.station, need.id, NeedStatus.REFERRED)
    assert need.status == NeedStatus.OPEN and not need.events

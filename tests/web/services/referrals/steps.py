"""The referral workflow's steps by name, the ways to each state, and how a test sees what a
step changed. The fixtures in ``conftest.py`` use them to set the scene.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Notification, Referral, User
from models.enums import DeclineReason, ReferralStatus
from web.services.errors import ServiceError
from web.services.referrals import workflow

S = ReferralStatus

#: 荔乡慈善会's (charity_f) medical project: ¥8,000 a person, simplified procedure.
SURGERY = "从化区慈善医疗救助"


@dataclass(frozen=True)
class Parties:
    station: User  # the household's station
    office: User  # the county's civil-affairs office
    charity: User  # the charity owning the projects
    admin: User


#: Each step with what it needs besides the referral; who takes it is the caller's choice.
STEPS: dict[str, Callable[[Session, User, int, int | None], Referral]] = {
    "submit": lambda db, who, rid, v: workflow.submit_referral(db, who, rid, version=v),
    "approve": lambda db, who, rid, v: workflow.approve_referral(db, who, rid, version=v),
    "return": lambda db, who, rid, v: workflow.return_referral(
        db, who, rid, "请补充医院费用清单", version=v
    ),
    "accept": lambda db, who, rid, v: workflow.accept_referral(db, who, rid, version=v),
    "decline": lambda db, who, rid, v: workflow.decline_referral(
        db, who, rid, DeclineReason.NO_CAPACITY, version=v
    ),
    "start": lambda db, who, rid, v: workflow.start_service(db, who, rid, version=v),
    "complete": lambda db, who, rid, v: workflow.complete_referral(
        db, who, rid, delivered_amount_fen=800_000, version=v
    ),
    "cancel": lambda db, who, rid, v: workflow.cancel_referral(
        db, who, rid, "家属已自行筹到费用", version=v
    ),
}

#: ``referral_in(state, need=…, project=…)``, the fixture that walks a referral to a state.
Walk = Callable[..., Referral]

#: Who takes each step in the walks below.
TAKEN_BY = {
    "submit": "station", "approve": "office", "return": "office", "accept": "charity",
    "decline": "charity", "start": "charity", "complete": "charity", "cancel": "station",
}  # fmt: skip

#: How a referral reaches each state from a draft.
PATHS: dict[ReferralStatus, tuple[str, ...]] = {
    S.DRAFT: (),
    S.SUBMITTED: ("submit",),
    S.RETURNED: ("submit", "return"),
    S.APPROVED: ("submit", "approve"),
    S.ACCEPTED: ("submit", "approve", "accept"),
    S.IN_SERVICE: ("submit", "approve", "accept", "start"),
    S.COMPLETED: ("submit", "approve", "accept", "start", "complete"),
    S.DECLINED: ("submit", "approve", "decline"),
    S.CANCELLED: ("submit", "approve", "cancel"),
    S.EXPIRED: ("submit", "approve"),  # then left unanswered past the deadline
}


def refused(db: Session, call: Callable[..., object], *args: object) -> ServiceError:
    """The refusal ``call(*args)`` raises, its work undone as a request's rollback does."""
    savepoint = db.begin_nested()
    with pytest.raises(ServiceError) as raised:
        call(*args)
    savepoint.rollback()
    return raised.value


def what_users_see(db: Session, referral_id: int) -> tuple[object, ...]:
    """Everything a step could have changed, read back from the database."""
    db.expire_all()
    referral = db.get(Referral, referral_id)
    assert referral is not None
    project = referral.project
    told = db.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.referral_id == referral_id)
    )
    return (
        referral.status, referral.version, [e.to_status for e in referral.events],
        referral.reserved_amount_fen, referral.need.status, project.quota_used,
        project.reserved_fen, told,
    )  # fmt: skip

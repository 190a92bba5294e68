"""What a referral's page warns about before its next step (kept out of the page itself)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import Referral, User
from models.enums import ReferralStatus

from .referrals import helping_elsewhere, steps_open_to


def before_submit(
    db: Session, actor: User, referral: Referral
) -> list[tuple[str, str, ReferralStatus]]:
    """Other charities already holding a place for the referral's need — (organization,
    project, status) each — for whoever may still submit it (the station side, while it is a
    draft or returned); submitting then asks for an acknowledgement. Nobody else is told."""
    if "submit" not in steps_open_to(actor, referral):
        return []
    return helping_elsewhere(db, referral)

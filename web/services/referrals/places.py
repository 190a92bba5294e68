"""A project's places (and money) held for referrals.

A place is taken with one conditional ``UPDATE`` (``quota_used < quota``, and within the
budget), so two approvals racing for the last place cannot both win; a decline, a
cancellation or an expiry gives it back, and a completion settles the money on what was
delivered.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Project, Referral, clock, utcnow
from models.enums import ProjectStatus

from ..errors import Conflict


class QuotaExhausted(Conflict):
    code = "quota_exhausted"
    default_message = "该项目名额（或资金）已用完，不能批准。请退回，由服务站另选项目。"


def reserve_amount(per_beneficiary_fen: int | None, gap_fen: int | None) -> int:
    """The money a place holds: the smaller of the project's amount per person and the
    need's remaining gap (whichever is given), or none for a service."""
    amounts = [a for a in (per_beneficiary_fen, gap_fen) if a]
    return min(amounts) if amounts else 0


def reserve_place(db: Session, referral: Referral, today: dt.date) -> None:
    """Take one place (and the amount) of the project, atomically, or refuse."""
    project = referral.project
    amount = reserve_amount(project.amount_per_beneficiary_fen, referral.need.remaining_gap_fen)
    taken = db.execute(
        sa.update(Project)
        .where(
            Project.id == project.id,
            Project.status == ProjectStatus.VERIFIED,
            Project.ends_on >= today,
            Project.quota_used < Project.quota,
            sa.or_(
                Project.budget_fen.is_(None), Project.reserved_fen + amount <= Project.budget_fen
            ),
        )
        .values(
            quota_used=Project.quota_used + 1,
            reserved_fen=Project.reserved_fen + amount,
            places_changed_at=utcnow(),
            updated_at=Project.updated_at,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
    db.expire(project, ["quota_used", "reserved_fen", "updated_at"])
    if taken != 1:
        raise QuotaExhausted()
    referral.reserved_amount_fen = amount


def release_place(db: Session, referral: Referral) -> None:
    """Give the place (and the amount) back to the project."""
    amount = referral.reserved_amount_fen or 0
    db.execute(
        sa.update(Project)
        .where(Project.id == referral.project_id, Project.quota_used > 0)
        .values(
            quota_used=Project.quota_used - 1,
            reserved_fen=sa.case(
                (Project.reserved_fen > amount, Project.reserved_fen - amount), else_=0
            ),
            places_changed_at=utcnow(),
            updated_at=Project.updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    # A project that left the offer only because its places ran out takes offers again.
    db.execute(
        sa.update(Project)
        .where(
            Project.id == referral.project_id,
            Project.status == ProjectStatus.EXPIRED,
            Project.ends_on >= clock.today(),
            Project.quota_used < Project.quota,
        )
        .values(status=ProjectStatus.VERIFIED)
        .execution_options(synchronize_session=False)
    )
    db.expire(referral.project, ["quota_used", "reserved_fen", "updated_at", "status"])
    referral.reserved_amount_fen = None


def settle_delivered(db: Session, referral: Referral) -> None:
    """Settle the project's money on what the completed referral delivered: money held but
    not spent goes back, and spending beyond what was held is charged too, so later approvals
    see the true balance."""
    change = (referral.delivered_amount_fen or 0) - (referral.reserved_amount_fen or 0)
    if change:
        db.execute(
            sa.update(Project)
            .where(Project.id == referral.project_id, Project.reserved_fen + change >= 0)
            .values(reserved_fen=Project.reserved_fen + change, updated_at=Project.updated_at)
            .execution_options(synchronize_session=False)
        )
        db.expire(referral.project, ["reserved_fen", "updated_at"])

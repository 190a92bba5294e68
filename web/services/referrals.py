"""Referrals (转介): a station proposes a project for a need; the workflow takes it from there."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Project, Referral, ReferralEvent, User
from models.enums import ProjectStatus, ReferralStatus, Role

from .audit import write_audit
from .errors import Conflict, NotFound
from .needs import get_need
from .scoping import require_role

OPEN_STATES = (
    ReferralStatus.DRAFT,
    ReferralStatus.SUBMITTED,
    ReferralStatus.APPROVED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.IN_SERVICE,
)


def start_referral(
    db: Session,
    actor: User,
    need_id: int,
    project_id: int,
    *,
    score: float | None = None,
    model_version: str | None = None,
) -> Referral:
    """A draft referral of a need to a project, as chosen from the matches.

    :raise NotFound: the need or project is not visible to the actor.
    :raise Conflict: the household has no consent on record, or the need is already referred
        to this project.
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    need = get_need(db, actor, need_id)
    project = db.get(Project, project_id)
    if project is None or project.status != ProjectStatus.VERIFIED:
        raise NotFound("项目不存在或已不在台账中。")
    if not need.household.has_consent:
        raise Conflict("该户尚未授权（或已撤回授权），不能发起转介。请先记录授权。")
    existing = db.scalar(
        sa.select(Referral.id).where(
            Referral.need_id == need.id,
            Referral.project_id == project.id,
            Referral.status.in_(OPEN_STATES),
        )
    )
    if existing is not None:
        raise Conflict("该需求已转介到这个项目。")
    referral = Referral(
        need_id=need.id,
        project_id=project.id,
        status=ReferralStatus.DRAFT,
        score=score,
        model_version=model_version,
        is_simplified=project.accepts_simplified and need.urgency.value == "urgent",
        created_by_id=actor.id,
    )
    referral.events.append(
        ReferralEvent(actor_id=actor.id, from_status=None, to_status=ReferralStatus.DRAFT.value)
    )
    db.add(referral)
    db.flush()
    write_audit(
        db, actor, "referral.create", referral, region_code=need.household.region_code,
        detail={"need_id": need.id, "project_id": project.id},
    )  # fmt: skip
    return referral


def get_referral(db: Session, actor: User, referral_id: int) -> Referral:
    from .scoping import scoped

    referral = db.scalar(scoped(sa.select(Referral).where(Referral.id == referral_id), actor))
    if referral is None:
        raise NotFound("转介不存在或您无权查看。")
    return referral

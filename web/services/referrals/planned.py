"""A referral made by an approved line of an allocation plan (联合分配): approved from the
start, as the office approved the plan it came from, with the place taken at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from models import Need, Project, Referral, ReferralEvent, User, clock
from models.enums import ProjectStatus, ReferralStatus

from ..audit import write_audit
from ..errors import Conflict
from ..needs import follow_referrals
from .guards import require_consent, require_unsettled
from .notices import tell, to_charity, to_station
from .places import reserve_place


def create_approved_referral(
    db: Session,
    actor: User,
    need: Need,
    project: Project,
    *,
    plan_id: int,
    score: float | None,
    model_version: str | None,
    now: dt.datetime,
) -> Referral:
    """Refer ``need`` to ``project`` as approved by ``actor`` under plan ``plan_id``: take a
    place (and the money), start the charity's answer clock and tell the charity and the
    station. The caller has checked the actor may approve the plan.

    :raise Conflict: the need is settled or has no consent, or the project left the ledger.
    :raise QuotaExhausted: the place (or the money) was taken meanwhile.
    """
    require_unsettled(need)
    require_consent(need.household, "批准")
    if project.status != ProjectStatus.VERIFIED or project.ends_on < clock.local_date(now):
        raise Conflict("该项目已到期或已不在台账中。")
    referral = Referral(
        need_id=need.id,
        project_id=project.id,
        status=ReferralStatus.APPROVED,
        score=score,
        model_version=model_version,
        is_simplified=project.accepts_simplified,
        created_by_id=actor.id,
        approved_by_id=actor.id,
        submitted_at=now,
        approved_at=now,
        due_at=now + dt.timedelta(days=project.response_days),
        allocation_plan_id=plan_id,
    )
    referral.need, referral.project = need, project
    referral.events.append(
        ReferralEvent(
            actor_id=actor.id, from_status=None, to_status=ReferralStatus.APPROVED.value,
            note=f"联合分配方案 {plan_id}", detail={"allocation_plan_id": plan_id},
        )
    )  # fmt: skip
    db.add(referral)
    db.flush()
    reserve_place(db, referral, clock.local_date(now))
    write_audit(
        db, actor, "referral.approved", referral, region_code=need.household.region_code,
        detail={"allocation_plan_id": plan_id, "need_id": need.id, "project_id": project.id},
    )  # fmt: skip
    follow_referrals(db, actor, need)
    flag = "（简化程序，可直接接收）" if referral.is_simplified else ""
    days = project.response_days
    tell(db, referral, to_charity(db, referral), "approved",
         f"已由民政部门按联合分配方案批准{flag}，请在 {days} 天内答复。")  # fmt: skip
    tell(db, referral, to_station(db, referral), "approved", "已按联合分配方案批准，等待接收。")
    return referral

"""双向转介: a charity that has taken a household on tells the civil-affairs office that it
may qualify for government aid (低保, 临时救助 …); the office records what it did.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import BackReferral, Household, User, utcnow
from models.enums import CHARITY_SEES_HOUSEHOLD_STATES, BackReferralStatus, GovAidType, Role

from ..audit import write_audit
from ..errors import Conflict, NotFound, ValidationFailed
from ..notifications import notify, office_users
from ..public_text import blank, household_names
from ..scoping import scoped
from .guards import load_referral, require_live, require_party, require_reason


def refer_back(
    db: Session,
    actor: User,
    referral_id: int,
    aid_types: list[GovAidType],
    note: str | None,
) -> BackReferral:
    """A charity tells the civil-affairs office that a household it has met may qualify for
    government aid; it lands in that office's queue."""
    require_party(actor, Role.CHARITY_STAFF)
    referral = load_referral(db, actor, referral_id)
    require_live(referral)
    if referral.status not in CHARITY_SEES_HOUSEHOLD_STATES:
        raise Conflict("接收转介后才能发起双向转介。")
    text = require_reason(note, "note", "情况说明")
    if not aid_types:
        raise ValidationFailed(fields={"aid_types": ["请选择可能符合的政府救助类别。"]})
    household = referral.need.household
    back = BackReferral(
        referral_id=referral.id, household_id=household.id,
        organization_id=actor.organization_id, region_code=household.region_code,
        aid_types=[a.value for a in aid_types], note=text, created_by_id=actor.id,
    )  # fmt: skip
    db.add(back)
    db.flush()
    write_audit(db, actor, "back_referral.create", back, region_code=household.region_code,
                detail={"aid_types": back.aid_types})  # fmt: skip
    kinds = "、".join(a.label for a in aid_types)
    notify(db, office_users(db, household.region_code), "back_referral",
           f"双向转介：慈善组织认为转介 {referral.id} 的家庭可能符合{kinds}，请核查。",
           referral_id=referral.id, link="/back-referrals")  # fmt: skip
    return back


def list_back_referrals(
    db: Session, actor: User, status: BackReferralStatus | None = BackReferralStatus.OPEN
) -> list[BackReferral]:
    stmt = scoped(sa.select(BackReferral), actor)
    if status is not None:
        stmt = stmt.where(BackReferral.status == status)
    items = list(db.scalars(stmt.order_by(BackReferral.id.desc()).limit(500)))
    write_audit(db, actor, "back_referral.list", region_code=actor.region_code,
                detail={"count": len(items)})  # fmt: skip
    return items


def back_referral_lines(
    db: Session, actor: User, items: list[BackReferral]
) -> list[dict[str, Any]]:
    """What each party sees of its 双向转介: the charity neither the household's id nor its
    village, and the office's answer with the household's names blanked out."""
    charity = actor.role == Role.CHARITY_STAFF
    lines = []
    for back in items:
        line: dict[str, Any] = {
            "id": back.id, "referral_id": back.referral_id, "aid_types": list(back.aid_types),
            "note": back.note, "status": back.status.value, "created_at": back.created_at,
            "handled_at": back.handled_at, "handled_note": back.handled_note,
        }  # fmt: skip
        if charity:
            household = db.get_one(Household, back.household_id)
            if back.handled_note:
                line["handled_note"] = blank(back.handled_note, household_names(household))
        else:
            line.update(household_id=back.household_id, region_code=back.region_code,
                        organization_id=back.organization_id)  # fmt: skip
        lines.append(line)
    return lines


def handle_back_referral(
    db: Session, actor: User, back_id: int, note: str | None, now: dt.datetime | None = None
) -> BackReferral:
    """The office records what it did about a 双向转介 (e.g. 已受理低保申请)."""
    require_party(actor, Role.CIVIL_AFFAIRS)
    back = db.scalar(scoped(sa.select(BackReferral).where(BackReferral.id == back_id), actor))
    if back is None:
        raise NotFound("双向转介不存在或您无权处理。")
    text = require_reason(note, "note", "处理情况")
    # One answer only, even when two staff press at once.
    taken = db.execute(
        sa.update(BackReferral)
        .where(BackReferral.id == back.id, BackReferral.status == BackReferralStatus.OPEN)
        .values(
            status=BackReferralStatus.HANDLED,
            handled_by_id=actor.id,
            handled_at=now or utcnow(),
            handled_note=text,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
    if taken != 1:
        raise Conflict("该双向转介已处理。")
    db.refresh(back)
    write_audit(db, actor, "back_referral.handle", back, region_code=back.region_code,
                detail={"note": text})  # fmt: skip
    return back

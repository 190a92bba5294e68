"""Referrals as each party may see them: the lists and queues, one referral with its
timeline, and the contact a charity may open once it has accepted.

Stations and offices see the household's name; before accepting, a charity sees the need's
structured fields (domain, urgency, amount gap), the priority groups, the township and the
summary written for charities (对外情况说明, checked on save by :mod:`web.services.public_text`),
never the station's own text; that it reads once it has accepted, and each such look is
audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from models import Household, Need, Project, Referral, Region, User
from models.enums import (
    BEFORE_CHARITY_STATES,
    CHARITY_SEES_HOUSEHOLD_STATES,
    ENGAGED_STATES,
    PLACE_HOLDING_STATES,
    Domain,
    ReferralStatus,
    Role,
    Urgency,
)
from models.regions import descendant_range

from ..audit import write_audit
from ..crypto import cipher_of
from ..errors import Forbidden
from ..public_text import suggest_public_summary
from ..regions import region_label
from ..scoping import scoped
from .episodes import episode_view
from .followups import find_follow_up, follow_up_view
from .guards import load_referral, referral_for_provider, sees_as_provider

S = ReferralStatus


def get_referral(db: Session, actor: User, referral_id: int) -> Referral:
    """One referral the actor may see (404 otherwise); the read is audited."""
    referral = load_referral(db, actor, referral_id)
    write_audit(
        db, actor, "referral.read", referral, region_code=referral.need.household.region_code,
        detail={"households": [referral.need.household_id]},
    )  # fmt: skip
    return referral


@dataclass(frozen=True)
class ReferralFilter:
    status: tuple[ReferralStatus, ...] = ()
    urgency: Urgency | None = None
    domain: Domain | None = None
    region_code: str | None = None
    project_id: int | None = None


#: What each box shows by default: an office's approval queue; a charity's inbox, the
#: referrals holding one of its places (to answer or to serve); everything.
BOXES: dict[str, tuple[ReferralStatus, ...]] = {
    "queue": (S.SUBMITTED,),
    "inbox": PLACE_HOLDING_STATES,
    "all": (),
}


def list_referrals(
    db: Session, actor: User, filters: ReferralFilter | None = None, *, limit: int = 200
) -> list[Referral]:
    """The referrals the actor may see, urgent needs first, then simplified procedure, then
    the longest waiting."""
    filters = filters or ReferralFilter()
    stmt = (
        scoped(sa.select(Referral), actor)
        .join(Need, Need.id == Referral.need_id)
        .join(Household, Household.id == Need.household_id)
    )
    if filters.status:
        stmt = stmt.where(Referral.status.in_(filters.status))
    if filters.urgency is not None:
        stmt = stmt.where(Need.urgency == filters.urgency)
    if filters.domain is not None:
        stmt = stmt.where(Need.domain == filters.domain)
    if filters.project_id is not None:
        stmt = stmt.where(Referral.project_id == filters.project_id)
    if filters.region_code:
        code = filters.region_code
        if actor.role == Role.CHARITY_STAFF:
            code = code[:9] + "000"  # a charity may narrow to a township, never to a village
        low, high = descendant_range(code)
        stmt = stmt.where(Household.region_code.between(low, high))
    urgent_first = sa.case((Need.urgency == Urgency.URGENT, 0), else_=1)
    simplified_first = sa.case((Referral.is_simplified, 0), else_=1)
    stmt = stmt.options(
        joinedload(Referral.need).joinedload(Need.household),
        joinedload(Referral.project).joinedload(Project.organization),
    )
    order = (urgent_first, simplified_first, Referral.updated_at.asc(), Referral.id)
    rows = db.scalars(stmt.order_by(*order).limit(limit)).unique().all()
    write_audit(
        db, actor, "referral.list", region_code=actor.region_code,
        detail={"count": len(rows), "status": [s.value for s in filters.status],
                "households": sorted({r.need.household_id for r in rows})},
    )  # fmt: skip
    return list(rows)


def referral_summaries(db: Session, actor: User, referrals: list[Referral]) -> list[dict[str, Any]]:
    """One line per referral for lists and queues (loaded by :func:`list_referrals`); a
    charity's lines carry no household name."""
    townships = {r.need.household.region_code[:9] + "000" for r in referrals}
    names = dict(
        db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(townships))).all()
    )
    lines = []
    for r in referrals:
        need, household = r.need, r.need.household
        charity = sees_as_provider(actor, r)
        township = household.region_code[:9] + "000"
        line: dict[str, Any] = {
            "id": r.id,
            "version": r.version,
            "status": r.status.value,
            "status_label": r.status.label,
            "is_simplified": r.is_simplified,
            "is_urgent": need.urgency == Urgency.URGENT,
            "need_id": need.id,
            "domain": need.domain.value,
            "domain_label": need.domain.label,
            "amount_gap_fen": need.amount_gap_fen,
            "project_id": r.project_id,
            "project_name": r.project.name,
            "organization": r.project.organization.name,
            "township": names.get(township, ""),
            "score": r.score,
            "submitted_at": r.submitted_at,
            "approved_at": r.approved_at,
            "due_at": r.due_at,
            "updated_at": r.updated_at,
        }
        if not charity:
            line["household_id"] = household.id
            line["head_name"] = household.head_name
        lines.append(line)
    return lines


def household_summary(db: Session, household: Household, today: dt.date) -> dict[str, Any]:
    """What a charity may know of a household before it accepts: no names, IDs or phones."""
    township = household.region_code[:9] + "000"
    return {
        "priority_groups": [g.value for g in household.priority_groups(today)],
        "categories": list(household.categories),
        "member_count": len(household.members),
        "township_code": township,
        "place": region_label(db, township),
    }


def referral_view(db: Session, actor: User, referral: Referral, today: dt.date) -> dict[str, Any]:
    """A referral as the actor may see it. Stations and offices see the household's name;
    a charity sees the need's structured fields and its 对外情况说明, the priority groups and
    the township, and the need's own text only once it has accepted (each look audited)."""
    need = referral.need
    household = need.household
    project = referral.project
    charity = sees_as_provider(actor, referral)
    summary = need.public_summary or suggest_public_summary(need.domain, need.urgency)
    shows_text = not charity or referral.status in CHARITY_SEES_HOUSEHOLD_STATES
    if charity and shows_text:
        write_audit(
            db, actor, "referral.need_text_read", referral, region_code=household.region_code,
            detail={"household_id": household.id, "need_id": need.id},
        )  # fmt: skip
    # A charity sees neither the steps before it nor the follow-up's (回访) flag and resolution.
    events = [
        e for e in referral.events
        if not charity or (e.to_status not in {s.value for s in BEFORE_CHARITY_STATES}
                           and not (e.detail or {}).get("follow_up"))
    ]  # fmt: skip
    view: dict[str, Any] = {
        "id": referral.id,
        "version": referral.version,
        "status": referral.status.value,
        "status_label": referral.status.label,
        "is_simplified": referral.is_simplified,
        "is_urgent": need.urgency == Urgency.URGENT,
        "score": referral.score,
        "model_version": referral.model_version,
        "project": {
            "id": project.id,
            "name": project.name,
            "organization": project.organization.name,
            "response_days": project.response_days,
            "is_local": project.organization.is_local,
        },
        "need": {
            "id": need.id,
            "domain": need.domain.value,
            "domain_label": need.domain.label,
            "urgency": need.urgency.value,
            "amount_gap_fen": need.amount_gap_fen,
            "remaining_gap_fen": need.remaining_gap_fen,
            "text": need.text if shows_text else None,
            "public_summary": summary,
            "status": need.status.value,
        },
        "household": household_summary(db, household, today),
        "reserved_amount_fen": referral.reserved_amount_fen,
        "delivered_amount_fen": referral.delivered_amount_fen,
        "delivered_service": referral.delivered_service,
        "decline_reason": referral.decline_reason.value if referral.decline_reason else None,
        # A charity reads only its own words (a decline's note), not the station's or office's.
        "status_reason": referral.status_reason
        if not charity or referral.status == S.DECLINED
        else None,
        "created_at": referral.created_at,
        "submitted_at": referral.submitted_at,
        "approved_at": referral.approved_at,
        "due_at": referral.due_at,
        "answered_at": referral.answered_at,
        "started_at": referral.started_at,
        "completed_at": referral.completed_at,
        "events": [
            {
                "at": e.at,
                "from_status": e.from_status,
                "to_status": e.to_status,
                # A charity reads only its own words (a decline's note), as it typed them.
                "note": (e.note if e.to_status == S.DECLINED.value else None)
                if charity
                else e.note,
                "self_approved": bool((e.detail or {}).get("self_approved")),
                "follow_up": (e.detail or {}).get("follow_up"),
            }
            for e in events
        ],  # fmt: skip
        "episodes": [episode_view(e) for e in referral.episodes],
        "contact_available": charity and referral.status in ENGAGED_STATES,
        "archived_at": referral.archived_at,
        "follow_up": follow_up_view(actor, referral, find_follow_up(db, referral.id), today),
    }
    if not charity:
        view["household"].update(
            {"id": household.id, "head_name": household.head_name,
             "region_code": household.region_code, "station_id": household.station_id}
        )  # fmt: skip
        view["note"] = referral.note
    return view


def referral_contact(db: Session, actor: User, referral_id: int) -> dict[str, Any]:
    """The contact a charity needs to deliver, once it has accepted; every look is audited."""
    referral = referral_for_provider(db, actor, referral_id, None, changes=False)
    if referral.status not in ENGAGED_STATES:
        raise Forbidden("接收转介后才能查看联系方式。")
    household = referral.need.household
    phone = cipher_of(db).decrypt(household.phone_encrypted) if household.phone_encrypted else None
    station = household.station
    write_audit(
        db, actor, "referral.contact_revealed", referral, region_code=household.region_code,
        detail={"household_id": household.id},
    )  # fmt: skip
    return {
        "head_name": household.head_name,
        "phone": phone,
        "address": household.address,
        "station": station.name,
        "station_phone": station.phone,
    }

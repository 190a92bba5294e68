"""回访: after a referral is completed, the household's station asks the household whether
the help arrived as the charity recorded it, how satisfied it is (1–5) and whether the need
is met.

A follow-up is opened when the referral is completed, due ``FOLLOW_UP_DAYS`` later (local
days). Only the household's own station records it; any other party's request is not found.
A follow-up saying nothing arrived, or not as recorded, flags the referral to the approving
office, which resolves it on record (a timeline event and an audit record; the referral's
status does not change). A follow-up saying the need is not met changes nothing by itself:
the station is told the need may want a new referral. Follow-ups past their day and not done
are raised with the station once, by the daily job.

The charity sees whether the help arrived and the satisfaction, never the station's note or
the office's resolution.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import FollowUp, Household, Need, Referral, ReferralEvent, User, clock, utcnow
from models.enums import ReferralStatus, Role

from ..audit import write_audit
from ..contracts import FieldRule, field_problems
from ..errors import Conflict, NotFound, ValidationFailed
from ..scoping import scoped
from .guards import load_referral, require_live, require_party, sees_as_provider
from .notices import tell, to_office, to_station

S = ReferralStatus

#: Days after completion by which the station should follow up (the ``FOLLOW_UP_DAYS``
#: setting's default).
FOLLOW_UP_DAYS = 14

#: What a follow-up must say, for the form, the API schema and the service alike.
FOLLOW_UP: dict[str, FieldRule] = {
    "received": FieldRule("是否收到帮扶", "bool", required=True,
                          required_message="请选择家庭是否收到帮扶。"),
    "as_recorded": FieldRule("金额或服务是否与记录一致", "bool", required=True,
                             required_message="请选择金额或服务是否与完成时记录的一致。"),
    "satisfaction": FieldRule("满意度", "int", required=True, min_value=1, max_value=5,
                              required_message="请选择家庭的满意度（1–5）。"),
    "need_met": FieldRule("需求是否已满足", "bool", required=True,
                          required_message="请选择需求是否已满足。"),
    "note": FieldRule("回访说明", "text", max_length=2000),
}  # fmt: skip
#: The office's resolution of a flagged follow-up.
RESOLUTION = FieldRule("核实处理情况", "text", required=True, max_length=2000,
                       required_message="请填写核实处理情况。")  # fmt: skip


@dataclass(frozen=True)
class FollowUpInput:
    received: bool | None
    as_recorded: bool | None
    satisfaction: int | None
    need_met: bool | None
    note: str | None = None


def open_follow_up(db: Session, referral: Referral, days: int = FOLLOW_UP_DAYS) -> FollowUp:
    """The follow-up a completed referral asks of the household's station, due ``days``
    local days after completion."""
    completed_at = referral.completed_at or utcnow()
    follow_up = FollowUp(
        referral_id=referral.id, due_on=clock.local_date(completed_at) + dt.timedelta(days=days)
    )
    db.add(follow_up)
    db.flush()
    return follow_up


def find_follow_up(db: Session, referral_id: int) -> FollowUp | None:
    """The referral's follow-up, if it was completed since follow-ups began."""
    return db.scalar(sa.select(FollowUp).where(FollowUp.referral_id == referral_id))


def _for_station(db: Session, actor: User, referral_id: int) -> tuple[Referral, FollowUp]:
    """The referral and its follow-up, for the household's own station.

    :raise Forbidden: not station staff.
    :raise NotFound: the referral is not the actor's station's household's (another
        station's follow-up is not found, even where the referral itself is visible).
    :raise Conflict: the referral has no follow-up (not completed).
    :raise Archived: the referral was archived (read-only).
    """
    require_party(actor, Role.STATION_STAFF)
    referral = load_referral(db, actor, referral_id)
    if referral.need.household.station_id != actor.station_id:
        raise NotFound("转介不存在或您无权查看。")
    require_live(referral)
    follow_up = find_follow_up(db, referral.id)
    if follow_up is None:
        raise Conflict(f"该转介当前为“{referral.status.label}”，帮扶完成后才能回访。")
    return referral, follow_up


def _timeline(db: Session, actor: User, referral: Referral, kind: str, note: str) -> None:
    """A timeline event that records a follow-up step without moving the referral."""
    referral.events.append(
        ReferralEvent(
            actor_id=actor.id, from_status=referral.status.value,
            to_status=referral.status.value, note=note, detail={"follow_up": kind},
        )
    )  # fmt: skip
    db.flush()


def record_follow_up(
    db: Session,
    actor: User,
    referral_id: int,
    data: FollowUpInput,
    *,
    now: dt.datetime | None = None,
) -> FollowUp:
    """Record what the household said. Nothing arrived, or not as recorded: the referral is
    flagged to the approving office (told, and shown on its referral page).

    :raise ValidationFailed: a required answer missing or the satisfaction outside 1–5, by
        field (``received``, ``as_recorded``, ``satisfaction``, ``need_met``, ``note``).
    :raise Conflict: not completed, or already followed up.
    """
    now = now or utcnow()
    referral, follow_up = _for_station(db, actor, referral_id)
    if follow_up.is_done:
        raise Conflict("该转介已回访，不能重复登记。")
    errors = field_problems(FOLLOW_UP, data)
    if errors:
        raise ValidationFailed(fields=errors)
    follow_up.received = bool(data.received)
    follow_up.as_recorded = bool(data.as_recorded)
    follow_up.satisfaction = data.satisfaction
    follow_up.need_met = bool(data.need_met)
    follow_up.note = (data.note or "").strip() or None
    follow_up.done_by_id = actor.id
    follow_up.done_at = now
    region_code = referral.need.household.region_code
    if not (follow_up.received and follow_up.as_recorded):
        follow_up.flagged_at = now
        said = "家庭反映未收到帮扶" if not follow_up.received else "家庭反映帮扶与完成记录不符"
        _timeline(db, actor, referral, "flagged", f"{said}，已提请民政部门核实。")
        tell(db, referral, to_office(db, referral), "follow_up_flagged",
             f"回访存疑：{said}，请核实处理。")  # fmt: skip
    db.flush()
    write_audit(
        db, actor, "referral.follow_up", referral, region_code=region_code,
        detail={"received": follow_up.received, "as_recorded": follow_up.as_recorded,
                "satisfaction": follow_up.satisfaction, "need_met": follow_up.need_met,
                "flagged": follow_up.flagged_at is not None},
    )  # fmt: skip
    return follow_up


def resolve_follow_up(
    db: Session,
    actor: User,
    referral_id: int,
    resolution: str | None,
    *,
    now: dt.datetime | None = None,
) -> FollowUp:
    """The approving office settles a flagged follow-up, saying what it found and did; on
    the referral's timeline and in the audit log, the referral's status unchanged.

    :raise Forbidden: not civil-affairs staff.
    :raise NotFound: the referral is outside the office's scope.
    :raise Conflict: nothing flagged, or already resolved.
    """
    require_party(actor, Role.CIVIL_AFFAIRS)
    referral = load_referral(db, actor, referral_id)
    require_live(referral)
    follow_up = find_follow_up(db, referral.id)
    if follow_up is None or not follow_up.is_open_flag:
        raise Conflict("该转介没有待核实的回访。")
    problems = RESOLUTION.problems(resolution)
    if problems:
        raise ValidationFailed(fields={"resolution": problems})
    text = (resolution or "").strip()
    follow_up.resolution = text
    follow_up.resolved_by_id = actor.id
    follow_up.resolved_at = now or utcnow()
    _timeline(db, actor, referral, "resolved", text)
    write_audit(
        db, actor, "referral.follow_up_resolved", referral,
        region_code=referral.need.household.region_code, detail={"resolution": text},
    )  # fmt: skip
    tell(db, referral, to_station(db, referral), "follow_up_resolved",
         f"回访存疑已由民政部门核实：{text}")  # fmt: skip
    return follow_up


def raise_overdue_follow_ups(db: Session, today: dt.date, now: dt.datetime) -> int:
    """Tell each station of its follow-ups past their day and not done, once each; returns
    how many were raised."""
    overdue = db.scalars(
        sa.select(FollowUp)
        .join(Referral, Referral.id == FollowUp.referral_id)
        .where(
            Referral.status == S.COMPLETED,
            FollowUp.due_on < today,
            FollowUp.done_at.is_(None),
            FollowUp.overdue_raised_at.is_(None),
        )
        .order_by(FollowUp.id)
    ).all()
    for follow_up in overdue:
        follow_up.overdue_raised_at = now
        referral = follow_up.referral
        tell(db, referral, to_station(db, referral), "follow_up_overdue",
             f"回访已逾期（应于 {follow_up.due_on.isoformat()} 前完成），请尽快回访。")  # fmt: skip
    db.flush()
    return len(overdue)


def due_follow_ups(db: Session, actor: User, *, limit: int = 20) -> list[tuple[Referral, FollowUp]]:
    """The station's follow-ups not yet done, the earliest due first (station staff only;
    anyone else has none)."""
    if actor.role != Role.STATION_STAFF:
        return []
    rows = db.execute(
        scoped(sa.select(Referral), actor)
        .add_columns(FollowUp)
        .join(FollowUp, FollowUp.referral_id == Referral.id)
        .join(Need, Need.id == Referral.need_id)
        .join(Household, Household.id == Need.household_id)
        .where(Household.station_id == actor.station_id, FollowUp.done_at.is_(None))
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(limit)
    ).all()
    return [(referral, follow_up) for referral, follow_up in rows]


def follow_up_view(
    actor: User, referral: Referral, follow_up: FollowUp | None, today: dt.date
) -> dict[str, Any] | None:
    """The follow-up as the actor may see it: the station and office all of it; a charity
    whether the help arrived and the satisfaction, once recorded, and nothing else."""
    if follow_up is None:
        return None
    if sees_as_provider(actor, referral):
        if not follow_up.is_done:
            return None
        return {"is_done": True, "received": follow_up.received,
                "satisfaction": follow_up.satisfaction}  # fmt: skip
    return {
        "is_done": follow_up.is_done,
        "due_on": follow_up.due_on,
        "is_overdue": not follow_up.is_done and follow_up.due_on < today,
        "received": follow_up.received,
        "as_recorded": follow_up.as_recorded,
        "satisfaction": follow_up.satisfaction,
        "need_met": follow_up.need_met,
        "note": follow_up.note,
        "done_at": follow_up.done_at,
        "is_flagged": follow_up.flagged_at is not None,
        "flagged_at": follow_up.flagged_at,
        "resolved_at": follow_up.resolved_at,
        "resolution": follow_up.resolution,
        "can_record": actor.role == Role.STATION_STAFF
        and referral.need.household.station_id == actor.station_id
        and not follow_up.is_done,
        "can_resolve": actor.role == Role.CIVIL_AFFAIRS and follow_up.is_open_flag,
    }

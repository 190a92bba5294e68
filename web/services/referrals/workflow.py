"""The referral workflow: a station proposes a project for a need, civil-affairs staff
approve, the charity accepts and delivers.

Every step is one function here. Each checks the actor's role and scope (a referral the actor
may not see is simply not found), refuses a stale version and a step the current state does
not allow, moves the state, writes a timeline event and an audit record, keeps the need's
status and the project's places in step, and tells the next party.

Places are reserved with one conditional ``UPDATE`` (``quota_used < quota``, see
:mod:`.places`), so two approvals racing for the last place cannot both win; a referral's own
row is guarded by its version column, so two conflicting steps on one referral cannot both
land.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models import (
    Household,
    Need,
    Organization,
    Project,
    Referral,
    ReferralEvent,
    User,
    clock,
    utcnow,
)
from models.enums import (
    OPEN_REFERRAL_STATES,
    PLACE_HOLDING_STATES,
    DeclineReason,
    ProjectStatus,
    ReferralStatus,
    Role,
)

from ..audit import write_audit
from ..county_settings import allows_self_approval
from ..errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from ..needs import follow_referrals, get_need
from .episodes import episode_summary
from .followups import FOLLOW_UP_DAYS, open_follow_up
from .guards import (
    STATION_SIDE,
    StaleVersion,
    provides,
    referral_for_provider,
    referral_for_step,
    require_consent,
    require_live,
    require_party,
    require_reason,
    require_unsettled,
)
from .notices import tell, to_charity, to_office, to_station
from .places import release_place, reserve_place, settle_delivered

S = ReferralStatus


class AlreadyHelped(Conflict):
    """Another charity already holds a place for the need (HTTP 409 until acknowledged)."""

    code = "already_helped"


# --- the steps ----------------------------------------------------------------------------


#: The steps each party may take from each state (what the pages offer as buttons; every step
#: function checks the same again).
STEPS: dict[Role, dict[ReferralStatus, tuple[str, ...]]] = {
    Role.STATION_STAFF: {
        S.DRAFT: ("submit", "cancel"),
        S.RETURNED: ("submit", "cancel"),
        S.SUBMITTED: ("cancel",),
        S.APPROVED: ("cancel",),
    },
    Role.CIVIL_AFFAIRS: {
        S.DRAFT: ("submit", "cancel"),
        S.RETURNED: ("submit", "cancel"),
        S.SUBMITTED: ("approve", "return", "cancel"),
        S.APPROVED: ("cancel",),
    },
    Role.CHARITY_STAFF: {
        S.APPROVED: ("accept", "decline"),
        S.ACCEPTED: ("start",),
        S.IN_SERVICE: ("complete",),
    },
}


def steps_open_to(actor: User, referral: Referral) -> tuple[str, ...]:
    """The steps the actor's role may take on the referral in its current state; a station
    answerable for the local resource also takes the charity's steps (and the station's only
    for its own households)."""
    if referral.archived_at is not None:
        return ()
    steps = STEPS.get(actor.role, {}).get(referral.status, ())
    if actor.role == Role.STATION_STAFF:
        if referral.need.household.station_id != actor.station_id:
            steps = ()
        if provides(actor, referral):
            steps += STEPS[Role.CHARITY_STAFF].get(referral.status, ())
    return steps


def _provider_word(referral: Referral) -> str:
    """Who answers the referral, as the station is told: 慈善组织, or the station answerable
    for a local resource."""
    return "本地资源负责服务站" if referral.project.organization.is_local else "慈善组织"


def _addressee(referral: Referral) -> str:
    return "贵站负责的本地资源" if referral.project.organization.is_local else "贵组织"


def _move(
    db: Session,
    actor: User | None,
    referral: Referral,
    to: ReferralStatus,
    allowed_from: tuple[ReferralStatus, ...],
    action_label: str,
    *,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Change the state (checked against ``allowed_from``), record the event, flush so the
    version check happens now (a concurrent change makes this raise :class:`StaleVersion`).
    An archived referral never moves (:class:`~.guards.Archived`), whoever asks."""
    require_live(referral)
    if referral.status not in allowed_from:
        raise Conflict(f"该转介当前为“{referral.status.label}”，不能{action_label}。")
    from_status = referral.status
    referral.status = to
    referral.events.append(
        ReferralEvent(
            actor_id=actor.id if actor else None,
            from_status=from_status.value,
            to_status=to.value,
            note=note,
            detail=detail,
        )
    )
    try:
        db.flush()
    except StaleDataError:
        raise StaleVersion() from None
    household = referral.need.household
    write_audit(
        db, actor, f"referral.{to.value}", referral, region_code=household.region_code,
        actor_name=None if actor else "system",
        detail={"from": from_status.value, "note": note, **(detail or {})},
    )  # fmt: skip
    follow_referrals(db, actor, referral.need)


def helping_elsewhere(db: Session, referral: Referral) -> list[tuple[str, str, ReferralStatus]]:
    """Other charities already holding a place for the same need: (organization, project,
    status) each. One household, one chain: a second referral is warned about."""
    rows = db.execute(
        sa.select(Organization.name, Project.name, Referral.status)
        .join(Project, Project.id == Referral.project_id)
        .join(Organization, Organization.id == Project.organization_id)
        .where(
            Referral.need_id == referral.need_id,
            Referral.id != referral.id,
            Referral.status.in_(PLACE_HOLDING_STATES),
        )
    ).all()
    return [(org, name, status) for org, name, status in rows]


def start_referral(
    db: Session,
    actor: User,
    need_id: int,
    project_id: int,
    *,
    score: float | None = None,
    model_version: str | None = None,
    note: str | None = None,
) -> Referral:
    """A draft referral of a need to a project, as chosen from the matches. The score and
    model version it was chosen with are kept for training.

    :raise NotFound: the need or project is not visible to the actor.
    :raise Conflict: no consent on record, the need is settled, or already referred there.
    """
    require_party(actor, *STATION_SIDE)
    need = get_need(db, actor, need_id)
    project = db.get(Project, project_id)
    if project is None or project.status != ProjectStatus.VERIFIED:
        raise NotFound("项目不存在或已不在台账中。")
    require_unsettled(need)
    require_consent(need.household, "发起转介。请先记录授权")
    existing = db.scalar(
        sa.select(Referral.id).where(
            Referral.need_id == need.id,
            Referral.project_id == project.id,
            Referral.status.in_(OPEN_REFERRAL_STATES),
        )
    )
    if existing is not None:
        raise Conflict("该需求已转介到这个项目。")
    referral = Referral(
        need_id=need.id,
        project_id=project.id,
        status=S.DRAFT,
        score=score,
        model_version=model_version,
        is_simplified=project.accepts_simplified,
        note=(note or "").strip() or None,
        created_by_id=actor.id,
    )
    referral.events.append(ReferralEvent(actor_id=actor.id, from_status=None, to_status=S.DRAFT))
    db.add(referral)
    db.flush()
    write_audit(
        db, actor, "referral.create", referral, region_code=need.household.region_code,
        detail={"need_id": need.id, "project_id": project.id, "score": score},
    )  # fmt: skip
    return referral


def submit_referral(
    db: Session,
    actor: User,
    referral_id: int,
    *,
    version: int | None = None,
    acknowledge_duplicate: bool = False,
    now: dt.datetime | None = None,
) -> Referral:
    """Send a draft (or a returned referral, revised) to the civil-affairs office.

    :raise AlreadyHelped: another charity already holds a place for this need and the caller
        has not acknowledged it.
    """
    referral = referral_for_step(db, actor, referral_id, version, *STATION_SIDE)
    if referral.status in (S.DRAFT, S.RETURNED):
        require_unsettled(referral.need)
        require_consent(referral.need.household, "提交转介，请先在家庭页面记录授权")
    others = helping_elsewhere(db, referral)
    if others and not acknowledge_duplicate and referral.status in (S.DRAFT, S.RETURNED):
        listed = "；".join(f"{org}“{name}”（{status.label}）" for org, name, status in others)
        raise AlreadyHelped(
            f"该需求已有其他慈善组织在帮扶：{listed}。确认仍要提交，请勾选确认后再提交。"
        )
    referral.submitted_at = now or utcnow()
    referral.status_reason = None  # a return's reason is settled by resubmitting
    _move(db, actor, referral, S.SUBMITTED, (S.DRAFT, S.RETURNED), "提交",
          detail={"acknowledged_duplicate": bool(others)} if others else None)  # fmt: skip
    tell(db, referral, to_office(db, referral), "submitted", "待审批。")
    return referral


def _initiated_by(referral: Referral, actor: User) -> bool:
    """Whether ``actor`` created the referral or submitted it (any time)."""
    submitters = {e.actor_id for e in referral.events if e.to_status == S.SUBMITTED.value}
    return actor.id == referral.created_by_id or actor.id in submitters


def approve_referral(
    db: Session,
    actor: User,
    referral_id: int,
    *,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Approve a submitted referral: reserve a place, start the charity's answer clock, and
    put it in the charity's inbox (flagged 简化程序 where the project accepts it).

    The approver may not be the person who created or submitted it, unless the household's
    county allows it (:func:`~web.services.county_settings.allows_self_approval`); such an
    approval is marked ``self_approved`` in its event and audit record.

    :raise Forbidden: the actor created or submitted it and the county does not allow that.
    :raise QuotaExhausted: no place (or money) left.
    """
    now = now or utcnow()
    referral = referral_for_step(db, actor, referral_id, version, Role.CIVIL_AFFAIRS)
    project = referral.project
    if referral.status == S.SUBMITTED:
        require_unsettled(referral.need)
        require_consent(referral.need.household, "批准")
        if project.status != ProjectStatus.VERIFIED or project.ends_on < clock.local_date(now):
            raise Conflict("该项目已到期或已不在台账中，不能批准。请退回，由服务站另选项目。")
    detail: dict[str, Any] = {"simplified": project.accepts_simplified}
    if referral.status == S.SUBMITTED and _initiated_by(referral, actor):
        if not allows_self_approval(db, referral.need.household.region_code):
            raise Forbidden(
                "您发起或提交了这一转介，不能再由您审批，请由本部门其他工作人员审批"
                "（县民政部门可在“本县设置”中允许同一人发起并审批）。"
            )
        detail["self_approved"] = True  # allowed by the county, and on record as such
    referral.approved_at = now
    referral.approved_by_id = actor.id
    referral.is_simplified = project.accepts_simplified
    referral.due_at = now + dt.timedelta(days=project.response_days)
    # The referral row first: a concurrent change of it fails here, before any place is taken.
    _move(db, actor, referral, S.APPROVED, (S.SUBMITTED,), "批准", detail=detail)
    reserve_place(db, referral, clock.local_date(now))
    flag = "（简化程序，可直接接收）" if referral.is_simplified else ""
    days = project.response_days
    tell(db, referral, to_charity(db, referral), "approved",
         f"已由民政部门批准转介给{_addressee(referral)}{flag}，请在 {days} 天内答复。")  # fmt: skip
    waiting = f"已批准，等待{_provider_word(referral)}接收。"
    tell(db, referral, to_station(db, referral), "approved", waiting)
    return referral


def return_referral(
    db: Session, actor: User, referral_id: int, reason: str | None, *, version: int | None = None
) -> Referral:
    """Send a submitted referral back to the station, saying why."""
    referral = referral_for_step(db, actor, referral_id, version, Role.CIVIL_AFFAIRS)
    text = require_reason(reason, what="退回原因")
    referral.status_reason = text
    _move(db, actor, referral, S.RETURNED, (S.SUBMITTED,), "退回", note=text)
    tell(db, referral, to_station(db, referral), "returned", f"被退回：{text}")
    return referral


def accept_referral(
    db: Session,
    actor: User,
    referral_id: int,
    *,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """The charity takes the household on; it may now see the contact it needs."""
    referral = referral_for_provider(db, actor, referral_id, version)
    if referral.status == S.APPROVED:
        require_consent(referral.need.household, "接收")
    referral.answered_at = now or utcnow()
    _move(db, actor, referral, S.ACCEPTED, (S.APPROVED,), "接收")
    tell(db, referral, to_station(db, referral) + to_office(db, referral), "accepted",
         f"已被{_provider_word(referral)}接收。")  # fmt: skip
    return referral


def decline_referral(
    db: Session,
    actor: User,
    referral_id: int,
    reason: DeclineReason | None,
    note: str | None = None,
    *,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """The charity declines, naming one reason from the fixed list (``other`` with text);
    the place is released and the need goes back to the station."""
    referral = referral_for_provider(db, actor, referral_id, version)
    if reason is None:
        raise ValidationFailed(fields={"reason": ["请选择婉拒原因。"]})
    text = (note or "").strip() or None
    if reason == DeclineReason.OTHER and not text:
        raise ValidationFailed(fields={"note": ["选择“其他”时请说明原因。"]})
    referral.decline_reason = reason
    referral.status_reason = text
    referral.answered_at = now or utcnow()
    _move(db, actor, referral, S.DECLINED, (S.APPROVED,), "婉拒",
          note=text, detail={"reason": reason.value})  # fmt: skip
    release_place(db, referral)
    said = reason.label + (f"：{text}" if text else "")
    tell(db, referral, to_station(db, referral) + to_office(db, referral), "declined",
         f"被{_provider_word(referral)}婉拒（{said}），请另选项目。")  # fmt: skip
    return referral


def start_service(
    db: Session,
    actor: User,
    referral_id: int,
    *,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """The charity starts delivering to the household it accepted."""
    referral = referral_for_provider(db, actor, referral_id, version)
    referral.started_at = now or utcnow()
    _move(db, actor, referral, S.IN_SERVICE, (S.ACCEPTED,), "开始服务")
    tell(db, referral, to_station(db, referral), "in_service", "已开始帮扶服务。")
    return referral


def complete_referral(
    db: Session,
    actor: User,
    referral_id: int,
    *,
    delivered_amount_fen: int | None = None,
    delivered_service: str | None = None,
    version: int | None = None,
    now: dt.datetime | None = None,
    follow_up_days: int = FOLLOW_UP_DAYS,
) -> Referral:
    """Close the help as delivered: an amount, a description of the service, or the logged
    episodes (which are summed when nothing else is given). The need is then met, or, when
    less than its gap was delivered, 部分满足 with the rest of the gap open for another
    referral. The household's station is asked to follow up within ``follow_up_days``."""
    referral = referral_for_provider(db, actor, referral_id, version)
    service = (delivered_service or "").strip() or None
    episodes = list(referral.episodes)
    if delivered_amount_fen is None and episodes:
        delivered_amount_fen = sum(e.value_fen for e in episodes)
    if service is None and episodes:
        service = episode_summary(episodes)
    if delivered_amount_fen is None and service is None:
        raise ValidationFailed(
            fields={"delivered_amount_fen": ["请填写实际帮扶金额，或说明提供的服务。"]}
        )
    if delivered_amount_fen is not None and delivered_amount_fen < 0:
        raise ValidationFailed(fields={"delivered_amount_fen": ["金额不能为负数。"]})
    referral.delivered_amount_fen = delivered_amount_fen
    referral.delivered_service = service
    referral.completed_at = now or utcnow()
    detail = {"delivered_amount_fen": delivered_amount_fen, "episodes": len(episodes)}
    _move(db, actor, referral, S.COMPLETED, (S.IN_SERVICE,), "完成", detail=detail)
    settle_delivered(db, referral)
    open_follow_up(db, referral, follow_up_days)
    tell(db, referral, to_station(db, referral) + to_office(db, referral), "completed",
         "帮扶已完成。")  # fmt: skip
    return referral


def cancel_referral(
    db: Session, actor: User, referral_id: int, reason: str | None, *, version: int | None = None
) -> Referral:
    """Withdraw a referral before the charity has answered; an approved one's place is
    released and the charity told."""
    referral = referral_for_step(db, actor, referral_id, version, *STATION_SIDE)
    text = require_reason(reason, what="取消原因")
    was = referral.status
    referral.status_reason = text
    _move(db, actor, referral, S.CANCELLED, (S.DRAFT, S.SUBMITTED, S.RETURNED, S.APPROVED),
          "取消", note=text)  # fmt: skip
    if was == S.APPROVED:
        release_place(db, referral)
        tell(db, referral, to_charity(db, referral), "cancelled", "已被服务站或民政部门取消。")
    if was != S.DRAFT:
        tell(db, referral, to_office(db, referral), "cancelled", f"已被取消：{text}")
    return referral


def end_for_withdrawn_consent(db: Session, actor: User, household: Household) -> int:
    """A household that withdraws consent leaves every referral: open ones are cancelled,
    the places they hold go back, and charities are told (without the household's details)."""
    referrals = db.scalars(
        sa.select(Referral)
        .join(Need, Need.id == Referral.need_id)
        .where(Need.household_id == household.id, Referral.status.in_(OPEN_REFERRAL_STATES))
    ).all()
    for referral in referrals:
        was = referral.status
        referral.status_reason = "家庭撤回授权"
        _move(db, actor, referral, S.CANCELLED, OPEN_REFERRAL_STATES, "终止", note="家庭撤回授权")
        if was in PLACE_HOLDING_STATES:
            release_place(db, referral)
            tell(db, referral, to_charity(db, referral), "cancelled",
                 "家庭已撤回授权，转介终止，请停止使用该户信息。")  # fmt: skip
    return len(referrals)


# --- sweeps (run by the scheduled jobs) ---------------------------------------------------


def expire_unanswered(db: Session, now: dt.datetime) -> int:
    """Approved referrals the charity left unanswered past the project's response deadline
    expire: the place is released and the need goes back to the station to choose again."""
    due = db.scalars(
        sa.select(Referral)
        .where(Referral.status == S.APPROVED, Referral.due_at < now)
        .order_by(Referral.id)
    ).all()
    expired = 0
    for referral in due:
        savepoint = db.begin_nested()
        try:
            _move(db, None, referral, S.EXPIRED, (S.APPROVED,), "超时",
                  note="慈善组织逾期未答复")  # fmt: skip
        except Conflict:
            savepoint.rollback()  # answered meanwhile: the charity's answer stands
            continue
        release_place(db, referral)
        tell(db, referral, to_station(db, referral) + to_office(db, referral), "expired",
             "慈善组织逾期未答复，已超时退回，请另选项目。")  # fmt: skip
        tell(db, referral, to_charity(db, referral), "expired", "逾期未答复，已超时关闭。")
        savepoint.commit()
        expired += 1
    return expired


def flag_overdue(db: Session, now: dt.datetime, days: int) -> int:
    """Tell the approving office about referrals a charity has left silent more than
    ``days`` days (once each)."""
    silent = db.scalars(
        sa.select(Referral).where(
            Referral.status == S.APPROVED,
            Referral.approved_at < now - dt.timedelta(days=days),
            Referral.overdue_flagged_at.is_(None),
        )
    ).all()
    for referral in silent:
        referral.overdue_flagged_at = now
        tell(db, referral, to_office(db, referral), "overdue",
             f"慈善组织已超过 {days} 天未答复，请督促。")  # fmt: skip
    db.flush()
    return len(silent)


# --- batch approval -----------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOutcome:
    id: int
    ok: bool
    status: str | None = None
    code: str | None = None
    message: str | None = None


def approve_many(
    db: Session, actor: User, items: list[tuple[int, int | None]], *, now: dt.datetime | None = None
) -> list[BatchOutcome]:
    """Approve several referrals; each succeeds or fails on its own (a savepoint each)."""
    require_party(actor, Role.CIVIL_AFFAIRS)
    outcomes = []
    for referral_id, version in items:
        savepoint = db.begin_nested()
        try:
            referral = approve_referral(db, actor, referral_id, version=version, now=now)
        except ServiceError as error:
            savepoint.rollback()
            outcomes.append(
                BatchOutcome(referral_id, False, code=error.code, message=error.message)
            )
        else:
            savepoint.commit()
            outcomes.append(BatchOutcome(referral_id, True, status=referral.status.value))
    return outcomes


def submit_warnings(
    db: Session, actor: User, referral: Referral
) -> list[tuple[str, str, ReferralStatus]]:
    """Other charities already holding a place for the referral's need — (organization,
    project, status) each — for whoever may still submit it (the station side, while it is a
    draft or returned); submitting then asks for an acknowledgement. Nobody else is told."""
    if "submit" not in steps_open_to(actor, referral):
        return []
    return helping_elsewhere(db, referral)

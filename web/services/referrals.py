"""Referrals (转介): a station proposes a project for a need, civil-affairs staff approve, the
charity accepts and delivers.

Every step is one function here. Each checks the actor's role and scope (a referral the actor
may not see is simply not found), refuses a stale version and a step the current state does
not allow, moves the state, writes a timeline event and an audit record, keeps the need's
status and the project's places in step, and tells the next party.

Places are reserved with one conditional ``UPDATE`` (``quota_used < quota``), so two approvals
racing for the last place cannot both win; a referral's own row is guarded by its version
column, so two conflicting steps on one referral cannot both land.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from models import (
    BackReferral,
    GovAid,
    Household,
    Need,
    Organization,
    Project,
    Referral,
    ReferralEvent,
    Region,
    ServiceEpisode,
    User,
    utcnow,
)
from models.enums import (
    ACTIVE_REFERRAL_STATES,
    BEFORE_CHARITY_STATES,
    CHARITY_SEES_HOUSEHOLD_STATES,
    ENGAGED_STATES,
    OPEN_REFERRAL_STATES,
    PLACE_HOLDING_STATES,
    SETTLED_NEED_STATES,
    BackReferralStatus,
    DeclineReason,
    Domain,
    GovAidType,
    NeedStatus,
    ProjectStatus,
    ReferralStatus,
    Role,
    ServiceType,
    Urgency,
)
from models.regions import descendant_range

from .audit import write_audit
from .crypto import cipher_of
from .errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from .needs import get_need
from .notifications import notify, office_users, organization_users, station_users
from .regions import region_label
from .scoping import require_role, scoped

S = ReferralStatus

STATION_SIDE = (Role.STATION_STAFF, Role.CIVIL_AFFAIRS)


class StaleVersion(Conflict):
    code = "stale_version"
    default_message = "该转介已被他人更新，请刷新页面后重试。"


class QuotaExhausted(Conflict):
    code = "quota_exhausted"
    default_message = "该项目名额（或资金）已用完，不能批准。请退回，由服务站另选项目。"


class AlreadyHelped(Conflict):
    code = "already_helped"


# --- reading -------------------------------------------------------------------------------


def _load(db: Session, actor: User, referral_id: int) -> Referral:
    referral = db.scalar(
        scoped(sa.select(Referral).where(Referral.id == referral_id), actor).options(
            selectinload(Referral.events), selectinload(Referral.episodes)
        )
    )
    if referral is None:
        raise NotFound("转介不存在或您无权查看。")
    return referral


def get_referral(db: Session, actor: User, referral_id: int) -> Referral:
    """One referral the actor may see (404 otherwise); the read is audited."""
    referral = _load(db, actor, referral_id)
    write_audit(
        db, actor, "referral.read", referral, region_code=referral.need.household.region_code
    )
    return referral


@dataclass(frozen=True)
class ReferralFilter:
    status: tuple[ReferralStatus, ...] = ()
    urgency: Urgency | None = None
    domain: Domain | None = None
    region_code: str | None = None
    project_id: int | None = None


#: What each box shows by default.
BOXES: dict[str, tuple[ReferralStatus, ...]] = {
    "queue": (S.SUBMITTED,),
    "inbox": (S.APPROVED, S.ACCEPTED, S.IN_SERVICE),
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
        detail={"count": len(rows), "status": [s.value for s in filters.status]},
    )  # fmt: skip
    return list(rows)


def referral_summaries(db: Session, actor: User, referrals: list[Referral]) -> list[dict[str, Any]]:
    """One line per referral for lists and queues (loaded by :func:`list_referrals`); a
    charity's lines carry no household name."""
    townships = {r.need.household.region_code[:9] + "000" for r in referrals}
    names = dict(
        db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(townships))).all()
    )
    charity = actor.role == Role.CHARITY_STAFF
    lines = []
    for r in referrals:
        need, household = r.need, r.need.household
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
    return STEPS.get(actor.role, {}).get(referral.status, ())


def _require(actor: User, *roles: Role) -> None:
    """The workflow's parties only: unlike elsewhere, an administrator is not one."""
    if actor.role not in roles:
        raise Forbidden("您的角色不能执行这一步。")


def _check_version(referral: Referral, version: int | None) -> None:
    if version is not None and version != referral.version:
        raise StaleVersion()


def _open(
    db: Session, actor: User, referral_id: int, version: int | None, *roles: Role
) -> Referral:
    """The referral a step acts on: the actor's role may take the step, the referral is in
    the actor's scope (404 otherwise), and the caller read its current version."""
    _require(actor, *roles)
    referral = _load(db, actor, referral_id)
    _check_version(referral, version)
    return referral


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
    version check happens now (a concurrent change makes this raise :class:`StaleVersion`)."""
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
    _sync_need(db, referral)


def _sync_need(db: Session, referral: Referral) -> None:
    """The need's status follows its referrals: fulfilled once one is completed, in service
    while one is, referred while one is on its way, open again when none is."""
    need = referral.need
    if need.status in SETTLED_NEED_STATES:
        return
    statuses = set(db.scalars(sa.select(Referral.status).where(Referral.need_id == need.id)))
    if S.COMPLETED in statuses:
        need.status = NeedStatus.FULFILLED
    elif S.IN_SERVICE in statuses:
        need.status = NeedStatus.IN_SERVICE
    elif statuses & set(ACTIVE_REFERRAL_STATES):
        need.status = NeedStatus.REFERRED
    else:
        need.status = NeedStatus.OPEN


def _link(referral: Referral) -> str:
    return f"/referrals/{referral.id}"


def _describe(referral: Referral) -> str:
    need = referral.need
    urgent = "【急难】" if need.urgency == Urgency.URGENT else ""
    simplified = "【简化程序】" if referral.is_simplified else ""
    project = referral.project
    return f"{urgent}{simplified}转介 {referral.id}（{need.domain.label}·{project.name}）"


def _tell(db: Session, referral: Referral, who: list[int], kind: str, text: str) -> None:
    notify(db, who, kind, f"{_describe(referral)}{text}", referral_id=referral.id,
           link=_link(referral))  # fmt: skip


def _to_station(db: Session, referral: Referral) -> list[int]:
    return station_users(db, referral.need.household.station_id)


def _to_office(db: Session, referral: Referral) -> list[int]:
    people = office_users(db, referral.need.household.region_code)
    if referral.approved_by_id is not None:
        people.append(referral.approved_by_id)
    return people


def _to_charity(db: Session, referral: Referral) -> list[int]:
    return organization_users(db, referral.project.organization_id)


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
    _require(actor, *STATION_SIDE)
    need = get_need(db, actor, need_id)
    project = db.get(Project, project_id)
    if project is None or project.status != ProjectStatus.VERIFIED:
        raise NotFound("项目不存在或已不在台账中。")
    _require_unsettled(need)
    _require_consent(need.household, "发起转介。请先记录授权")
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


def _require_unsettled(need: Need) -> None:
    if need.status in SETTLED_NEED_STATES:
        raise Conflict(f"该需求已{need.status.label}，不能再转介。")


def _require_consent(household: Household, step: str) -> None:
    if not household.has_consent:
        raise Conflict(f"该户尚未授权（或已撤回授权），不能{step}。")


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
    referral = _open(db, actor, referral_id, version, *STATION_SIDE)
    if referral.status in (S.DRAFT, S.RETURNED):
        _require_unsettled(referral.need)
        _require_consent(referral.need.household, "提交转介，请先在家庭页面记录授权")
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
    _tell(db, referral, _to_office(db, referral), "submitted", "待审批。")
    return referral


def _reserve_amount(project: Project, need: Need) -> int:
    amounts = [a for a in (project.amount_per_beneficiary_fen, need.amount_gap_fen) if a]
    return min(amounts) if amounts else 0


def _reserve(db: Session, referral: Referral, today: dt.date) -> None:
    """Take one place (and the amount) of the project, atomically, or refuse."""
    project = referral.project
    amount = _reserve_amount(project, referral.need)
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
    ).rowcount  # type: ignore[attr-defined]
    db.expire(project, ["quota_used", "reserved_fen", "updated_at"])
    if taken != 1:
        raise QuotaExhausted()
    referral.reserved_amount_fen = amount


def _release(db: Session, referral: Referral) -> None:
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
            Project.ends_on >= dt.date.today(),
            Project.quota_used < Project.quota,
        )
        .values(status=ProjectStatus.VERIFIED)
        .execution_options(synchronize_session=False)
    )
    db.expire(referral.project, ["quota_used", "reserved_fen", "updated_at", "status"])
    referral.reserved_amount_fen = None


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

    :raise QuotaExhausted: no place (or money) left.
    """
    now = now or utcnow()
    referral = _open(db, actor, referral_id, version, Role.CIVIL_AFFAIRS)
    project = referral.project
    if referral.status == S.SUBMITTED:
        _require_unsettled(referral.need)
        _require_consent(referral.need.household, "批准")
        if project.status != ProjectStatus.VERIFIED or project.ends_on < now.date():
            raise Conflict("该项目已到期或已不在台账中，不能批准。请退回，由服务站另选项目。")
    referral.approved_at = now
    referral.approved_by_id = actor.id
    referral.is_simplified = project.accepts_simplified
    referral.due_at = now + dt.timedelta(days=project.response_days)
    # The referral row first: a concurrent change of it fails here, before any place is taken.
    _move(db, actor, referral, S.APPROVED, (S.SUBMITTED,), "批准",
          detail={"simplified": referral.is_simplified})  # fmt: skip
    _reserve(db, referral, now.date())
    flag = "（简化程序，可直接接收）" if referral.is_simplified else ""
    days = project.response_days
    _tell(db, referral, _to_charity(db, referral), "approved",
          f"已由民政部门批准转介给贵组织{flag}，请在 {days} 天内答复。")  # fmt: skip
    _tell(db, referral, _to_station(db, referral), "approved", "已批准，等待慈善组织接收。")
    return referral


def _reason(value: str | None, field: str = "reason", what: str = "原因") -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(fields={field: [f"请填写{what}。"]})
    return text


def return_referral(
    db: Session, actor: User, referral_id: int, reason: str | None, *, version: int | None = None
) -> Referral:
    """Send a submitted referral back to the station, saying why."""
    referral = _open(db, actor, referral_id, version, Role.CIVIL_AFFAIRS)
    text = _reason(reason, what="退回原因")
    referral.status_reason = text
    _move(db, actor, referral, S.RETURNED, (S.SUBMITTED,), "退回", note=text)
    _tell(db, referral, _to_station(db, referral), "returned", f"被退回：{text}")
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
    referral = _open(db, actor, referral_id, version, Role.CHARITY_STAFF)
    if referral.status == S.APPROVED:
        _require_consent(referral.need.household, "接收")
    referral.answered_at = now or utcnow()
    _move(db, actor, referral, S.ACCEPTED, (S.APPROVED,), "接收")
    _tell(db, referral, _to_station(db, referral) + _to_office(db, referral), "accepted",
          "已被慈善组织接收。")  # fmt: skip
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
    referral = _open(db, actor, referral_id, version, Role.CHARITY_STAFF)
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
    _release(db, referral)
    said = reason.label + (f"：{text}" if text else "")
    _tell(db, referral, _to_station(db, referral) + _to_office(db, referral), "declined",
          f"被慈善组织婉拒（{said}），请另选项目。")  # fmt: skip
    return referral


def start_service(
    db: Session,
    actor: User,
    referral_id: int,
    *,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    referral = _open(db, actor, referral_id, version, Role.CHARITY_STAFF)
    referral.started_at = now or utcnow()
    _move(db, actor, referral, S.IN_SERVICE, (S.ACCEPTED,), "开始服务")
    _tell(db, referral, _to_station(db, referral), "in_service", "已开始帮扶服务。")
    return referral


@dataclass(frozen=True)
class EpisodeInput:
    on: dt.date
    kind: ServiceType
    quantity: int = 1
    unit: str = "次"
    value_fen: int = 0
    note: str | None = None


def add_episode(
    db: Session, actor: User, referral_id: int, data: EpisodeInput, *, today: dt.date
) -> ServiceEpisode:
    """Log one visit, session or class delivered while the referral is in service."""
    referral = _open(db, actor, referral_id, None, Role.CHARITY_STAFF)
    if referral.status != S.IN_SERVICE:
        raise Conflict(f"该转介当前为“{referral.status.label}”，只有服务中的转介可以登记服务记录。")
    errors: dict[str, list[str]] = {}
    if data.on > today:
        errors["on"] = ["服务日期不能晚于今天。"]
    if referral.started_at is not None and data.on < referral.started_at.date() - dt.timedelta(
        days=1
    ):
        errors["on"] = ["服务日期不能早于开始服务的日期。"]
    if data.quantity < 1:
        errors["quantity"] = ["数量至少为 1。"]
    if data.value_fen < 0:
        errors["value_fen"] = ["金额不能为负数。"]
    if errors:
        raise ValidationFailed(fields=errors)
    episode = ServiceEpisode(
        referral_id=referral.id, on=data.on, kind=data.kind, quantity=data.quantity,
        unit=(data.unit or "次").strip()[:16] or "次", value_fen=data.value_fen,
        note=(data.note or "").strip() or None, created_by_id=actor.id,
    )  # fmt: skip
    db.add(episode)
    db.flush()
    write_audit(
        db, actor, "referral.episode", referral,
        region_code=referral.need.household.region_code,
        detail={"kind": data.kind.value, "quantity": data.quantity, "value_fen": data.value_fen},
    )  # fmt: skip
    return episode


def episode_summary(episodes: list[ServiceEpisode]) -> str:
    """``探访关爱 4 次；心理慰藉 2 次``: what the episodes add up to."""
    totals: Counter[tuple[str, str]] = Counter()
    for e in episodes:
        totals[(e.kind.label, e.unit)] += e.quantity
    return "；".join(f"{kind} {n} {unit}" for (kind, unit), n in totals.items())


def complete_referral(
    db: Session,
    actor: User,
    referral_id: int,
    *,
    delivered_amount_fen: int | None = None,
    delivered_service: str | None = None,
    version: int | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Close the help as delivered: an amount, a description of the service, or the logged
    episodes (which are summed when nothing else is given). The need is then fulfilled."""
    referral = _open(db, actor, referral_id, version, Role.CHARITY_STAFF)
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
    # The project's money follows what was delivered: unspent money goes back, and spending
    # beyond what was held is charged too, so later approvals see the true balance.
    change = (delivered_amount_fen or 0) - (referral.reserved_amount_fen or 0)
    if change:
        db.execute(
            sa.update(Project)
            .where(Project.id == referral.project_id, Project.reserved_fen + change >= 0)
            .values(reserved_fen=Project.reserved_fen + change, updated_at=Project.updated_at)
            .execution_options(synchronize_session=False)
        )
        db.expire(referral.project, ["reserved_fen", "updated_at"])
    _tell(db, referral, _to_station(db, referral) + _to_office(db, referral), "completed",
          "帮扶已完成。")  # fmt: skip
    return referral


def cancel_referral(
    db: Session, actor: User, referral_id: int, reason: str | None, *, version: int | None = None
) -> Referral:
    """Withdraw a referral before the charity has answered; an approved one's place is
    released and the charity told."""
    referral = _open(db, actor, referral_id, version, *STATION_SIDE)
    text = _reason(reason, what="取消原因")
    was = referral.status
    referral.status_reason = text
    _move(db, actor, referral, S.CANCELLED, (S.DRAFT, S.SUBMITTED, S.RETURNED, S.APPROVED),
          "取消", note=text)  # fmt: skip
    if was == S.APPROVED:
        _release(db, referral)
        _tell(db, referral, _to_charity(db, referral), "cancelled", "已被服务站或民政部门取消。")
    if was != S.DRAFT:
        _tell(db, referral, _to_office(db, referral), "cancelled", f"已被取消：{text}")
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
            _release(db, referral)
            _tell(db, referral, _to_charity(db, referral), "cancelled",
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
        _release(db, referral)
        _tell(db, referral, _to_station(db, referral) + _to_office(db, referral), "expired",
              "慈善组织逾期未答复，已超时退回，请另选项目。")  # fmt: skip
        _tell(db, referral, _to_charity(db, referral), "expired", "逾期未答复，已超时关闭。")
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
        _tell(db, referral, _to_office(db, referral), "overdue",
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
    _require(actor, Role.CIVIL_AFFAIRS)
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


# --- minimal disclosure -------------------------------------------------------------------

# Digits may be grouped with spaces or dashes (``137-1924-8651``); full-width ones are made
# plain first.
_HALF_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ－", "0123456789Xx-")
_ID_NUMBER = re.compile(r"(?<!\d)(?:\d[ \t-]?){17}[\dXx](?!\d)|(?<!\d)\d{15}(?!\d)")
_PHONE = re.compile(r"(?<!\d)1[3-9]\d(?:[ \t-]?\d){8}(?!\d)|(?<!\d)0\d{2,3}[ \t-]?\d{7,8}(?!\d)")


def redact(text: str, names: list[str]) -> str:
    """``text`` with ID numbers, phone numbers and the household's names blanked out."""
    text = _ID_NUMBER.sub("＊＊＊", text.translate(_HALF_WIDTH))
    text = _PHONE.sub("＊＊＊", text)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, name[0] + "某")
    return text


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


def episode_view(e: ServiceEpisode) -> dict[str, Any]:
    return {
        "id": e.id, "on": e.on, "kind": e.kind.value, "kind_label": e.kind.label,
        "quantity": e.quantity, "unit": e.unit, "value_fen": e.value_fen, "note": e.note,
    }  # fmt: skip


def referral_view(db: Session, actor: User, referral: Referral, today: dt.date) -> dict[str, Any]:
    """A referral as the actor may see it. Stations and offices see the household's name;
    a charity sees the need, the priority groups, the township and the amount gap only."""
    need = referral.need
    household = need.household
    project = referral.project
    charity = actor.role == Role.CHARITY_STAFF
    names = [household.head_name, *(m.name for m in household.members)]
    events = [
        e for e in referral.events
        if not charity or (e.to_status not in {s.value for s in BEFORE_CHARITY_STATES})
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
        },
        "need": {
            "id": need.id,
            "domain": need.domain.value,
            "domain_label": need.domain.label,
            "urgency": need.urgency.value,
            "amount_gap_fen": need.amount_gap_fen,
            "text": redact(need.text, names) if charity else need.text,
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
                "note": (
                    redact(e.note, names) if e.note and e.to_status == S.DECLINED.value else None
                )
                if charity
                else e.note,
            }
            for e in events
        ],  # fmt: skip
        "episodes": [episode_view(e) for e in referral.episodes],
        "contact_available": charity and referral.status in ENGAGED_STATES,
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
    referral = _open(db, actor, referral_id, None, Role.CHARITY_STAFF)
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


# --- 双向转介 --------------------------------------------------------------------------------


def refer_back(
    db: Session,
    actor: User,
    referral_id: int,
    aid_types: list[GovAidType],
    note: str | None,
) -> BackReferral:
    """A charity tells the civil-affairs office that a household it has met may qualify for
    government aid; it lands in that office's queue."""
    _require(actor, Role.CHARITY_STAFF)
    referral = _load(db, actor, referral_id)
    if referral.status not in CHARITY_SEES_HOUSEHOLD_STATES:
        raise Conflict("接收转介后才能发起双向转介。")
    text = _reason(note, "note", "情况说明")
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
            household = db.get(Household, back.household_id)
            names = [household.head_name, *(m.name for m in household.members)]
            if back.handled_note:
                line["handled_note"] = redact(back.handled_note, names)
        else:
            line.update(household_id=back.household_id, region_code=back.region_code,
                        organization_id=back.organization_id)  # fmt: skip
        lines.append(line)
    return lines


def handle_back_referral(
    db: Session, actor: User, back_id: int, note: str | None, now: dt.datetime | None = None
) -> BackReferral:
    """The office records what it did about a 双向转介 (e.g. 已受理低保申请)."""
    _require(actor, Role.CIVIL_AFFAIRS)
    back = db.scalar(scoped(sa.select(BackReferral).where(BackReferral.id == back_id), actor))
    if back is None:
        raise NotFound("双向转介不存在或您无权处理。")
    text = _reason(note, "note", "处理情况")
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
    ).rowcount  # type: ignore[attr-defined]
    if taken != 1:
        raise Conflict("该双向转介已处理。")
    db.refresh(back)
    write_audit(db, actor, "back_referral.handle", back, region_code=back.region_code,
                detail={"note": text})  # fmt: skip
    return back


# --- one household, one chain ---------------------------------------------------------------


@dataclass(frozen=True)
class ChainEntry:
    on: dt.date
    kind: str  # "gov_aid" | "referral"
    title: str
    detail: str
    status: str | None = None
    referral_id: int | None = None


def household_chain(db: Session, actor: User, household: Household) -> list[ChainEntry]:
    """Every government aid record and every referral of a household, newest first
    (一户一条救助链). The caller has already read the household within scope."""
    require_role(actor, *STATION_SIDE)
    entries = [
        ChainEntry(
            on=aid.period_start_on,
            kind="gov_aid",
            title=aid.aid_type.label,
            detail=f"{aid.amount_fen / 100:,.2f} 元" + (f" · {aid.note}" if aid.note else ""),
        )  # fmt: skip
        for aid in db.scalars(sa.select(GovAid).where(GovAid.household_id == household.id))
    ]
    rows = db.execute(
        sa.select(Referral, Project.name, Need.domain)
        .join(Project, Project.id == Referral.project_id)
        .join(Need, Need.id == Referral.need_id)
        .where(Need.household_id == household.id)
    ).all()
    for referral, project_name, domain in rows:
        delivered = (
            f" · 已帮扶 {referral.delivered_amount_fen / 100:,.2f} 元"
            if referral.delivered_amount_fen else ""
        )  # fmt: skip
        entries.append(
            ChainEntry(
                on=(referral.submitted_at or referral.created_at).date(),
                kind="referral",
                title=f"转介：{project_name}",
                detail=f"{Domain(domain).label}{delivered}",
                status=referral.status.label,
                referral_id=referral.id,
            )  # fmt: skip
        )
    return sorted(entries, key=lambda e: e.on, reverse=True)

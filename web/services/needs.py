"""Needs (帮扶需求) and each station's worklist of needs government aid leaves uncovered."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from more_itertools import chunked
from sqlalchemy.orm import Session, contains_eager, joinedload

from models import GovAid, Household, Need, NeedEvent, Referral, Station, User, clock
from models.enums import (
    ACTIVE_REFERRAL_STATES,
    AWAITING_NEED_STATES,
    OPEN_REFERRAL_STATES,
    SETTLED_NEED_STATES,
    Domain,
    HouseholdStatus,
    NeedStatus,
    ReferralStatus,
    Role,
    Urgency,
)

from .audit import write_audit
from .contracts import NEED, field_problems
from .errors import Archived, Conflict, NotFound, ValidationFailed
from .notifications import notify, office_users
from .public_text import summary_problems
from .scoping import require_role, scoped
from .stations import station_for

#: The status changes people make by hand, each named as the action it is; the other moves
#: (referred, in service, partly or wholly met by a referral) follow the need's referrals.
#: Closing and reopening need a reason.
ACTIONS: dict[str, tuple[NeedStatus, frozenset[NeedStatus]]] = {
    "close": (NeedStatus.CLOSED, frozenset(
        {NeedStatus.OPEN, NeedStatus.REFERRED, NeedStatus.IN_SERVICE, NeedStatus.PARTIAL})),
    # Help that came another way, or the household's situation changed.
    "fulfil": (NeedStatus.FULFILLED, frozenset(
        {NeedStatus.OPEN, NeedStatus.REFERRED, NeedStatus.IN_SERVICE, NeedStatus.PARTIAL})),
    "reopen": (NeedStatus.OPEN, frozenset({NeedStatus.CLOSED})),
}  # fmt: skip

#: How each action is named on the need's row.
ACTION_LABELS = {"close": "关闭需求", "fulfil": "确认已满足", "reopen": "重新打开"}

#: Which status may follow which by hand (the API's ``status``), derived from the actions.
NEXT_STATUS: dict[NeedStatus, set[NeedStatus]] = {
    status: {to for to, sources in ACTIONS.values() if status in sources} for status in NeedStatus
}

#: Aid records count as "current" when they ran within this many days.
AID_WINDOW_DAYS = 365


def require_live_need(need: Need) -> None:
    """An archived need takes no change: no status, no summary, no new referral.

    :raise Archived: the need was archived (HTTP 409).
    """
    if need.archived_at is not None:
        on = clock.local_date(need.archived_at).isoformat()
        raise Archived(f"该需求已归档，只读（{on} 归档）。")


_household = joinedload(Need.household)
# What get_need loads beside the need, built once. With the profile, the need's member is
# found among the household's, by its key.
_WITH_PROFILE = (_household.joinedload(Household.members), _household.joinedload(Household.gov_aid))
_WITH_MEMBER = (_household, joinedload(Need.member))


def get_need(db: Session, actor: User, need_id: int, *, with_profile: bool = False) -> Need:
    """The need, if the actor may see it (read on record); ``with_profile`` loads the
    household's members and aid in the same round trip (what matching reads)."""
    options = _WITH_PROFILE if with_profile else _WITH_MEMBER
    need = (
        db.execute(scoped(sa.select(Need).where(Need.id == need_id), actor).options(*options))
        .unique()
        .scalar_one_or_none()
    )
    if need is None:
        raise NotFound("需求不存在或您无权查看。")
    write_audit(db, actor, "need.read", need, region_code=need.household.region_code)
    return need


def mark_gains_seen(db: Session, actor: User, need: Need) -> None:
    """The station's staff opened the need's matches: the projects a re-match found for it
    (``web.services.rematch``) are no longer new. Others looking (the county office) leave
    the mark for the station. The need's last change stays as it was."""
    if actor.role != Role.STATION_STAFF or not (need.gained_project_ids or need.gained_at):
        return
    db.execute(
        sa.update(Need)
        .where(Need.id == need.id)
        .values(gained_project_ids=[], gained_at=None, updated_at=need.updated_at)
        .execution_options(synchronize_session=False)
    )
    db.expire(need, ["gained_project_ids", "gained_at", "updated_at"])


def list_needs(
    db: Session,
    actor: User,
    *,
    household_id: int | None = None,
    status: NeedStatus | None = None,
    domain: Domain | None = None,
    gained: bool | None = None,
    limit: int = 200,
) -> list[Need]:
    """The needs of the households the actor may see, newest first; ``gained`` True keeps
    those a re-match found new suitable projects for that the station has not opened yet
    (False: the others)."""
    stmt = scoped(sa.select(Need), actor).options(joinedload(Need.household))
    if household_id is not None:
        stmt = stmt.where(Need.household_id == household_id)
    if status is not None:
        stmt = stmt.where(Need.status == status)
    if domain is not None:
        stmt = stmt.where(Need.domain == domain)
    if gained is not None:
        stmt = stmt.where(Need.gained_at.is_not(None) if gained else Need.gained_at.is_(None))
    needs = list(db.scalars(stmt.order_by(Need.id.desc()).limit(limit)))
    write_audit(
        db, actor, "need.list", region_code=actor.region_code,
        detail={"household_id": household_id, "count": len(needs),
                "households": sorted({n.household_id for n in needs})},
    )  # fmt: skip
    return needs


def actions_for(actor: User, need: Need) -> list[str]:
    """The hand actions (``ACTIONS`` keys) the actor may take on the need as it stands."""
    if actor.role not in (Role.STATION_STAFF, Role.CIVIL_AFFAIRS) or need.archived_at is not None:
        return []
    return [name for name, (_to, sources) in ACTIONS.items() if need.status in sources]


def record_need_status(
    db: Session, actor: User | None, need: Need, status: NeedStatus, reason: str | None = None
) -> None:
    """Move the need to ``status`` and keep it in the need's history (nothing if unchanged)."""
    if need.status == status:
        return
    need.events.append(
        NeedEvent(
            actor_id=actor.id if actor else None,
            from_status=need.status.value if need.status else None,
            to_status=status.value,
            reason=reason,
        )
    )
    need.status = status


def status_from_referrals(db: Session, need: Need) -> NeedStatus:
    """What the need's referrals make of it, updating what they delivered: met once completed
    ones cover the gap (or delivered a service with no amount), in service or referred while
    one is under way, 部分满足 when completed ones left part of the gap, else open."""
    rows = db.execute(
        sa.select(Referral.status, Referral.delivered_amount_fen).where(Referral.need_id == need.id)
    ).all()
    statuses = {status for status, _amount in rows}
    completed = [amount for status, amount in rows if status == ReferralStatus.COMPLETED]
    need.delivered_fen = sum(amount or 0 for amount in completed)
    gap = need.amount_gap_fen
    if completed and (gap is None or need.delivered_fen >= gap or None in completed):
        return NeedStatus.FULFILLED
    if ReferralStatus.IN_SERVICE in statuses:
        return NeedStatus.IN_SERVICE
    if statuses & set(ACTIVE_REFERRAL_STATES):
        return NeedStatus.REFERRED
    return NeedStatus.PARTIAL if completed else NeedStatus.OPEN


def follow_referrals(db: Session, actor: User | None, need: Need) -> None:
    """Bring an unsettled need's status in line with its referrals (see
    :func:`status_from_referrals`); a fulfilled or closed need no longer follows them."""
    status = status_from_referrals(db, need)  # keeps what was delivered up to date
    if need.status not in SETTLED_NEED_STATES:
        record_need_status(db, actor, need, status)


def set_need_status(
    db: Session, actor: User, need_id: int, status: NeedStatus, reason: str | None = None
) -> Need:
    """Close a need (with a reason), confirm it met, or reopen a closed one (with a reason).

    Reopening brings it back as 部分满足 when part of its gap was already delivered. The
    change is kept in the need's history and the audit log.

    :raise Conflict: 已转介 or 帮扶中 asked for by hand (only a referral sets them), or a move
        the workflow does not allow.
    :raise ValidationFailed: closing or reopening without a reason.
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    need = get_need(db, actor, need_id)
    require_live_need(need)
    if status in (NeedStatus.REFERRED, NeedStatus.IN_SERVICE, NeedStatus.PARTIAL):
        raise Conflict(
            f"“{status.label}”由转介自动设置，不能手工修改：请在匹配结果中选择项目发起转介。"
        )
    if status not in NEXT_STATUS[need.status]:
        raise Conflict(f"需求不能从“{need.status.label}”改为“{status.label}”。")
    text = (reason or "").strip() or None
    if status == NeedStatus.CLOSED and text is None:
        raise ValidationFailed(fields={"reason": ["关闭需求须说明原因。"]})
    was = need.status
    if was == NeedStatus.CLOSED and text is None:
        raise ValidationFailed(fields={"reason": ["重新打开需求须说明原因。"]})
    if status == NeedStatus.OPEN:
        status = status_from_referrals(db, need)
    record_need_status(db, actor, need, status, text)
    need.close_reason = text if status == NeedStatus.CLOSED else None
    write_audit(
        db, actor, "need.reopen" if was == NeedStatus.CLOSED else "need.status", need,
        region_code=need.household.region_code,
        detail={"from": was.value, "status": status.value, "reason": text},
    )  # fmt: skip
    return need


def update_need_summary(db: Session, actor: User, need_id: int, summary: str) -> Need:
    """Write or confirm the need's 对外情况说明, the only text about it a charity reads
    before it accepts a referral.

    :raise ValidationFailed: empty, too long, or carrying anything that identifies the
        household (numbers, names, addresses, account ids; the message names what was found).
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    need = get_need(db, actor, need_id)
    require_live_need(need)
    summary = (summary or "").strip()
    errors = field_problems(NEED, {"text": need.text, "public_summary": summary})
    if not summary:
        errors["public_summary"] = ["请填写对外情况说明。"]
    errors.update(summary_problems(db, need.household, summary))
    if errors:
        raise ValidationFailed(fields=errors)
    need.public_summary = summary
    write_audit(db, actor, "need.public_summary", need, region_code=need.household.region_code)
    return need


@dataclass(frozen=True)
class WorklistItem:
    need: Need
    waiting_days: int
    outside_gov_aid: bool
    aid_below_expenses: bool
    aid_fen: int
    rigid_expenses_fen: int


@dataclass(frozen=True)
class Worklist:
    station: Station
    items: list[WorklistItem]
    by_domain: dict[str, int]
    outside_gov_aid: int
    aid_below_expenses: int
    #: Needs a re-match found new suitable projects for, not yet opened by the station.
    gained: int = 0
    #: The list holds only those (the 有新的合适项目 filter).
    only_gained: bool = False


def worklist(
    db: Session,
    actor: User,
    station_id: int | None,
    today: dt.date,
    limit: int = 500,
    *,
    only_gained: bool = False,
) -> Worklist:
    """The needs of one station waiting for a referral (open, or partly met with part of the
    gap left), urgent first then longest waiting, each flagged where the
    household gets no government aid or where the aid is below its rigid expenses.
    ``only_gained`` lists only the needs a re-match found new suitable projects for (the
    counts stay those of every waiting need).

    Aid totals are summed in SQL; only the listed needs are loaded.
    """
    station = station_for(db, actor, station_id)
    since = today - dt.timedelta(days=AID_WINDOW_DAYS)
    # A correlated sum per household (an index look-up each), so the plan does not depend on
    # table statistics and never aggregates other stations' aid.
    aid_fen = (
        sa.select(sa.func.coalesce(sa.func.sum(GovAid.amount_fen), 0))
        .where(
            GovAid.household_id == Household.id,
            GovAid.period_start_on <= today,
            sa.or_(GovAid.period_end_on.is_(None), GovAid.period_end_on >= since),
        )
        .correlate(Household)
        .scalar_subquery()
    )
    rigid = Household.medical_expense_fen + Household.education_expense_fen
    # One read of every waiting need's few facts (a few thousand rows at the largest station)
    # gives the order, the counts and the flags; then only the listed needs are loaded. Four
    # reads of the same rows took 150 ms at a station of 1,905 households on PostgreSQL.
    urgent_first = sa.case((Need.urgency == Urgency.URGENT, 0), else_=1)
    rows = db.execute(
        sa.select(
            Need.id, Need.domain, urgent_first, Need.created_at, Need.gained_at, aid_fen, rigid
        )
        .join(Household, Household.id == Need.household_id)
        .where(
            Household.station_id == station.id,
            Household.status == HouseholdStatus.ACTIVE,
            Need.status.in_(AWAITING_NEED_STATES),
        )
    ).all()
    facts = sorted(rows, key=lambda f: (f[2], f[3], f[0]))  # urgent first, longest waiting
    listed = [f for f in facts if f[4] is not None] if only_gained else facts
    page = listed[:limit]
    needs = {
        need.id: need
        for ids in chunked([f[0] for f in page], 5_000)
        for need in db.scalars(
            sa.select(Need)
            .join(Household, Household.id == Need.household_id)
            .options(contains_eager(Need.household))
            .where(Need.id.in_(ids))
        )
    }
    items = [
        WorklistItem(
            need=needs[need_id],
            waiting_days=(today - clock.local_date(created_at)).days,
            outside_gov_aid=aid_total == 0,
            aid_below_expenses=0 < aid_total < rigid_total,
            aid_fen=aid_total,
            rigid_expenses_fen=rigid_total,
        )
        for need_id, _d, _u, created_at, _g, aid_total, rigid_total in page
    ]
    by_domain: dict[str, int] = defaultdict(int)
    for fact in facts:
        by_domain[Domain(fact[1]).value] += 1
    flags = (
        sum(1 for f in facts if f[5] == 0),
        sum(1 for f in facts if 0 < f[5] < f[6]),
    )
    gained = sum(1 for f in facts if f[4] is not None)
    shown = sorted({i.need.household_id for i in items})
    write_audit(
        db, actor, "needs.worklist", station, detail={"items": len(items), "households": shown}
    )
    return Worklist(station, items, dict(by_domain), flags[0], flags[1], gained, only_gained)


# --- needs left waiting: raised daily with their station and county office ------------

#: Days a need may stay open without a referral before it is raised (the ``STALE_NEED_DAYS``
#: setting's default).
STALE_NEED_DAYS = 30


@dataclass(frozen=True)
class StaleNeeds:
    """What one day's reminder found (the job run keeps these as its counts)."""

    needs: int
    stations: int


def alert_stale_needs(db: Session, now: dt.datetime, days: int = STALE_NEED_DAYS) -> StaleNeeds:
    """Tell each station how many of its active households' needs have been open for more
    than ``days`` days with no referral under way, and each county office how many lie in
    its area (one notification each, with the count)."""
    cutoff = now - dt.timedelta(days=days)
    referred = sa.select(Referral.need_id).where(Referral.status.in_(OPEN_REFERRAL_STATES))
    rows = db.execute(
        sa.select(Station.id, Station.region_code, sa.func.count(Need.id))
        .select_from(Need)
        .join(Household, Household.id == Need.household_id)
        .join(Station, Station.id == Household.station_id)
        .where(
            Need.status.in_(AWAITING_NEED_STATES),
            Household.status == HouseholdStatus.ACTIVE,
            Need.created_at < cutoff,
            Need.id.notin_(referred),
        )
        .group_by(Station.id, Station.region_code)
    ).all()
    by_office: dict[tuple[int, ...], int] = defaultdict(int)
    for station_id, region_code, count in rows:
        users = db.scalars(sa.select(User.id).where(User.station_id == station_id, User.is_active))
        notify(db, users, "stale_needs",
               f"有 {count} 项需求已等待超过 {days} 天仍未转介，请查找匹配项目或转报县级民政部门。",
               link="/worklist")  # fmt: skip
        by_office[tuple(office_users(db, region_code))] += count
    for office, count in by_office.items():
        notify(db, office, "stale_needs",
               f"辖区内有 {count} 项需求等待超过 {days} 天仍未转介。")  # fmt: skip
    return StaleNeeds(needs=sum(count for _s, _r, count in rows), stations=len(rows))

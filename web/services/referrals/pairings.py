"""结对帮扶 (pairings): a referral whose help is a person — a volunteer, a social worker, an
爱心妈妈 of the charity — paired with one member of the household for a period, with a visit
plan (visits a month, e.g. 2). The visits are the referral's service episodes of the kinds in
:data:`VISIT_KINDS`, logged as any episode is; each such episode is one visit, whatever its
quantity (which counts hours or sessions within it).

The charity answering the referral sets the pairing up once it has accepted (accepted or in
service), one per referral, and may end it early with a date and a reason; the household's
station is told of both. The station and the offices covering the household read it as the
charity does; anyone else finds nothing (404).

Every month the pairing covers is compared with its plan. A partial month (the pairing starts
or ends within it) expects its share of the plan, rounded down: 2 visits a month from the
10th of a 30-day month expects 1, from the 20th none. A month is judged once it is over and
:data:`GRACE_DAYS` more have passed, so visits logged a few days late still count; one with
fewer visits than it expects is raised once with the charity and the station by
:func:`raise_missed_visits` (the daily ``overdue_referrals`` job), and kept in
``pairing_alerts`` so that a second run raises nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from models import Pairing, PairingAlert, Referral, ServiceEpisode, User, clock, utcnow
from models.enums import ENGAGED_STATES, CompanionRole, ReferralStatus, ServiceType

from ..audit import write_audit
from ..contracts import FieldRule, field_problems
from ..errors import Conflict, NotFound, ValidationFailed
from .guards import load_referral, provides, referral_for_provider, sees_as_provider
from .notices import tell, to_charity, to_station

S = ReferralStatus

#: The episodes that count as a visit of the companion.
VISIT_KINDS = (ServiceType.VISITING_CARE, ServiceType.PSYCHOLOGICAL_COMFORT)
#: Days after a month ends before it is judged: visits are often logged a few days late.
GRACE_DAYS = 5
#: How many months back the daily job looks: a pause of the scheduler is caught up, a pairing
#: recorded long after it began is not flooded with alerts for months nobody can mend.
LOOKBACK_MONTHS = 3
#: The longest pairing, in days (about five years): a longer one is a typing slip.
MAX_SPAN_DAYS = 5 * 366
#: The most visits a month a plan may name.
MAX_VISITS_PER_MONTH = 31
#: The referral states whose pairing is still counted against its plan.
COUNTED_STATES = (*ENGAGED_STATES, S.COMPLETED)

#: What setting up a pairing takes, for the form, the API schema and the service alike.
PAIRING: dict[str, FieldRule] = {
    "companion_name": FieldRule("结对人姓名", "text", required=True, max_length=64,
                                required_message="请填写结对人姓名。"),
    "companion_role": FieldRule("结对人身份", "choice", required=True,
                                required_message="请选择结对人身份。", vocabulary=CompanionRole),
    "member_id": FieldRule("结对对象", "int", required=True,
                           required_message="请选择与之结对的家庭成员。"),
    "starts_on": FieldRule("开始日期", "date", required=True),
    "ends_on": FieldRule("结束日期", "date", required=True),
    "visits_per_month": FieldRule("每月探访次数", "int", required=True, min_value=1,
                                  max_value=MAX_VISITS_PER_MONTH,
                                  required_message="请填写每月计划探访几次。"),
    "note": FieldRule("结对说明", "text", max_length=500),
}  # fmt: skip
#: What ending a pairing early takes.
PAIRING_END: dict[str, FieldRule] = {
    "ended_on": FieldRule("结束日期", "date", required=True,
                          required_message="请填写结对结束的日期。"),
    "reason": FieldRule("提前结束原因", "text", required=True, max_length=500,
                        required_message="请填写提前结束的原因。"),
}  # fmt: skip


@dataclass(frozen=True)
class PairingInput:
    companion_name: str | None
    companion_role: CompanionRole | None
    member_id: int | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    visits_per_month: int | None
    note: str | None = None


@dataclass(frozen=True)
class PairingEndInput:
    ended_on: dt.date | None
    reason: str | None


@dataclass(frozen=True)
class MonthTally:
    """One calendar month of a pairing: the days it covers, the visits it expects and saw."""

    month: dt.date  # its first day
    first_on: dt.date  # the first day the pairing covers
    last_on: dt.date  # the last day the pairing covers
    planned: int
    visits: int
    #: The month (as far as the pairing covers it) is over.
    is_over: bool
    #: Over, and the grace days after it too: it may be raised.
    is_judged: bool

    @property
    def is_short(self) -> bool:
        return self.is_over and self.visits < self.planned


# --- the calendar --------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: dt.date) -> dt.date:
    return month_end(day) + dt.timedelta(days=1)


def months_before(day: dt.date, count: int) -> dt.date:
    """The first day of the month ``count`` months before ``day``'s."""
    index = day.year * 12 + day.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def planned_visits(visits_per_month: int, first_on: dt.date, last_on: dt.date) -> int:
    """Visits the plan expects from ``first_on`` to ``last_on`` within one month: the whole
    plan for a whole month, its share of the days for a partial one, rounded down."""
    days_in_month = calendar.monthrange(first_on.year, first_on.month)[1]
    covered = (last_on - first_on).days + 1
    return visits_per_month * covered // days_in_month


def last_day(pairing: Pairing) -> dt.date:
    """The pairing's last day: its end, an early end, or the referral's completion."""
    last = pairing.ends_on
    if pairing.ended_on is not None:
        last = min(last, pairing.ended_on)
    referral = pairing.referral
    if referral.status == S.COMPLETED and referral.completed_at is not None:
        last = min(last, clock.local_date(referral.completed_at))
    elif referral.status not in COUNTED_STATES:
        # Cancelled (a withdrawn consent, say): the pairing stopped with the referral.
        stopped = [e.at for e in referral.events if e.to_status == referral.status.value]
        if stopped:
            last = min(last, clock.local_date(max(stopped)))
    return max(last, pairing.starts_on)


def visit_days(db: Session, referral_ids: list[int]) -> dict[int, list[dt.date]]:
    """The days of the visits logged under each referral (episodes of :data:`VISIT_KINDS`)."""
    days: dict[int, list[dt.date]] = {rid: [] for rid in referral_ids}
    rows = db.execute(
        sa.select(ServiceEpisode.referral_id, ServiceEpisode.on).where(
            ServiceEpisode.referral_id.in_(referral_ids), ServiceEpisode.kind.in_(VISIT_KINDS)
        )
    )
    for referral_id, on in rows:
        days[referral_id].append(on)
    return days


def month_tallies(pairing: Pairing, visit_days: list[dt.date], today: dt.date) -> list[MonthTally]:
    """Each month the pairing has reached by ``today``, oldest first, with the visits the plan
    expects of it and the visits logged in it (``visit_days``, one per visit)."""
    last = last_day(pairing)
    tallies: list[MonthTally] = []
    month = month_start(pairing.starts_on)
    while month <= min(last, today):
        first_on = max(month, pairing.starts_on)
        last_on = min(month_end(month), last)
        tallies.append(
            MonthTally(
                month=month, first_on=first_on, last_on=last_on,
                planned=planned_visits(pairing.visits_per_month, first_on, last_on),
                visits=sum(1 for day in visit_days if first_on <= day <= last_on),
                is_over=last_on < today,
                is_judged=last_on + dt.timedelta(days=GRACE_DAYS) < today
                and month_end(month) < today,
            )
        )  # fmt: skip
        month = next_month(month)
    return tallies


# --- reading --------------------------------------------------------------------------------


def find_pairing(db: Session, referral_id: int) -> Pairing | None:
    """The referral's pairing, if it has one (not scoped: callers have checked the referral)."""
    return db.scalar(sa.select(Pairing).where(Pairing.referral_id == referral_id))


def can_set_up(actor: User, referral: Referral, pairing: Pairing | None) -> bool:
    """The charity answering the referral may set up its pairing while it serves it."""
    return pairing is None and referral.status in ENGAGED_STATES and provides(actor, referral)


def pairing_view(
    db: Session,
    actor: User,
    referral: Referral,
    pairing: Pairing | None,
    today: dt.date,
    visits: list[dt.date] | None = None,
) -> dict[str, Any] | None:
    """The pairing as the pages and the API show it, with each month's visits against the
    plan, newest first; None without a pairing. ``visits`` are the visit days when the
    caller has read them already (:func:`visit_days`)."""
    if pairing is None:
        return None
    member = pairing.member
    shows_names = not sees_as_provider(actor, referral)
    raised = {alert.month for alert in pairing.alerts}
    if visits is None:
        visits = visit_days(db, [referral.id])[referral.id]
    tallies = month_tallies(pairing, visits, today)
    last = last_day(pairing)
    return {
        "companion_name": pairing.companion_name,
        "companion_role": pairing.companion_role.value,
        "companion_role_label": pairing.companion_role.label,
        "member_id": pairing.member_id,
        # The charity knows the member by name while it serves the household (as it may
        # open the contact then); before and after, by relation and birth year only.
        "member_name": member.name
        if member is not None and (shows_names or referral.status in ENGAGED_STATES)
        else None,
        "member_relation_label": member.relation.label if member is not None else None,
        "member_birth_year": member.birth_year if member is not None else None,
        "member_removed": member is None,
        "starts_on": pairing.starts_on,
        "ends_on": pairing.ends_on,
        "visits_per_month": pairing.visits_per_month,
        "note": pairing.note,
        "created_at": pairing.created_at,
        "ended_on": pairing.ended_on,
        "end_reason": pairing.end_reason,
        "is_ended_early": pairing.is_ended_early,
        "is_active": referral.status in ENGAGED_STATES and pairing.starts_on <= today <= last,
        "months": [
            {
                "month": f"{t.month.year:04d}-{t.month.month:02d}",
                "first_on": t.first_on,
                "last_on": t.last_on,
                "planned": t.planned,
                "visits": t.visits,
                "is_current": not t.is_over,
                "is_short": t.is_short,
                "is_alerted": t.month in raised,
            }
            for t in reversed(tallies)
        ],  # fmt: skip
        "can_end": provides(actor, referral)
        and referral.status in ENGAGED_STATES
        and not pairing.is_ended_early
        and today <= pairing.ends_on,
    }


def get_pairing(db: Session, actor: User, referral_id: int, today: dt.date) -> dict[str, Any]:
    """The referral's pairing as :func:`pairing_view` shows it; the read is audited.

    :raise NotFound: the referral is outside the actor's scope, or has no pairing.
    """
    referral = load_referral(db, actor, referral_id)
    pairing = find_pairing(db, referral.id)
    if pairing is None:
        raise NotFound("该转介没有结对帮扶。")
    write_audit(
        db, actor, "referral.pairing_read", referral,
        region_code=referral.need.household.region_code,
        detail={"households": [referral.need.household_id]},
    )  # fmt: skip
    view = pairing_view(db, actor, referral, pairing, today)
    assert view is not None
    return view


# --- setting up and ending ------------------------------------------------------------------


def set_up_pairing(
    db: Session,
    actor: User,
    referral_id: int,
    data: PairingInput,
    *,
    today: dt.date,
    now: dt.datetime | None = None,
) -> Pairing:
    """Pair a person of the charity with a member of the household (the charity answering the
    referral, once it has accepted); the household's station is told.

    The pairing starts no earlier than the day the charity accepted, ends after it starts and
    no earlier than ``today``, and lasts at most about five years.

    :raise Forbidden: not the charity answering the referral.
    :raise NotFound: the referral is outside the actor's scope.
    :raise Conflict: not accepted or in service, or the referral already has a pairing.
    :raise ValidationFailed: by field (``companion_name``, ``companion_role``, ``member_id``,
        ``starts_on``, ``ends_on``, ``visits_per_month``, ``note``).
    """
    referral = referral_for_provider(db, actor, referral_id, None)
    if referral.status not in ENGAGED_STATES:
        raise Conflict(
            f"该转介当前为“{referral.status.label}”，接收转介后、完成帮扶前才能设立结对帮扶。"
        )
    if find_pairing(db, referral.id) is not None:
        raise Conflict("该转介已设立结对帮扶，每件转介只能设立一次。")
    errors = field_problems(PAIRING, data)
    household = referral.need.household
    member = next((m for m in household.members if m.id == data.member_id), None)
    if data.member_id is not None and member is None:
        errors.setdefault("member_id", ["请选择该户的家庭成员。"])
    accepted_on = clock.local_date(referral.answered_at) if referral.answered_at else None
    starts, ends = data.starts_on, data.ends_on
    if starts is not None and accepted_on is not None and starts < accepted_on:
        errors.setdefault(
            "starts_on", [f"开始日期不能早于接收转介的日期（{accepted_on.isoformat()}）。"]
        )
    if ends is not None:
        if starts is not None and ends <= starts:
            errors.setdefault("ends_on", ["结束日期应晚于开始日期。"])
        elif ends < today:
            errors.setdefault("ends_on", ["结束日期不能早于今天。"])
        elif starts is not None and (ends - starts).days > MAX_SPAN_DAYS:
            errors.setdefault("ends_on", ["结对期限最长 5 年。"])
    if errors:
        raise ValidationFailed(fields=errors)
    assert member is not None and starts is not None and ends is not None
    assert data.companion_role is not None and data.visits_per_month is not None
    pairing = Pairing(
        referral_id=referral.id, companion_name=(data.companion_name or "").strip(),
        companion_role=data.companion_role, member_id=member.id, starts_on=starts,
        ends_on=ends, visits_per_month=data.visits_per_month,
        note=(data.note or "").strip() or None, created_by_id=actor.id,
        created_at=now or utcnow(),
    )  # fmt: skip
    db.add(pairing)
    db.flush()
    write_audit(
        db, actor, "referral.pairing", referral, region_code=household.region_code,
        detail={"member_id": member.id, "companion_role": data.companion_role.value,
                "starts_on": starts.isoformat(), "ends_on": ends.isoformat(),
                "visits_per_month": data.visits_per_month},
    )  # fmt: skip
    tell(db, referral, to_station(db, referral), "pairing_set_up",
         f"已设立结对帮扶（{data.companion_role.label}，{starts.isoformat()} 至 "
         f"{ends.isoformat()}，每月探访 {data.visits_per_month} 次）。")  # fmt: skip
    return pairing


def end_pairing(
    db: Session,
    actor: User,
    referral_id: int,
    data: PairingEndInput,
    *,
    today: dt.date,
    now: dt.datetime | None = None,
) -> Pairing:
    """End a pairing before its end date (the charity answering the referral), saying on
    which day and why; months after that day expect no visits. The station is told.

    :raise Forbidden: not the charity answering the referral.
    :raise NotFound: the referral is outside the actor's scope, or has no pairing.
    :raise Conflict: already ended early, or the referral is no longer served.
    :raise ValidationFailed: by field (``ended_on``, ``reason``).
    """
    referral = referral_for_provider(db, actor, referral_id, None)
    pairing = find_pairing(db, referral.id)
    if pairing is None:
        raise NotFound("该转介没有结对帮扶。")
    if pairing.is_ended_early:
        raise Conflict("该结对帮扶已提前结束。")
    if referral.status not in ENGAGED_STATES:
        raise Conflict(f"该转介当前为“{referral.status.label}”，不能再结束结对帮扶。")
    if today > pairing.ends_on:
        raise Conflict("该结对帮扶已到期结束。")
    errors = field_problems(PAIRING_END, data)
    ended = data.ended_on
    if ended is not None:
        if ended > today:
            errors.setdefault("ended_on", ["结束日期不能晚于今天。"])
        elif ended < pairing.starts_on:
            errors.setdefault("ended_on", ["结束日期不能早于结对开始的日期。"])
    if errors:
        raise ValidationFailed(fields=errors)
    assert ended is not None
    reason = (data.reason or "").strip()
    pairing.ended_on = ended
    pairing.end_reason = reason
    pairing.ended_by_id = actor.id
    pairing.ended_at = now or utcnow()
    db.flush()
    write_audit(
        db, actor, "referral.pairing_ended", referral,
        region_code=referral.need.household.region_code,
        detail={"ended_on": ended.isoformat(), "reason": reason},
    )  # fmt: skip
    tell(db, referral, to_station(db, referral), "pairing_ended",
         f"结对帮扶已于 {ended.isoformat()} 提前结束：{reason}")  # fmt: skip
    return pairing


# --- the daily job ----------------------------------------------------------------------------


def raise_missed_visits(db: Session, today: dt.date, now: dt.datetime) -> int:
    """Raise each month a pairing saw fewer visits than planned, once, with the charity and
    the household's station; returns how many months were raised.

    Looks at pairings of referrals accepted, in service or completed, and at their months
    judged by ``today`` (over, and :data:`GRACE_DAYS` more) within the last
    :data:`LOOKBACK_MONTHS`. A month raised before (a row in ``pairing_alerts``) is not raised
    again, even by a run racing this one (the row's unique key decides).
    """
    earliest = months_before(today, LOOKBACK_MONTHS)
    pairings = db.scalars(
        sa.select(Pairing)
        .join(Referral, Referral.id == Pairing.referral_id)
        .where(
            Referral.status.in_(COUNTED_STATES),
            Referral.archived_at.is_(None),  # an archived case is only read
            Pairing.starts_on < today,
            Pairing.ends_on >= earliest,
            sa.or_(Pairing.ended_on.is_(None), Pairing.ended_on >= earliest),
        )
        .options(selectinload(Pairing.alerts), selectinload(Pairing.referral))
        .order_by(Pairing.id)
    ).all()
    visits = visit_days(db, [p.referral_id for p in pairings])
    raised = 0
    for pairing in pairings:
        done = {alert.month for alert in pairing.alerts}
        referral = pairing.referral
        for tally in month_tallies(pairing, visits[referral.id], today):
            if not (tally.is_judged and tally.is_short):
                continue
            if tally.month < earliest or tally.month in done:
                continue
            if not _record_alert(db, pairing, tally, now):
                continue
            raised += 1
            month = f"{tally.month.year}年{tally.month.month}月"
            tell(db, referral, to_charity(db, referral) + to_station(db, referral),
                 "pairing_missed_visit",
                 f"结对帮扶{month}探访 {tally.visits} 次，少于计划的 {tally.planned} 次，"
                 "请核实并补登或安排探访。")  # fmt: skip
    db.flush()
    return raised


def _record_alert(db: Session, pairing: Pairing, tally: MonthTally, now: dt.datetime) -> bool:
    """Keep that the month was raised; False when another run already kept it."""
    savepoint = db.begin_nested()
    try:
        db.add(
            PairingAlert(
                pairing_id=pairing.id, month=tally.month, planned_visits=tally.planned,
                logged_visits=tally.visits, raised_at=now,
            )
        )  # fmt: skip
        db.flush()
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True

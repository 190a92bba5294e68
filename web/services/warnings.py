"""Warning rules (预警规则) run on monitoring records, and the worklist of warnings a station
confirms (a need is created from the evidence) or dismisses with a reason.

How the rules read the records is in :mod:`web.services.warning_rules`; this module is what
people do with them: a county sets its rules, a station works through its warnings, offices
read the figures.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from models import (
    Household,
    Member,
    MonitoringRecord,
    MonitoringWarning,
    Need,
    Region,
    User,
    WarningRuleSetting,
    clock,
    utcnow,
)
from models.enums import (
    DismissReason,
    Domain,
    HouseholdStatus,
    Role,
    Urgency,
    WarningRule,
    WarningStatus,
)

from .audit import write_audit
from .contracts import NEED
from .county_settings import county_code_of, is_county_office
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .households import add_need, household_for_change
from .notifications import notify, office_users
from .scoping import require_role, scoped, visibility
from .warning_rules import Router, evaluate, notify_stations, record_findings, township_of
from .warning_settings import (
    AMOUNT_RULES,
    SHARE_RULES,
    RuleSetting,
    Settings,
    default_setting,
    setting_of,
    yuan_text,
)

__all__ = ["RuleSetting"]

#: What a county may set: thresholds up to 10,000,000 元, shares 1–100 %, 1–90 days.
MAX_THRESHOLD_FEN = 1_000_000_000
SHARE_PERCENT = range(1, 101)
DUE_DAYS = range(1, 91)


def rule_settings(db: Session, region_code: str) -> list[RuleSetting]:
    """The rules as they run in the county of ``region_code``, in ``WarningRule`` order."""
    rows = {
        row.rule: row
        for row in db.scalars(
            sa.select(WarningRuleSetting).where(
                WarningRuleSetting.region_code == county_code_of(region_code)
            )
        )
    }
    return [setting_of(rows[r]) if r in rows else default_setting(r) for r in WarningRule]


def _setting_errors(
    rule: WarningRule, threshold_fen: int | None, share: int | None, due_days: int
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if threshold_fen is not None and not 0 <= threshold_fen <= MAX_THRESHOLD_FEN:
        errors["threshold_fen"] = ["金额门槛须在 0 至 10,000,000 元之间。"]
    if share is not None and share not in SHARE_PERCENT:
        errors["income_share_percent"] = ["占家庭年收入的比例须在 1% 至 100% 之间。"]
    if due_days not in DUE_DAYS:
        errors["due_days"] = ["核实期限须在 1 至 90 天之间。"]
    if rule == WarningRule.DISASTER_LOSS and threshold_fen is None:
        errors.setdefault("threshold_fen", ["请填写受灾损失的金额门槛。"])
    if rule == WarningRule.MEDICAL_COST and threshold_fen is None and share is None:
        errors.setdefault("threshold_fen", ["请至少填写金额门槛或占家庭年收入的比例之一。"])
    return errors


def _county_of(db: Session, actor: User) -> str:
    if not is_county_office(db, actor):
        raise Forbidden("只有县（区）民政部门可以设置本县的预警规则。")
    return actor.region_code


def set_rule_setting(
    db: Session,
    actor: User,
    rule: WarningRule,
    *,
    enabled: bool,
    threshold_fen: int | None,
    income_share_percent: int | None,
    due_days: int,
) -> RuleSetting:
    """A county civil-affairs office sets one rule for its county (audited).

    Amounts apply to 大额医疗支出 and 受灾损失 only, the share of income to 大额医疗支出
    only; for other rules they are ignored.

    :raise Forbidden: not a county office.
    :raise ValidationFailed: a number out of range.
    """
    county = _county_of(db, actor)
    threshold = threshold_fen if rule in AMOUNT_RULES else None
    share = income_share_percent if rule in SHARE_RULES else None
    errors = _setting_errors(rule, threshold, share, due_days)
    if errors:
        raise ValidationFailed(fields=errors)
    row = db.scalar(
        sa.select(WarningRuleSetting).where(
            WarningRuleSetting.region_code == county, WarningRuleSetting.rule == rule
        )
    )
    if row is None:
        row = WarningRuleSetting(region_code=county, rule=rule)
        db.add(row)
    row.enabled = enabled
    row.threshold_fen = threshold
    row.income_share_percent = share
    row.due_days = due_days
    row.updated_by_id = actor.id
    db.flush()
    write_audit(
        db, actor, "warning_rule.set", row, region_code=county,
        detail={"rule": rule.value, "enabled": enabled, "threshold_fen": threshold,
                "income_share_percent": share, "due_days": due_days},
    )  # fmt: skip
    return setting_of(row)


def reset_rule_setting(db: Session, actor: User, rule: WarningRule) -> RuleSetting:
    """Back to the provincial default for the actor's county (audited).

    :raise Forbidden: not a county office.
    """
    county = _county_of(db, actor)
    db.execute(
        sa.delete(WarningRuleSetting).where(
            WarningRuleSetting.region_code == county, WarningRuleSetting.rule == rule
        )
    )
    db.flush()
    write_audit(db, actor, "warning_rule.reset", region_code=county, detail={"rule": rule.value})
    return default_setting(rule)


def raise_warnings(
    db: Session, today: dt.date, now: dt.datetime, hashes: Collection[str] | None = None
) -> int:
    """Run the rules for the people with these ID hashes (everyone with records, when None)
    and raise each warning not raised before; return how many were raised.

    Evidence already behind a warning of the same rule and person raises nothing again; an
    open warning absorbs new evidence instead of a second warning. A person in the ledger
    goes to the household's station; one not in it (未在册) to the station of the record's
    township for a home visit (入户核查) by ``due_on``. Each station hears once per run.
    """
    settings = Settings(db)
    wanted = None if hashes is None else sorted(set(hashes))
    findings, people = evaluate(db, today, settings, wanted)
    outcome = record_findings(db, findings, settings, people, Router(db), today, now)
    notify_stations(db, outcome.raised)
    db.flush()
    return len(outcome.raised)


def escalate_overdue(db: Session, today: dt.date, now: dt.datetime) -> int:
    """Raise open warnings past their day to the county office (once each, one notification
    per office per run); return how many."""
    overdue = list(
        db.scalars(
            sa.select(MonitoringWarning)
            .where(
                MonitoringWarning.status == WarningStatus.OPEN,
                MonitoringWarning.due_on < today,
                MonitoringWarning.escalated_at.is_(None),
            )
            .order_by(MonitoringWarning.id)
        )
    )
    per_office: dict[tuple[int, ...], int] = defaultdict(int)
    offices: dict[str, tuple[int, ...]] = {}
    for warning in overdue:
        warning.escalated_at = now
        county = county_code_of(warning.region_code)
        if county not in offices:
            offices[county] = tuple(sorted(office_users(db, county)))
        per_office[offices[county]] += 1
    for users, count in per_office.items():
        if users:
            notify(db, users, "warning_overdue", f"{count} 条预警已超过核实期限，请督促办理",
                   link="/warnings")  # fmt: skip
    db.flush()
    return len(overdue)


@dataclass(frozen=True)
class WarningFilter:
    status: WarningStatus | None = WarningStatus.OPEN
    rule: WarningRule | None = None
    #: True: only 未在册; False: only 在册; None: both.
    unlisted: bool | None = None
    overdue_only: bool = False


def list_warnings(
    db: Session, actor: User, filters: WarningFilter = WarningFilter(), today: dt.date | None = None
) -> list[MonitoringWarning]:
    """The warnings the actor's station or region holds, oldest deadline first (audited).

    :raise Forbidden: not station staff, civil-affairs staff or an administrator.
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    today = today or clock.today()
    stmt = scoped(sa.select(MonitoringWarning), actor)
    if filters.status is not None:
        stmt = stmt.where(MonitoringWarning.status == filters.status)
    if filters.rule is not None:
        stmt = stmt.where(MonitoringWarning.rule == filters.rule)
    if filters.unlisted is True:
        stmt = stmt.where(MonitoringWarning.household_id.is_(None))
    elif filters.unlisted is False:
        stmt = stmt.where(MonitoringWarning.household_id.is_not(None))
    if filters.overdue_only:
        stmt = stmt.where(
            MonitoringWarning.status == WarningStatus.OPEN, MonitoringWarning.due_on < today
        )
    found = list(
        db.scalars(
            stmt.options(
                selectinload(MonitoringWarning.household),
                selectinload(MonitoringWarning.member),
                selectinload(MonitoringWarning.record),
                selectinload(MonitoringWarning.station),
            ).order_by(MonitoringWarning.due_on, MonitoringWarning.id)
        )
    )
    write_audit(
        db, actor, "warning.list", region_code=actor.region_code,
        detail={"warnings": [w.id for w in found],
                "households": sorted({w.household_id for w in found if w.household_id})},
    )  # fmt: skip
    return found


def _warning_in_scope(db: Session, actor: User, warning_id: int) -> MonitoringWarning:
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    warning = db.scalar(
        scoped(sa.select(MonitoringWarning), actor)
        .where(MonitoringWarning.id == warning_id)
        .options(
            selectinload(MonitoringWarning.household),
            selectinload(MonitoringWarning.member),
            selectinload(MonitoringWarning.record),
        )
    )
    if warning is None:
        raise NotFound("预警不存在或您无权查看。")
    return warning


def get_warning(db: Session, actor: User, warning_id: int) -> MonitoringWarning:
    """One warning with its evidence, in scope (audited).

    :raise NotFound: no such warning, or not the actor's.
    """
    warning = _warning_in_scope(db, actor, warning_id)
    write_audit(
        db, actor, "warning.read", warning,
        detail={"households": [warning.household_id] if warning.household_id else [],
                "records": list(warning.evidence or [])},
    )  # fmt: skip
    return warning


def evidence_of(db: Session, warning: MonitoringWarning) -> list[Any]:
    """The warning's evidence records, oldest first."""
    ids = list(warning.evidence or [])
    if not ids:
        return []
    return list(
        db.scalars(
            sa.select(MonitoringRecord)
            .where(MonitoringRecord.id.in_(ids))
            .order_by(MonitoringRecord.occurred_on, MonitoringRecord.id)
        )
    )


#: The need a confirmed warning becomes, by rule.
RULE_DOMAINS: dict[WarningRule, Domain] = {
    WarningRule.MEDICAL_COST: Domain.MEDICAL,
    WarningRule.SEVERE_DISABILITY: Domain.DISABILITY,
    WarningRule.AID_STOPPED: Domain.LIVING,
    WarningRule.SCHOOL_DROPOUT: Domain.EDUCATION,
    WarningRule.HEAD_UNEMPLOYED: Domain.EMPLOYMENT,
    WarningRule.DISASTER_LOSS: Domain.HOUSING,
}
URGENT_RULES = (WarningRule.MEDICAL_COST, WarningRule.DISASTER_LOSS)
#: Evidence records a drafted need lists (the latest), within the need text's length.
DRAFT_RECORDS = 20
NEED_TEXT_LENGTH = NEED["text"].max_length or 2000


def need_draft(db: Session, warning: MonitoringWarning) -> dict[str, Any]:
    """What confirming pre-fills: ``domain``, ``text``, ``amount_gap_yuan``, ``urgency`` and
    ``member_id`` (the form's field names)."""
    records = evidence_of(db, warning)
    lines = [f"监测预警（{warning.rule.label}）：{warning.explanation}。"]
    if records:
        shown = records[-DRAFT_RECORDS:]
        more = (
            f"（共 {len(records)} 条，列出最近 {len(shown)} 条）"
            if len(shown) < len(records)
            else ""
        )
        lines.append(f"依据部门数据{more}：")
        for record in shown:
            amount = f"，{yuan_text(record.amount_fen)}" if record.amount_fen else ""
            lines.append(f"{record.occurred_on} {record.source.label}·{record.event.label}{amount}")
    amount_yuan = (
        (Decimal(warning.amount_fen) / 100).quantize(Decimal("0.01"))
        if warning.amount_fen is not None
        else None
    )
    return {
        "domain": RULE_DOMAINS[warning.rule].value,
        "text": "\n".join(lines)[:NEED_TEXT_LENGTH],
        "amount_gap_yuan": amount_yuan,
        "urgency": (Urgency.URGENT if warning.rule in URGENT_RULES else Urgency.NORMAL).value,
        "member_id": warning.member_id,
    }


def _fen(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int((Decimal(str(value)) * 100).to_integral_value())
    except InvalidOperation:
        raise ValidationFailed(fields={"amount_gap_yuan": ["请填写金额（元）。"]}) from None


def _open(warning: MonitoringWarning) -> None:
    if warning.status != WarningStatus.OPEN:
        raise Conflict(f"该预警已{warning.status.label}，不能再处理。")


def confirm_warning(
    db: Session, actor: User, warning_id: int, need: Mapping[str, Any] | None = None
) -> Need:
    """Confirm a warning: create the need (the draft, changed by ``need``) and link it.

    A person not in the ledger must have been registered first (入户核查 then 登记): the
    member is found by the ID hash among the households the actor may change. The need goes
    through :func:`web.services.households.add_need`, its checks and its audit.

    :raise NotFound: no such warning, or not the actor's.
    :raise Conflict: already decided, or the person is not yet in the ledger.
    :raise ValidationFailed: the need as changed breaks the need's rules.
    """
    warning = _warning_in_scope(db, actor, warning_id)
    _open(warning)
    draft = need_draft(db, warning)
    draft.update({k: v for k, v in (need or {}).items() if k in draft or k in _EXTRA})
    if warning.household_id is not None:
        household = household_for_change(db, actor, warning.household_id)
    else:
        member = db.scalar(
            scoped(sa.select(Member), actor)
            .join(Household, Household.id == Member.household_id)
            .where(
                Member.id_number_hash == warning.id_number_hash,
                Household.status == HouseholdStatus.ACTIVE,
            )
            .order_by(Member.id)
        )
        if member is None:
            raise Conflict("该人员尚未登记在册，请入户核查后先登记家庭。")
        household = household_for_change(db, actor, member.household_id)
        warning.household_id, warning.member_id = household.id, member.id
        if draft.get("member_id") is None:
            draft["member_id"] = member.id
    amount = draft.get("amount_gap_yuan", draft.get("amount_gap"))
    created = add_need(
        db, actor, household,
        domain=Domain(draft["domain"]),
        text=str(draft["text"] or ""),
        member_id=draft.get("member_id"),
        amount_gap_fen=_fen(amount),
        urgency=Urgency(draft["urgency"]),
        public_summary=draft.get("public_summary"),
    )  # fmt: skip
    warning.status = WarningStatus.CONFIRMED
    warning.need_id = created.id
    warning.decided_by_id = actor.id
    warning.decided_at = utcnow()
    db.flush()
    write_audit(db, actor, "warning.confirm", warning, detail={"need_id": created.id,
                "households": [household.id]})  # fmt: skip
    return created


#: Keys a caller may add to the draft when confirming.
_EXTRA = ("public_summary", "amount_gap")


def dismiss_warning(
    db: Session, actor: User, warning_id: int, reason: DismissReason, note: str | None = None
) -> MonitoringWarning:
    """Dismiss a warning with a reason (a note is required for 其他); audited.

    :raise NotFound: no such warning, or not the actor's.
    :raise ValidationFailed: no reason, or 其他 without a note.
    :raise Conflict: already decided.
    """
    warning = _warning_in_scope(db, actor, warning_id)
    _open(warning)
    if not reason:
        raise ValidationFailed(fields={"reason": ["请选择排除原因。"]})
    reason = DismissReason(reason)
    note = (note or "").strip() or None
    if reason == DismissReason.OTHER and note is None:
        raise ValidationFailed(fields={"note": ["选择“其他”时请说明原因。"]})
    warning.status = WarningStatus.DISMISSED
    warning.dismiss_reason = reason
    warning.dismiss_note = note
    warning.decided_by_id = actor.id
    warning.decided_at = utcnow()
    db.flush()
    write_audit(db, actor, "warning.dismiss", warning, detail={"reason": reason.value})
    return warning


@dataclass
class WarningFigures:
    """Warnings raised, confirmed, dismissed and overdue, by region and by rule, and the days
    from the earliest evidence record to confirmation."""

    by_region: list[dict[str, Any]] = field(default_factory=list)
    by_rule: list[dict[str, Any]] = field(default_factory=list)
    median_days_to_confirm: float | None = None


def warning_figures(
    db: Session, actor: User, start_on: dt.date, end_on: dt.date, today: dt.date
) -> WarningFigures:
    """Figures over warnings raised between the two days (Guangdong days, both included), in
    scope: per township and per rule, raised, confirmed, dismissed, overdue (open past its
    day on ``today``) and the median days from the earliest evidence to confirmation.

    :raise Forbidden: not station staff, civil-affairs staff or an administrator.
    """
    require_role(actor, Role.STATION_STAFF, Role.CIVIL_AFFAIRS)
    rows = db.execute(
        sa.select(
            MonitoringWarning.region_code, MonitoringWarning.rule, MonitoringWarning.status,
            MonitoringWarning.due_on, MonitoringWarning.since_on, MonitoringWarning.decided_at,
        ).where(
            visibility(MonitoringWarning, actor),
            MonitoringWarning.raised_at >= clock.start_of(start_on),
            MonitoringWarning.raised_at < clock.start_of(end_on + dt.timedelta(days=1)),
        )
    ).all()  # fmt: skip
    regions: dict[str, _Tally] = defaultdict(_Tally)
    rules: dict[WarningRule, _Tally] = defaultdict(_Tally)
    every = _Tally()
    for region_code, rule, status, due_on, since_on, decided_at in rows:
        days = None
        if status == WarningStatus.CONFIRMED and decided_at is not None:
            days = (clock.local_date(_aware(decided_at)) - since_on).days
        overdue = status == WarningStatus.OPEN and due_on < today
        for tally in (regions[township_of(region_code)], rules[rule], every):
            tally.add(status, overdue, days)
    named = db.execute(sa.select(Region.code, Region.name).where(Region.code.in_(list(regions))))
    names = {code: name for code, name in named}
    return WarningFigures(
        by_region=[
            {"region_code": code, "region_name": names.get(code, ""), **regions[code].row()}
            for code in sorted(regions)
        ],
        by_rule=[
            {"rule": rule.value, "label": rule.label, **rules[rule].row()}
            for rule in WarningRule
            if rule in rules
        ],
        median_days_to_confirm=every.median(),
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass
class _Tally:
    raised: int = 0
    confirmed: int = 0
    dismissed: int = 0
    overdue: int = 0
    days: list[int] = field(default_factory=list)

    def add(self, status: WarningStatus, overdue: bool, days: int | None) -> None:
        self.raised += 1
        self.confirmed += status == WarningStatus.CONFIRMED
        self.dismissed += status == WarningStatus.DISMISSED
        self.overdue += overdue
        if days is not None:
            self.days.append(days)

    def median(self) -> float | None:
        return float(statistics.median(self.days)) if self.days else None

    def row(self) -> dict[str, Any]:
        return {
            "raised": self.raised,
            "confirmed": self.confirmed,
            "dismissed": self.dismissed,
            "overdue": self.overdue,
            "median_days_to_confirm": self.median(),
        }

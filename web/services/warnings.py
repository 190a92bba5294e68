"""Warning rules (预警规则) run on monitoring records, and the worklist of warnings a station
confirms (a need is created from the evidence) or dismisses with a reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from models import MonitoringWarning, Need, User
from models.enums import DismissReason, WarningRule, WarningStatus


@dataclass(frozen=True)
class RuleSetting:
    """A rule as it runs in one county: its numbers and whether it runs."""

    rule: WarningRule
    enabled: bool
    threshold_fen: int | None
    income_share_percent: int | None
    due_days: int
    #: True when the county has not set it: the provincial default.
    is_default: bool
    #: What the rule does with these numbers, in Chinese.
    explanation: str


def rule_settings(db: Session, region_code: str) -> list[RuleSetting]:
    """The rules as they run in the county of ``region_code``, in ``WarningRule`` order."""
    raise NotImplementedError


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
    """A county civil-affairs office sets one rule for its county.

    :raise Forbidden: not a county office.
    :raise ValidationFailed: a number out of range.
    """
    raise NotImplementedError


def reset_rule_setting(db: Session, actor: User, rule: WarningRule) -> RuleSetting:
    """Back to the provincial default for the actor's county."""
    raise NotImplementedError


def raise_warnings(
    db: Session, today: dt.date, now: dt.datetime, hashes: Collection[str] | None = None
) -> int:
    """Run the rules for the people with these ID hashes (everyone with records, when None)
    and raise each warning not raised before; return how many were raised."""
    raise NotImplementedError


def escalate_overdue(db: Session, today: dt.date, now: dt.datetime) -> int:
    """Raise open warnings past their day to the county office (once each); return how many."""
    raise NotImplementedError


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
    """The warnings the actor's station or region holds, oldest deadline first (audited)."""
    raise NotImplementedError


def get_warning(db: Session, actor: User, warning_id: int) -> MonitoringWarning:
    """One warning with its evidence, in scope (audited).

    :raise NotFound: no such warning, or not the actor's.
    """
    raise NotImplementedError


def evidence_of(db: Session, warning: MonitoringWarning) -> list[Any]:
    """The warning's evidence records, oldest first."""
    raise NotImplementedError


def need_draft(db: Session, warning: MonitoringWarning) -> dict[str, Any]:
    """What confirming pre-fills: ``domain``, ``text``, ``amount_gap_yuan``, ``urgency`` and
    ``member_id`` (the form's field names)."""
    raise NotImplementedError


def confirm_warning(
    db: Session, actor: User, warning_id: int, need: Mapping[str, Any] | None = None
) -> Need:
    """Confirm a warning: create the need (the draft, changed by ``need``) and link it.

    A person not in the ledger must have been registered first (入户核查 then 登记): the
    member is found by the ID hash.

    :raise Conflict: already decided, or the person is not yet in the ledger.
    """
    raise NotImplementedError


def dismiss_warning(
    db: Session, actor: User, warning_id: int, reason: DismissReason, note: str | None = None
) -> MonitoringWarning:
    """Dismiss a warning with a reason (a note is required for 其他).

    :raise Conflict: already decided.
    """
    raise NotImplementedError


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
    """Figures over warnings raised between the two days (both included), in scope."""
    raise NotImplementedError
